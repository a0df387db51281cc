"""One leader among engine processes, through a PostgreSQL session advisory lock.

The leader holds `pg_try_advisory_lock(key)` on a connection of its own and checks that
connection every `check_s`; the lock dies with the session, so when the leader's process is
killed (even kill -9) PostgreSQL releases it as soon as it sees the socket close, and the next
contender's try (every `check_s`) takes it. On SQLite (one machine, one engine) the only process
is the leader.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from infra.logs import log_event

log = logging.getLogger(__name__)


class AdvisoryLeader:
    def __init__(self, engine: AsyncEngine, *, key: int, check_s: float = 1.0, name: str = "leader") -> None:
        self.engine, self.key, self.check_s, self.name = engine, key, check_s, name
        self.is_leader = False
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    async def start(self) -> None:
        if self.engine.dialect.name != "postgresql":
            self.is_leader = True
            return
        self._task = asyncio.create_task(self._run(), name=f"{self.name}-election")

    async def wait_leading(self, timeout: float) -> bool:
        """True once this process leads (within `timeout` seconds)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while not self.is_leader:
                    self._changed.clear()
                    await self._changed.wait()
        return self.is_leader

    def _set(self, leading: bool) -> None:
        if leading != self.is_leader:
            self.is_leader = leading
            log_event(log, "leadership " + ("taken" if leading else "lost"), role=self.name, key=self.key)
        self._changed.set()

    async def _run(self) -> None:
        while True:
            try:
                async with self.engine.connect() as conn:
                    try:
                        await self._hold(conn)
                    finally:
                        # The lock belongs to the session: close it, never hand it back to the pool.
                        with contextlib.suppress(Exception):
                            await conn.invalidate()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - database gone: not leader, try again
                log_event(log, "leadership check failed", logging.WARNING, role=self.name, error=type(exc).__name__)
            self._set(False)
            await asyncio.sleep(self.check_s)

    async def _hold(self, conn: AsyncConnection) -> None:
        while True:
            if not self.is_leader:
                got = (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key})).scalar_one()
                await conn.commit()
                self._set(bool(got))
            else:
                await conn.execute(text("SELECT 1"))  # the lock lives as long as this session
                await conn.commit()
            await asyncio.sleep(self.check_s)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._set(False)
