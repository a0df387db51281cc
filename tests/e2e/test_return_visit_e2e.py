"""Issue 7 item 5 through the real PBX: the 100% return visit (回访) as a phone call.

A ticket is driven to `replied` through the engine's TicketService; `visits.run_due()` dials
the citizen with AMI Originate through the outbound gateway, where a SIPp UAS answers and keys
an RFC 2833 digit; the survey AGI records it. 1 closes the ticket satisfied, 3 sends it back to
the department; a call nobody answers leaves the visit scheduled for its retry.
"""

from __future__ import annotations

import pytest

from tickets import repository
from tickets.deadlines import due_after
from tickets.state import Dispatch, Reply, Sign

pytestmark = pytest.mark.pbx

DEPARTMENT = "市民政局"


def _gateway_port(settings) -> int:
    return int(settings.pbx.outbound_contact.rsplit(":", 1)[1].split(";")[0])


async def _replied(engine, *, caller: str, text: str) -> int:
    service = engine.tickets
    view = await service.create(channel="phone", caller=caller, ticket_type="求助", text=text)
    await service.act(view.id, Dispatch(department=DEPARTMENT), actor="agent")
    await service.act(view.id, Sign(), actor="dept")
    await service.act(view.id, Reply(text="已安排社区工作人员上门核实并解决"), actor="dept")
    assert (await service.get(view.id)).status == "replied"
    return view.id


async def _visits(engine, ticket_id: int):
    async with engine.tickets.sessionmaker() as session:
        return list(await repository.visits(session, ticket_id))


async def _dial(engine, ticket_id: int):
    """The scheduler's job, once; other due visits it may dial are not this test's business."""
    return [a for a in await engine.visits.run_due() if a.ticket_id == ticket_id]


def _survey_channel(ami_watch, mark: int, ticket_id: int) -> str:
    sets = ami_watch.since(mark, "VarSet", Variable="TICKET_ID", Value=str(ticket_id))
    channels = {e["Channel"] for e in sets}
    assert len(channels) == 1, channels
    return channels.pop()


@pytest.mark.parametrize(
    ("digit", "status", "satisfaction", "closure"),
    [
        ("1", "closed", "satisfied", "satisfied"),  # 满意 -> 办结
        ("3", "dispatched", "unsatisfied", None),  # 不满意 -> back to the lead department
    ],
)
async def test_answered_return_visit_records_the_key_the_citizen_pressed(
    engine, ami_watch, sipp, settings, digit, status, satisfaction, closure
):
    caller = f"1391234500{digit}"
    tid = await _replied(engine, caller=caller, text=f"小区路灯不亮，回访测试{digit}")
    # The citizen answers and keys the digit (again a few seconds later, in case the first
    # press came before the survey question started; only one result may be recorded).
    gateway = await sipp.uas(_gateway_port(settings), calls=1, answer_after_ms=500, hold_ms=30_000,
                             keys=digit * 3, key_gap_ms=3000, timeout_s=90, name=f"uas-visit-{digit}")
    mark = ami_watch.mark()
    try:
        attempts = await _dial(engine, tid)
        assert [(a.attempt, a.dialled, a.error) for a in attempts] == [(1, True, "")]
        answered = await gateway.wait(timeout=80)  # ends when the PBX hangs up after the survey
    finally:
        await gateway.stop()
    assert (answered.successful, answered.failed) == (1, 0), answered.stdout[-1500:]

    channel = _survey_channel(ami_watch, mark, tid)
    assert channel.startswith("PJSIP/outbound-")
    commands = [e["Command"] for e in ami_watch.since(mark, "AGIExecStart", Channel=channel)]
    assert any(c.startswith("GET DATA") for c in commands)  # the survey question was asked
    originated = ami_watch.since(mark, "OriginateResponse", Channel=channel)
    assert originated and originated[-1]["Response"] == "Success"

    view = await engine.tickets.get(tid)
    assert (view.status, view.satisfaction, view.closure) == (status, satisfaction, closure)
    assert view.lead_department == DEPARTMENT
    results = [e for e in view.history if e.action == "visit_result"]
    assert len(results) == 1 and results[0].actor == "return-visit"
    visits = await _visits(engine, tid)
    assert [(v.status, v.result, v.attempts) for v in visits] == [("done", satisfaction, 1)]
    if digit == "3":
        assert view.redo_count == 1  # handled again, then visited again after the next reply


async def test_unanswered_return_visit_is_scheduled_for_its_retry(engine, ami_watch, sipp, settings):
    tid = await _replied(engine, caller="13912345009", text="楼道积水无人处理，回访测试无人接听")
    dialer = engine.visits.dialer
    ring_s = dialer.ring_s
    dialer.ring_s = 4.0  # let the originate give up after a few seconds of ringing
    gateway = await sipp.uas(_gateway_port(settings), calls=1, ring_only=True, timeout_s=60,
                             name="uas-visit-noanswer")
    mark = ami_watch.mark()
    try:
        attempts = await _dial(engine, tid)
        rang = await gateway.wait(timeout=30)
    finally:
        dialer.ring_s = ring_s
        await gateway.stop()
    assert (rang.successful, rang.failed) == (1, 0), rang.stdout[-1500:]  # rang, then CANCEL
    assert [(a.attempt, a.dialled) for a in attempts] == [(1, False)]
    assert "not answered" in attempts[0].error

    failed = [e for e in ami_watch.since(mark, "OriginateResponse", Response="Failure")
              if e.get("Channel", "").startswith("PJSIP/") and "outbound" in e.get("Channel", "")]
    assert len(failed) == 1
    assert not [e for e in ami_watch.since(mark, "AGIExecStart")  # no survey ran
                if e.get("Channel", "").startswith("PJSIP/outbound-")]

    view = await engine.tickets.get(tid)
    assert view.status == "visiting" and view.satisfaction is None
    [visit] = await _visits(engine, tid)
    assert (visit.status, visit.attempts, visit.result) == ("calling", 1, None)
    first_retry = engine.tickets.policy.return_visit.retries[0]
    assert visit.next_attempt_at == due_after(engine.tickets.calendar, visit.last_attempt_at, first_retry)
    assert visit.next_attempt_at > visit.last_attempt_at
    assert await _dial(engine, tid) == []  # not dialled again before its retry time
