"""Issue 2's end-to-end proof: SIPp -> Asterisk -> FastAGI -> queue, and the fallback without Python."""

import pytest

from hotline_merge.registry import registry_of
from tests.e2e.test_ivr_calls import prompt_ms

pytestmark = pytest.mark.pbx


def _general_queue(engine) -> str:
    return registry_of(engine.dialplan.current).general_queue


async def test_call_to_12345_runs_the_agi_sets_route_and_queues(engine, ami_watch, sipp):
    mark = ami_watch.mark()
    result = await sipp.call("12345", steps=[("pause", 1500), ("dtmf", "0"), ("pause", 9000)])
    assert result.failed == 0 and result.successful == 1, result.stderr
    joins = await ami_watch.wait_for("QueueCallerJoin", since=mark, timeout=20)
    channel = joins[0]["Channel"]
    assert joins[0]["Queue"] == _general_queue(engine)
    agi_cmds = [e["Command"] for e in ami_watch.since(mark, "AGIExecStart", Channel=channel)]
    assert any(c.startswith("ANSWER") for c in agi_cmds)
    assert any("menu_main" in c for c in agi_cmds)  # the greeting/menu was played
    routes = ami_watch.since(mark, "VarSet", Channel=channel, Variable="IVR_ROUTE")
    assert routes and routes[-1]["Value"] == "agent"
    tickets = ami_watch.since(mark, "VarSet", Channel=channel, Variable="TICKET_ID")
    assert tickets and await engine.tickets.get_by_number(tickets[-1]["Value"])


async def test_engine_down_sends_the_caller_to_the_fallback_queue(engine, ami_watch, sipp):
    await engine.stop_agi()
    try:
        mark = ami_watch.mark()
        # The PBX itself answers and says "please hold" before queueing.
        result = await sipp.call("12345", steps=[("pause", prompt_ms(engine, "pbx.hold") + 3000)])
        assert result.failed == 0, result.stderr
        joins = await ami_watch.wait_for("QueueCallerJoin", since=mark, timeout=20)
        channel = joins[0]["Channel"]
        route = ami_watch.since(mark, "VarSet", Channel=channel, Variable="IVR_ROUTE")
        assert route and route[-1]["Value"].startswith("fallback:")
        assert joins[0]["Queue"] == _general_queue(engine)  # the 12345 line's compiled fallback
        assert not ami_watch.since(mark, "AGIExecStart", Channel=channel)
    finally:
        await engine.start_agi()


async def test_fifty_concurrent_calls_are_all_handled_by_the_engine(engine, ami_watch, sipp):
    mark = ami_watch.mark()
    served_before = engine.agi.served
    result = await sipp.call("12345", steps=[("pause", 1500), ("dtmf", "0"), ("pause", 9000)],
                             calls=50, rate=25, limit=50)
    assert result.failed == 0 and result.successful == 50, result.stderr[-2000:]
    joins = await ami_watch.wait_for("QueueCallerJoin", since=mark, count=50, timeout=60)
    routes = {e["Channel"]: e["Value"] for e in ami_watch.since(mark, "VarSet", Variable="IVR_ROUTE")}
    assert all(routes.get(j["Channel"]) == "agent" for j in joins)
    assert engine.agi.served - served_before == 50
