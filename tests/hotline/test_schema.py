"""One Alembic environment (hotline/migrations), version locations per package: existing
databases upgrade, new ones get every package's tables."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from hotline.schema import ENVIRONMENT, VERSION_LOCATIONS, alembic_config, upgrade
from infra.db import Base, make_engine

ROOT = Path(__file__).resolve().parents[2]


def _version(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT version_num FROM alembic_version")]


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


async def _schema_diff(url: str) -> list:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata))
    finally:
        await engine.dispose()


HEAD = "0004_accounts"  # the newest revision of the one chain


def test_each_package_owns_its_revisions() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite+aiosqlite://"))
    where = {rev.revision: Path(rev.path).parent for rev in script.walk_revisions()}
    assert where == {"0001_tickets": ROOT / "tickets/migrations/versions",
                     "0002_queue_stats": ROOT / "agent_queue/migrations/versions",
                     "0003_ticket_co_departments": ROOT / "tickets/migrations/versions",
                     "0004_accounts": ROOT / "accounts/migrations/versions"}
    assert set(VERSION_LOCATIONS) == set(where.values())
    assert script.get_heads() == [HEAD]


async def test_an_empty_database_gets_every_packages_tables(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    await upgrade(f"sqlite+aiosqlite:///{db}")
    assert _version(db) == [HEAD]
    assert {"tickets", "queue_call_outcomes", "users"} <= _tables(db)
    assert await _schema_diff(f"sqlite+aiosqlite:///{db}") == []


async def test_a_database_at_the_first_revision_gains_the_queue_tables_and_keeps_its_rows(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{db}"
    await upgrade(url, "0001_tickets")
    assert "queue_call_outcomes" not in _tables(db)
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE keep_me (x INTEGER)")  # stands for rows written before the upgrade
        conn.execute("INSERT INTO keep_me VALUES (42)")
    await upgrade(url)
    assert _version(db) == [HEAD]
    assert "queue_call_outcomes" in _tables(db)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT x FROM keep_me").fetchall() == [(42,)]


async def test_a_database_made_by_the_old_single_folder_layout_upgrades_as_a_no_op(tmp_path: Path) -> None:
    # The old layout: one script folder (tickets/migrations) with both revisions in versions/.
    old = tmp_path / "old-layout"
    shutil.copytree(ENVIRONMENT, old, ignore=shutil.ignore_patterns("__pycache__"))
    (old / "versions").mkdir()
    for location in VERSION_LOCATIONS:
        for revision in location.glob("*.py"):
            shutil.copy(revision, old / "versions" / revision.name)
    db = tmp_path / "deployed.db"
    url = f"sqlite+aiosqlite:///{db}"
    cfg = Config()
    cfg.set_main_option("script_location", str(old))
    cfg.set_main_option("sqlalchemy.url", url)
    await asyncio.to_thread(command.upgrade, cfg, "head")  # env.py runs its own event loop
    assert _version(db) == [HEAD]
    await upgrade(url)
    assert _version(db) == [HEAD]
    assert await _schema_diff(url) == []
