"""Schema migrations run programmatically (SQLite and PostgreSQL), no alembic.ini needed."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Packages that own their migrations keep them in their own folder; one revision chain across them.
VERSION_LOCATIONS = (MIGRATIONS / "versions", Path(__file__).resolve().parent.parent / "knowledge" / "migrations" / "versions")


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(str(p) for p in VERSION_LOCATIONS))
    return cfg


def _upgrade_sync(url: str, revision: str) -> None:
    command.upgrade(alembic_config(url), revision)


async def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at `url` to `revision`. env.py runs its own event loop, so use a thread."""
    await asyncio.to_thread(_upgrade_sync, url, revision)


def upgrade_sync(url: str, revision: str = "head") -> None:
    _upgrade_sync(url, revision)
