"""Group commit (tickets.group_commit): batched creates are all committed, errored one by one,
idempotent per call, and durable through kill -9 of the engine and a PostgreSQL crash restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from hotline.schema import upgrade
from infra.db import make_engine, make_sessionmaker
from tickets import repository as repo
from tickets.devpg import DevPostgres
from tickets.exceptions import InvalidInput
from tickets.group_commit import GroupCommitter
from tickets.models import Ticket, TicketEvent
from tickets.services import TicketService

from .conftest import FakeClock, make_service
from .test_durability import _run_and_kill


@pytest.fixture
async def pg_committer(pg_server: DevPostgres, clock: FakeClock) -> AsyncIterator[tuple[str, GroupCommitter]]:
    url = pg_server.create_db()
    await upgrade(url)
    eng = make_engine(url)
    committer = GroupCommitter(make_service(eng, clock))
    yield url, committer
    await committer.close()
    await eng.dispose()


def _call(committer: GroupCommitter, call_id: str, caller: str = "13900000000", **kw: str):  # noqa: ANN202
    return committer.open_from_call(
        caller=caller, line_number="12345", department="", call_id=call_id, route="menu", **kw
    )


async def _count(url: str, model: type = Ticket) -> int:
    # A separate engine: what another process would read after our COMMIT.
    eng = make_engine(url)
    try:
        async with make_sessionmaker(eng)() as session:
            return int((await session.execute(select(func.count()).select_from(model))).scalar_one())
    finally:
        await eng.dispose()


async def test_concurrent_creates_share_commits_and_all_land(service: TicketService, db_url: str) -> None:
    committer = GroupCommitter(service)
    try:
        refs = await asyncio.gather(
            *(_call(committer, f"u{i}", caller=f"1390000{i:04d}") for i in range(200))
        )
    finally:
        await committer.close()
    assert sorted(r.number for r in refs) == [f"20261123-{i:06d}" for i in range(1, 201)]
    assert len({r.id for r in refs}) == 200
    assert committer.batches < 50  # shared transactions, not one per create
    assert await _count(db_url) == 200
    assert await _count(db_url, TicketEvent) == 200  # each has its create audit line
    view = await service.get(refs[7].id)
    assert (view.call_id, view.caller, view.status, view.route) == ("u7", "+8613900000007", "accepted", "menu")
    assert [(e.action, e.actor, e.to_status) for e in view.history] == [("create", "ivr", "accepted")]


async def test_one_call_one_ticket_within_a_batch_across_batches_and_engines(
    service: TicketService, engine, db_url: str, clock: FakeClock
) -> None:
    other_engine = make_engine(db_url)
    a, b = GroupCommitter(service), GroupCommitter(make_service(other_engine, clock))
    try:
        # AGI retries of one call arriving together, and two engines racing on the same calls.
        first = await asyncio.gather(*(_call(c, f"dup{i % 10}") for i in range(60) for c in (a, b)))
        again = await asyncio.gather(*(_call(a, f"dup{i}") for i in range(10)))
    finally:
        await a.close()
        await b.close()
        await other_engine.dispose()
    by_call = {}
    for i, ref in enumerate(first):
        by_call.setdefault(f"dup{(i // 2) % 10}", set()).add(ref.id)
    assert all(len(ids) == 1 for ids in by_call.values()), by_call
    assert [r.id for r in again] == [next(iter(by_call[f"dup{i}"])) for i in range(10)]
    assert await _count(db_url) == 10


async def test_bad_request_fails_alone(service: TicketService, db_url: str) -> None:
    committer = GroupCommitter(service)
    try:
        results = await asyncio.gather(
            *(_call(committer, f"ok{i}") for i in range(5)),
            _call(committer, "bad", channel="pigeon"),
            *(_call(committer, f"ok{i}") for i in range(5, 10)),
            return_exceptions=True,
        )
    finally:
        await committer.close()
    assert isinstance(results[5], InvalidInput) and results[5].field == "channel"
    assert all(not isinstance(r, BaseException) for i, r in enumerate(results) if i != 5)
    assert await _count(db_url) == 10


@pytest.mark.postgres
async def test_database_refusal_of_one_row_fails_only_that_caller(
    pg_committer: tuple[str, GroupCommitter],
) -> None:
    url, committer = pg_committer
    try:
        results = await asyncio.gather(
            *(_call(committer, f"ok{i}") for i in range(20)),
            _call(committer, "c" * 80),  # tickets.call_id is VARCHAR(64)
            return_exceptions=True,
        )
    finally:
        await committer.close()
    assert isinstance(results[-1], Exception) and "value too long" in str(results[-1])
    assert all(not isinstance(r, BaseException) for r in results[:-1])
    assert await _count(url) == 20


async def test_kill_9_loses_no_group_committed_ticket(db_url: str, service: TicketService) -> None:
    lines = await asyncio.to_thread(_run_and_kill, db_url, 300, "group_commit_worker.py")
    committed = {int(x[1]): (x[2], x[3]) for x in lines if x[0] == "COMMITTED"}
    assert len(committed) == 300
    async with service.sessionmaker() as session:
        for ticket_id, (number, call_id) in committed.items():
            row = await repo.get(session, ticket_id)
            assert (row.number, row.call_id) == (number, call_id)
    # The sequence continues after the crash and a reconnecting committer reuses no number.
    committer = GroupCommitter(service)
    try:
        ref = await _call(committer, "after-crash")
    finally:
        await committer.close()
    assert ref.number not in {n for n, _ in committed.values()}


@pytest.mark.postgres
async def test_postgres_crash_restart_keeps_committed_and_committer_recovers(
    pg_server: DevPostgres, pg_committer: tuple[str, GroupCommitter]
) -> None:
    url, committer = pg_committer
    try:
        before = await asyncio.gather(*(_call(committer, f"pre{i}") for i in range(100)))
        await asyncio.to_thread(pg_server.restart, "immediate")
        # The pool's connections died with the server: the batch fails, each is retried alone.
        after = await asyncio.gather(*(_call(committer, f"post{i}") for i in range(20)))
        again = await asyncio.gather(*(_call(committer, f"pre{i}") for i in range(100)))
    finally:
        await committer.close()
    assert [r.id for r in again] == [r.id for r in before]
    assert len({r.id for r in after}) == 20
    assert await _count(url) == 120
