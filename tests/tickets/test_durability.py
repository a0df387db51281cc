"""Durability: SIGKILL loses no committed ticket; concurrent writers lose no update."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from infra.db import make_engine
from tickets import repository as repo
from tickets.exceptions import IllegalTransition
from tickets.services import TicketService
from tickets.state import Dispatch, Sign

from .conftest import FakeClock, make_service

ROOT = Path(__file__).resolve().parents[2]


def _run_and_kill(url: str, after_lines: int, worker: str = "durability_worker.py") -> list[str]:
    """Run a worker script of this folder on `url`, read `after_lines` lines, then kill -9 it."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name(worker)), url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
        text=True,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        while len(lines) < after_lines:
            line = proc.stdout.readline()
            if not line:
                pytest.fail(f"worker exited early: {proc.stderr.read() if proc.stderr else ''}")
            lines.append(line.split())
    finally:
        # kill -9 while the worker is in the middle of its next write.
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    return lines


@pytest.mark.parametrize("kill_after", [1, 7, 40])
async def test_kill_9_loses_no_committed_ticket(db_url: str, kill_after: int, service: TicketService) -> None:
    lines = await asyncio.to_thread(_run_and_kill, db_url, kill_after)
    committed = {int(x[1]): x[2] for x in lines if x[0] == "COMMITTED"}
    dispatched = {int(x[1]) for x in lines if x[0] == "DISPATCHED"}
    assert committed
    # `service` has its own engine: it reopens the file the killed process was writing.
    async with service.sessionmaker() as session:
        for ticket_id, number in committed.items():
            row = await repo.get(session, ticket_id)
            assert row.number == number
        for ticket_id in dispatched:
            assert (await repo.get(session, ticket_id)).status == "dispatched"
    # The database is usable after the crash: new numbers continue the sequence.
    ref = await service.open_from_call(caller="", line_number="12345", department="", call_id="", route="")
    assert ref.number not in committed.values()


async def test_concurrent_creations_get_unique_contiguous_numbers(service: TicketService) -> None:
    refs = await asyncio.gather(
        *(
            service.open_from_call(
                caller=f"1390000{i:04d}", line_number="12345", department="", call_id=f"c{i}", route=""
            )
            for i in range(40)
        )
    )
    numbers = sorted(r.number for r in refs)
    assert numbers == [f"20261123-{i:06d}" for i in range(1, 41)]


async def test_concurrent_updates_from_two_engines_lose_no_write(
    engine, db_url: str, clock: FakeClock
) -> None:
    # Two services on two engines behave like two engine processes sharing the database.
    other_engine = make_engine(db_url)
    try:
        a, b = make_service(engine, clock), make_service(other_engine, clock)
        ref = await a.open_from_call(
            caller="13900000000", line_number="12345", department="", call_id="x", route=""
        )
        await asyncio.gather(
            *(svc.comment(ref.id, note=f"note {i}", actor=f"agent{i}") for i, svc in enumerate([a, b] * 25))
        )
        view = await a.get(ref.id)
        notes = sorted(e.note for e in view.history if e.action == "comment")
        assert notes == sorted(f"note {i}" for i in range(50))
        assert view.version == 50
    finally:
        await other_engine.dispose()


async def test_racing_transitions_apply_exactly_once(service: TicketService) -> None:
    ref = await service.open_from_call(
        caller="13900000001", line_number="12345", department="", call_id="y", route=""
    )
    await service.act(ref.id, Dispatch(department="住建局"), actor="agent")
    results = await asyncio.gather(
        *(service.act(ref.id, Sign(), actor=f"dept{i}") for i in range(10)), return_exceptions=True
    )
    ok = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, IllegalTransition)]
    assert (len(ok), len(refused)) == (1, 9)
    view = await service.get(ref.id)
    assert [e.action for e in view.history].count("sign") == 1
