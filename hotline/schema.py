"""The database schema: one Alembic environment (hotline/migrations/env.py), owned by the root.

Each package owns its tables and their revisions in its own version location
(tickets/, agent_queue/, accounts/ migrations/versions); the revisions form one chain
(0001_tickets <- 0002_queue_stats <- 0003_ticket_co_departments <- 0004_accounts), so a database
has one head. Run programmatically on SQLite and PostgreSQL, no alembic.ini needed.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from alembic import command
from alembic.config import Config

import accounts
import agent_queue
import tickets

ENVIRONMENT = Path(__file__).resolve().parent / "migrations"
VERSION_LOCATIONS = tuple(
    Path(package.__file__).resolve().parent / "migrations" / "versions" for package in (tickets, agent_queue, accounts)
)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ENVIRONMENT))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(str(p) for p in VERSION_LOCATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def upgrade_sync(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


async def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at `url` to `revision`. env.py runs its own event loop, so use a thread."""
    await asyncio.to_thread(upgrade_sync, url, revision)
