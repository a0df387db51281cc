"""hotline.reconcile on a real database: calls in queue_log the engine never saw get counted
and (answered ones) ticketed once; what the engine already recorded is left alone."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from agent_queue.models import QueueCallOutcomeRow
from agent_queue.services import SlaStore
from agent_queue.sla import CallOutcome, Result, SlaTracker
from hotline.reconcile import ACTOR, reconcile
from hotline.schema import upgrade
from infra.db import make_engine, make_sessionmaker
from tickets.calendar import load_calendar
from tickets.policy import load_policy
from tickets.services import TicketService

NOW = 1796300000.0
LOG = f"""\
{NOW - 90000:.0f}|old.1|hotline-fallback|NONE|ENTERQUEUE||13900000009|1
{NOW - 89990:.0f}|old.1|hotline-fallback|agent01|CONNECT|10|x|1
{NOW - 600:.0f}|seen.2|hotline-general|NONE|ENTERQUEUE||13700000001|1
{NOW - 590:.0f}|seen.2|hotline-general|agent01|CONNECT|10|x|1
{NOW - 500:.0f}|down.3|hotline-fallback|NONE|ENTERQUEUE||13700000002|1
{NOW - 480:.0f}|down.3|hotline-fallback|agent02|CONNECT|20|x|1
{NOW - 400:.0f}|down.4|hotline-fallback|NONE|ENTERQUEUE||13700000003|1
{NOW - 370:.0f}|down.4|hotline-fallback|NONE|ABANDON|1|1|30
{NOW - 300:.0f}|ivr.5|hotline-general|NONE|ENTERQUEUE||13700000004|1
{NOW - 290:.0f}|ivr.5|hotline-general|agent01|CONNECT|10|x|1
"""


@pytest.fixture
async def db(tmp_path):  # noqa: ANN001, ANN201
    url = f"sqlite+aiosqlite:///{tmp_path / 'e.db'}"
    await upgrade(url)
    engine = make_engine(url)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def test_reconcile_counts_and_tickets_what_the_engine_missed_once(db, tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "queue_log"
    path.write_text(LOG)
    tickets = TicketService(sessionmaker=db, policy=load_policy("wuwei"), calendar=load_calendar(None))
    store = SlaStore(db)
    # The engine was up for seen.2 (outcome recorded) and ivr.5 (ticketed by the IVR).
    await store.save(CallOutcome("hotline-general", "seen.2", NOW - 600, NOW - 590, 10, Result.ANSWERED))
    ivr = await tickets.open_from_call(caller="13700000004", line_number="12345", department="", call_id="ivr.5",
                                       route="parallel")  # fmt: skip
    seen = await tickets.open_from_call(caller="13700000001", line_number="12345", department="",
                                        call_id="seen.2", route="parallel")  # fmt: skip

    first = await reconcile(path, sessionmaker=db, tickets=tickets, now=NOW)
    again = await reconcile(path, sessionmaker=db, tickets=tickets, now=NOW)

    assert (first.seen, first.counted, first.ticketed) == (4, 3, 1)  # old.1 is outside the 24 h
    assert (again.counted, again.ticketed) == (0, 0)
    async with db() as s:
        rows = (await s.scalars(select(QueueCallOutcomeRow))).all()
    assert sorted(r.uniqueid for r in rows) == ["down.3", "down.4", "ivr.5", "seen.2"]
    tracker = SlaTracker()
    tracker.load(await store.load_since(NOW - 86400))
    f = tracker.figures(NOW)
    assert (f.offered, f.answered, f.abandoned) == (4, 3, 1)
    views = {v.call_id: v for v in [await tickets.get(i) for i in range(1, 4)]}
    assert set(views) == {"ivr.5", "seen.2", "down.3"}
    down = views["down.3"]
    assert (down.caller, down.route, down.channel) == ("+8613700000002", "reconciled:hotline-fallback", "phone")
    assert [(e.action, e.actor) for e in down.history] == [("create", ACTOR)]
    assert (views["ivr.5"].id, views["seen.2"].id) == (ivr.id, seen.id)


async def test_periodic_run_counts_only_calls_that_joined_before_the_manager_listened(db, tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "queue_log"
    path.write_text(LOG)
    tickets = TicketService(sessionmaker=db, policy=load_policy("wuwei"), calendar=load_calendar(None))
    # The queue manager started listening at NOW - 450: down.4 and ivr.5 joined after, it counts those.
    got = await reconcile(path, sessionmaker=db, tickets=tickets, now=NOW, joined_before=NOW - 450)
    assert (got.seen, got.counted, got.ticketed) == (4, 2, 3)  # all answered calls are ticketed
    assert sorted(o.uniqueid for o in got.outcomes) == ["down.3", "seen.2"]
    async with db() as s:
        assert sorted((await s.scalars(select(QueueCallOutcomeRow.uniqueid))).all()) == ["down.3", "seen.2"]
