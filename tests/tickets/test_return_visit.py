"""100% return visits: dial through the Dialer protocol, retry when nobody answers, DTMF result."""

from __future__ import annotations

import pytest

from tickets.exceptions import InvalidInput
from tickets.return_visit import ReturnVisitService
from tickets.services import TicketService
from tickets.state import Dispatch, Reply, Sign

from .conftest import FakeClock


class FakeDialer:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, dict[str, str]]] = []
        self.fail = fail

    async def originate(self, *, number: str, variables: dict[str, str]) -> None:
        self.calls.append((number, variables))
        if self.fail:
            raise ConnectionError("AMI not connected")


async def _replied(service: TicketService, caller: str = "13912345678") -> int:
    view = await service.create(channel="phone", caller=caller, ticket_type="求助", text="家中老人走失")
    await service.act(view.id, Dispatch(department="民政局"), actor="agent")
    await service.act(view.id, Sign(), actor="dept")
    await service.act(view.id, Reply(text="已联系派出所协助寻找"), actor="dept")
    return view.id


async def test_every_reply_is_dialled_and_digit_closes(service: TicketService) -> None:
    dialer = FakeDialer()
    visits = ReturnVisitService(tickets=service, dialer=dialer)
    tid = await _replied(service)
    attempts = await visits.run_due()
    assert [(a.ticket_id, a.attempt, a.dialled) for a in attempts] == [(tid, 1, True)]
    number, variables = dialer.calls[0]
    assert number == "+8613912345678" and variables["TICKET_ID"] == str(tid)
    assert (await service.get(tid)).status == "visiting"
    prompt = await visits.survey_prompt_text(tid)
    assert "民政局" in prompt and "请按1" in prompt and "13912345678" not in prompt
    view = await visits.record_survey_result(tid, "2")
    assert (view.status, view.closure, view.satisfaction) == (
        "closed",
        "basically_satisfied",
        "basically_satisfied",
    )
    assert await visits.run_due() == []  # nothing left to dial


async def test_unanswered_calls_are_retried_on_schedule_then_left_to_supervisor(
    service: TicketService, clock: FakeClock
) -> None:
    dialer = FakeDialer(fail=True)
    visits = ReturnVisitService(tickets=service, dialer=dialer)
    tid = await _replied(service)
    assert [a.attempt for a in await visits.run_due()] == [1]
    clock.advance(minutes=29)
    assert await visits.run_due() == []  # wuwei schedule: retry after 30 minutes
    clock.advance(minutes=1)
    assert [a.attempt for a in await visits.run_due()] == [2]
    clock.advance(hours=2)
    assert [a.attempt for a in await visits.run_due()] == [3]
    clock.advance(days=1)
    assert [a.attempt for a in await visits.run_due()] == [4]
    clock.advance(days=1)
    assert await visits.run_due() == []
    assert len(dialer.calls) == 4
    view = await service.get(tid)
    assert view.history[-1].action == "visit_unreachable"
    assert view.status == "visiting"


async def test_unsatisfied_result_goes_back_and_creates_a_second_visit(service: TicketService) -> None:
    dialer = FakeDialer()
    visits = ReturnVisitService(tickets=service, dialer=dialer)
    tid = await _replied(service)
    await visits.run_due()
    view = await visits.record_survey_result(tid, "3")
    assert (view.status, view.lead_department) == ("dispatched", "民政局")
    await service.act(tid, Sign(), actor="dept")
    await service.act(tid, Reply(text="已找到老人"), actor="dept")
    assert [a.attempt for a in await visits.run_due()] == [1]  # round 2, first attempt
    assert len(dialer.calls) == 2


async def test_bad_digit_is_refused_with_field(service: TicketService) -> None:
    visits = ReturnVisitService(tickets=service, dialer=FakeDialer())
    tid = await _replied(service)
    with pytest.raises(InvalidInput) as err:
        await visits.record_survey_result(tid, "5")
    assert err.value.field == "digit"
    assert (await service.get(tid)).status == "replied"
