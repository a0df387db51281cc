"""The one Alembic environment, for every package's tables (they share `infra.db.Base`).

Run through `hotline.schema.upgrade(url)` (or `hotline tickets upgrade`); the URL comes from
the Alembic config's `sqlalchemy.url`, set by the caller, never from a file here. Revisions
live in each package's version location (see hotline/schema.py).
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

import accounts.models  # noqa: E402,F401  (users, web sessions: revision 0004_accounts)
import agent_queue.models  # noqa: F401  (registers the tables)
import tickets.models  # noqa: F401
from infra.db import Base, make_engine

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTER needs batch mode
    )
    with context.begin_transaction():
        context.run_migrations()


async def _online() -> None:
    engine = make_engine(context.config.get_main_option("sqlalchemy.url"))
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_run)
            await conn.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=context.config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_online())
