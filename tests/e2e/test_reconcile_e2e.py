"""Issue 17 item 1 through the real PBX: calls while the engine is down are counted and ticketed
after it starts again, from what Asterisk's app_queue wrote to queue_log.

The engine is stopped (AGI refused, so the dialplan sends callers to the line's fallback queue,
hotline-general for 12345). A SIPp agent (agent01) answers one caller; a second caller gives up
in the queue after 6 s while the agent talks (its channel hung up through AMI, see below). The engine is started: the answered call has a ticket made
by reconciliation, both calls are in the 24-hour figures, and a second reconcile adds nothing.
The oracle is Asterisk's own AMI events for the same calls.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import select

from agent_queue.models import QueueCallOutcomeRow
from hotline.reconcile import ACTOR
from infra.db import make_sessionmaker
from infra.phone import canonical_number
from tests.support.sipp import free_udp_port
from tickets.models import Ticket

pytestmark = pytest.mark.pbx

QUEUE = "hotline-general"  # the compiled fallback queue of line 12345; agent01 is a static member
ANSWERED, GAVE_UP = "13700000171", "13700000172"


async def test_calls_while_the_engine_is_down_are_counted_and_ticketed_after_restart(
    engine, ami_watch, sipp, settings
):
    password = json.loads(settings.pbx_secrets_file.read_text())["agents"]["agent01"]
    await engine.close()  # the whole engine down: AGI, AMI client, queue manager, web
    port = free_udp_port()
    agent = None
    try:
        mark = ami_watch.mark()
        reg = await sipp.register(port, user="agent01", password=password)
        assert (reg.successful, reg.failed) == (1, 0), reg.stderr[-1500:]
        # The stopped engine may have left agent01 paused; nobody unpauses it while it is down.
        await ami_watch.action({"Action": "QueuePause", "Interface": "PJSIP/agent01", "Paused": "false"})
        await ami_watch.wait_for("QueueMemberStatus", since=mark, timeout=15, Queue=QUEUE,
                                 MemberName="agent01", Status="1")  # fmt: skip
        # The caller hangs up first (an agent's BYE during the caller's pause would fail SIPp's call).
        agent = await sipp.uas(port, calls=1, answer_after_ms=500, hold_ms=60_000, timeout_s=90, name="uas-171")
        mark = ami_watch.mark()
        talker = asyncio.create_task(
            sipp.call("12345", steps=[("pause", 12_000)], caller=ANSWERED, timeout_s=60, name="uac-171")
        )
        await ami_watch.wait_for("AgentConnect", since=mark, timeout=30, Queue=QUEUE)
        second = asyncio.create_task(
            sipp.call("12345", steps=[("pause", 30_000)], caller=GAVE_UP, timeout_s=45, name="uac-172")
        )
        join = (await ami_watch.wait_for("QueueCallerJoin", since=mark, timeout=20, Queue=QUEUE,
                                         CallerIDNum=GAVE_UP))[0]  # fmt: skip
        # The second caller gives up after 6 s in the queue (over the 5 s short-abandon limit). The
        # fallback queue may not answer a waiting caller, and SIPp's caller cannot CANCEL, so its
        # channel is hung up from Asterisk: to app_queue that is the caller leaving, an ABANDON.
        await asyncio.sleep(6)
        await ami_watch.action({"Action": "Hangup", "Channel": join["Channel"]})
        await ami_watch.wait_for("QueueCallerAbandon", since=mark, timeout=20, Queue=QUEUE)
        talked = await talker
        assert talked.failed == 0, talked.stderr[-1500:]
        await second  # its result is not asserted: its call was ended from the PBX side
        await agent.stop()
    finally:
        if agent is not None:
            await agent.stop()
        await sipp.register(port, user="agent01", password=password, expires=0)
        await engine.start()

    joins = {e["CallerIDNum"]: e["Uniqueid"] for e in ami_watch.since(mark, "QueueCallerJoin", Queue=QUEUE)}
    assert set(joins) == {ANSWERED, GAVE_UP}
    assert [e["Uniqueid"] for e in ami_watch.since(mark, "AgentConnect", Queue=QUEUE)] == [joins[ANSWERED]]
    assert [e["Uniqueid"] for e in ami_watch.since(mark, "QueueCallerAbandon", Queue=QUEUE)] == [joins[GAVE_UP]]

    sessions = make_sessionmaker(engine.db_engine)
    async with sessions() as s:
        outcomes = {r.uniqueid: r.result for r in await s.scalars(
            select(QueueCallOutcomeRow).where(QueueCallOutcomeRow.uniqueid.in_(joins.values())))}  # fmt: skip
        tickets = (await s.scalars(select(Ticket).where(Ticket.call_id.in_(joins.values())))).all()
    assert outcomes == {joins[ANSWERED]: "answered", joins[GAVE_UP]: "abandoned"}
    # The restarted tracker was loaded with them: both offered, one answered.
    counted = [o for o in engine.queue_manager.core.tracker._items if o.uniqueid in joins.values()]
    assert sorted(o.result.value for o in counted) == ["abandoned", "answered"]
    assert [(t.call_id, t.caller, t.route) for t in tickets] == [
        (joins[ANSWERED], canonical_number(ANSWERED), f"reconciled:{QUEUE}")
    ]
    view = await engine.tickets.get(tickets[0].id)
    assert [(e.action, e.actor) for e in view.history] == [("create", ACTOR)]

    again = await engine.reconcile_queue_log()
    assert (again.counted, again.ticketed) == (0, 0)
    assert again.seen >= 2
