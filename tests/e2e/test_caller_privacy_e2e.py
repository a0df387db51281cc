"""Caller numbers written any way through the real PBX: the ticket holds one canonical form and
the engine's log lines (the routing decision included) show none of them in full."""

import logging

import pytest

from infra.logs import MaskingFormatter
from tests.support.logscan import unmasked_numbers

pytestmark = pytest.mark.pbx

# What carriers and softphones put in the From user part (all legal SIP user characters).
WRITTEN = [
    ("+86-138-1234-5678", "+8613812345678"),
    ("008613812345678", "+8613812345678"),
    ("138.1234.5678", "+8613812345678"),
    ("(0935)2253337", "+869352253337"),
    ("0935-2253337", "+869352253337"),
    ("anonymous", ""),
]


@pytest.mark.parametrize(("written", "canonical"), WRITTEN)
async def test_caller_is_canonical_on_the_ticket_and_masked_in_the_log(engine, ami_watch, sipp, caplog,
                                                                       written, canonical):
    caplog.set_level(logging.INFO)
    mark = ami_watch.mark()
    result = await sipp.call("12345", caller=written, steps=[("pause", 1500), ("dtmf", "0"), ("pause", 9000)])
    assert result.failed == 0 and result.successful == 1, result.stderr
    joins = await ami_watch.wait_for("QueueCallerJoin", since=mark, timeout=20)
    channel = joins[0]["Channel"]
    tickets = ami_watch.since(mark, "VarSet", Channel=channel, Variable="TICKET_ID")
    assert tickets
    view = await engine.tickets.get_by_number(tickets[-1]["Value"])
    assert view.caller == canonical
    lines = [MaskingFormatter().format(r) for r in caplog.records]
    decision = [line for line in lines if "routing decision" in line]
    assert decision, "the engine logged no routing decision"
    assert all(unmasked_numbers(line) == [] for line in lines), [x for x in lines if unmasked_numbers(x)]
    if canonical:
        national = canonical.removeprefix("+86")
        assert not any(national in line.replace("-", "").replace(".", "").replace("(", "").replace(")", "")
                       for line in lines)
