"""Issue 6 item 7 through the real PBX: SIPp agents and SIPp callers, the tracker against SIPp.

Two SIPp UAS register (digest auth) as agent01 and agent02, the static members of the 12345
queue, and answer whatever Asterisk rings them with. SIPp callers dial 12345 and press 0 (an
agent). Two of them talk to the agents; two more arrive while both agents are talking and hang
up after some seconds in the queue: abandoned. Once the agents are free again the queue
manager calls each abandoned caller back (agent first, then the citizen through the outbound
gateway, where a third SIPp UAS answers). The tracker's offered / answered / abandoned must
equal the figures computed from SIPp's own statistics for the same run.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import pytest

from agent_queue.state import AgentState
from tests.support.queues import hang_up_waiting_callers
from tests.support.sipp import free_udp_port

pytestmark = pytest.mark.pbx

QUEUE = "hotline-general"
AGENTS = ("agent01", "agent02")  # static members of hotline-general (dialplans/30-queues.yaml)
TALKERS = "13700000001"
GIVERS_UP = ("13900000001", "13900000002")


async def _until(what: str, check: Callable[[], bool], timeout: float = 30,
                 detail: Callable[[], object] = lambda: "") -> None:
    """Wait (bounded) for engine state that no AMI event announces to the test."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} {detail()}")
        await asyncio.sleep(0.2)


def _port_of(contact: str) -> int:
    return int(contact.rsplit(":", 1)[1].split(";")[0])


async def test_tracker_equals_sipp_statistics_and_abandoned_callers_are_called_back(
    engine, ami_watch, sipp, settings
):
    core = engine.queue_manager.core
    passwords = json.loads(settings.pbx_secrets_file.read_text())["agents"]
    # Callers of earlier tests in this session must be gone and settled before the baseline,
    # and the call-backs they are owed (no agent was ever free) must not take our agents.
    await hang_up_waiting_callers(ami_watch)
    await _until("earlier queue calls to settle", lambda: not core.open and not core.board.waiting,
                 detail=lambda: (list(core.open.items())[:5], list(core.board.waiting.values())[:5],
                                 len(core.open), len(core.board.waiting)))
    stashed = {uid: r for uid, r in core.book.requests.items() if not r.in_progress}
    for uid in stashed:
        del core.book.requests[uid]
    ports = {a: free_udp_port() for a in AGENTS}
    agents = {}
    citizen = None
    try:
        mark = ami_watch.mark()
        for agent, port in ports.items():
            reg = await sipp.register(port, user=agent, password=passwords[agent])
            assert (reg.successful, reg.failed) == (1, 0), reg.stderr[-1500:]
            agents[agent] = await sipp.uas(port, calls=50, answer_after_ms=1000, hold_ms=120_000,
                                           timeout_s=400, name=f"uas-{agent}")
        for agent in AGENTS:
            await ami_watch.wait_for("QueueMemberStatus", since=mark, timeout=15, Queue=QUEUE,
                                     MemberName=agent, Status="1")
            await _until(f"{agent} idle on the board",
                         lambda a=agent: core.board.agents[a].state is AgentState.IDLE, timeout=10)
        citizen = await sipp.uas(_port_of(settings.pbx.outbound_contact), calls=len(GIVERS_UP),
                                 answer_after_ms=500, hold_ms=3000, timeout_s=400, name="uas-citizen")

        before = core.tracker.figures(time.time())
        reached_before = core.book.reached
        mark = ami_watch.mark()
        talkers = asyncio.create_task(sipp.call(
            "12345", steps=[("pause", 1500), ("dtmf", "0"), ("pause", 30_000)], calls=2, rate=10, limit=2,
            caller=TALKERS, timeout_s=120, name="uac-talkers",
        ))
        # Both agents are talking before the next callers arrive: those can only give up.
        await ami_watch.wait_for("AgentConnect", since=mark, count=2, timeout=40, Queue=QUEUE)
        givers_up = await asyncio.gather(*(
            sipp.call("12345", steps=[("pause", 1500), ("dtmf", "0"), ("pause", 12_000)], caller=number,
                      timeout_s=60, name="uac-giver-up")
            for number in GIVERS_UP
        ))
        talked = await talkers
        for r in (talked, *givers_up):
            assert r.failed == 0, r.stderr[-1500:]
        # The call-backs: the citizen's gateway answers one per abandoned caller.
        called_back = await citizen.wait(timeout=150)
        await _until("call-back attempts to end",
                     lambda: core.book.reached - reached_before >= len(GIVERS_UP), timeout=30)
        answered_by = {a: await run.stop() for a, run in agents.items()}
    finally:
        for run in agents.values():
            await run.stop()
        if citizen is not None:
            await citizen.stop()
        for agent, port in ports.items():
            await sipp.register(port, user=agent, password=passwords[agent], expires=0)
        for uid, req in stashed.items():
            core.book.requests.setdefault(uid, req)

    after = core.tracker.figures(time.time())
    for name, r in (*answered_by.items(), ("citizen", called_back)):
        assert r.failed == 0, f"{name}: {r.stdout[-1500:]}"

    # The oracle: SIPp's own counts. Every caller reached the queue (one offer each); every
    # INVITE an agent completed was a queue call or a call-back leg, and every call-back leg
    # put exactly one call through to the citizen's gateway.
    offered = talked.successful + sum(r.successful for r in givers_up)
    answered = sum(r.successful for r in answered_by.values()) - called_back.successful
    abandoned = offered - answered
    got = (after.offered - before.offered, after.answered - before.answered, after.abandoned - before.abandoned)
    assert got == (offered, answered, abandoned)
    assert (offered, answered, abandoned) == (4, 2, 2)  # what the run was built to produce
    assert after.short_abandoned == before.short_abandoned

    # AMI agrees call by call: who joined, who was connected, who gave up, who was called back.
    joins = ami_watch.since(mark, "QueueCallerJoin", Queue=QUEUE)
    abandons = ami_watch.since(mark, "QueueCallerAbandon", Queue=QUEUE)
    assert len(joins) == offered
    assert sorted(e["CallerIDNum"] for e in abandons) == sorted(GIVERS_UP)
    assert all(int(e["HoldTime"]) >= core.tracker.short_abandon_s for e in abandons)
    callbacks = {e["Value"] for e in ami_watch.since(mark, "VarSet", Variable="CALLBACK_CALL")}
    assert callbacks == {e["Uniqueid"] for e in abandons}
    through = [e for e in ami_watch.since(mark, "DialEnd", DialStatus="ANSWER")
               if e.get("DestChannel", "").startswith("PJSIP/outbound-")]
    assert len(through) == len(GIVERS_UP)
    assert core.book.reached - reached_before == len(GIVERS_UP)
    assert not any(r.uniqueid in callbacks for r in core.book.requests.values())  # settled, not retried
