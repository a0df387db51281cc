"""infra.leader on a real PostgreSQL: one leader at a time; kill -9 of the leader's process hands
the lead to the other contender within 5 s; a stopped leader releases at once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.db import make_engine
from infra.leader import AdvisoryLeader
from tickets.devpg import DevPostgres, pg_bindir

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pg() -> Iterator[DevPostgres]:
    bindir = pg_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found; install Debian's postgresql")
    server = DevPostgres(bindir).start()
    yield server
    server.stop()


@pytest.mark.postgres
async def test_kill_9_of_the_leader_hands_over_within_5_s(pg: DevPostgres) -> None:
    url = pg.create_db()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(Path(__file__).with_name("leader_worker.py")), url,
        stdout=asyncio.subprocess.PIPE, env=dict(os.environ, PYTHONPATH=str(ROOT)), cwd=ROOT,
    )  # fmt: skip
    engine = make_engine(url)
    here = AdvisoryLeader(engine, key=1717, check_s=0.5)
    try:
        assert proc.stdout is not None
        assert (await asyncio.wait_for(proc.stdout.readline(), 30)).strip() == b"LEADER"
        await here.start()
        assert not await here.wait_leading(2.0)  # the other process leads: not both
        proc.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        await proc.wait()
        assert await here.wait_leading(10.0)
        assert time.monotonic() - killed < 5.0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await here.stop()
        await engine.dispose()


@pytest.mark.postgres
async def test_two_in_process_contenders_then_stop_releases(pg: DevPostgres) -> None:
    url = pg.create_db()
    engines = [make_engine(url), make_engine(url)]
    a, b = (AdvisoryLeader(e, key=42, check_s=0.2) for e in engines)
    try:
        await a.start()
        assert await a.wait_leading(5)
        await b.start()
        assert not await b.wait_leading(1.0)
        await a.stop()
        assert await b.wait_leading(3.0)
        assert not a.is_leader
    finally:
        await a.stop()
        await b.stop()
        for e in engines:
            await e.dispose()


async def test_sqlite_single_engine_always_leads(tmp_path) -> None:  # noqa: ANN001
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'l.db'}")
    leader = AdvisoryLeader(engine, key=1)
    await leader.start()
    assert leader.is_leader and await leader.wait_leading(0.1)
    await engine.dispose()
