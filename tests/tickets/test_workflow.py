"""The seeds' workflow through TicketService on both backends: guards, audit, 督办, repeats."""

from __future__ import annotations

from datetime import datetime

import pytest

from tickets.exceptions import GuardFailed, IllegalTransition, InvalidInput
from tickets.services import TicketService
from tickets.state import (
    ApproveExtension,
    Archive,
    CloseLawful,
    Dispatch,
    RejectExtension,
    Reply,
    RequestExtension,
    Return,
    Satisfaction,
    Sign,
    StartHandling,
    VisitResult,
)

from .conftest import FakeClock, make_service


async def _new(
    service: TicketService, *, ticket_type: str = "投诉", caller: str = "13912345678", text: str = ""
) -> int:
    view = await service.create(
        channel="phone", caller=caller, ticket_type=ticket_type, text=text or "小区夜间施工噪音扰民"
    )
    return view.id


async def test_full_cycle_is_audited_step_by_step(service: TicketService, clock: FakeClock) -> None:
    tid = await _new(service)
    await service.act(tid, Dispatch(department="住建局"), actor="agent:7")
    clock.advance(hours=1)
    await service.act(tid, Sign(actor_department="住建局"), actor="dept:住建局")
    await service.act(tid, StartHandling(actor_department="住建局"), actor="dept:住建局")
    clock.advance(days=1)
    await service.act(
        tid, Reply(text="已责令施工单位22点后停工", actor_department="住建局"), actor="dept:住建局"
    )
    await service.act(tid, VisitResult(satisfaction=Satisfaction.SATISFIED), actor="return-visit")
    final = await service.act(tid, Archive(), actor="agent:7")
    assert final.status == "archived"
    full = await service.get(tid)
    assert [(e.action, e.from_status, e.to_status) for e in full.history] == [
        ("create", None, "accepted"),
        ("dispatch", "accepted", "dispatched"),
        ("sign", "dispatched", "signed"),
        ("start_handling", "signed", "handling"),
        ("reply", "handling", "replied"),
        ("visit_result", "replied", "closed"),
        ("archive", "closed", "archived"),
    ]
    assert full.history[1].actor == "agent:7" and full.history[1].note == "to 住建局"
    assert full.history[2].at == datetime(2026, 11, 23, 10, 0)
    assert full.closure == "satisfied"
    # Wuwei 投诉 = 较为复杂事项, 3 working days from Monday's dispatch.
    assert full.handle_due == datetime(2026, 11, 26, 23, 59, 59)


async def test_illegal_transition_changes_nothing(service: TicketService) -> None:
    tid = await _new(service)
    before = await service.get(tid)
    with pytest.raises(IllegalTransition) as err:
        await service.act(tid, Sign(), actor="dept:x")
    assert err.value.error_id == "illegal-transition"
    after = await service.get(tid)
    assert after == before  # same status, version and history


async def test_only_the_lead_department_may_sign(service: TicketService) -> None:
    tid = await _new(service)
    await service.act(tid, Dispatch(department="住建局"), actor="agent")
    with pytest.raises(GuardFailed) as err:
        await service.act(tid, Sign(actor_department="水务局"), actor="dept:水务局")
    assert err.value.field == "department"
    assert (await service.get(tid)).status == "dispatched"


async def test_return_only_within_window_and_with_reason(service: TicketService, clock: FakeClock) -> None:
    tid = await _new(service)
    await service.act(tid, Dispatch(department="住建局"), actor="agent")
    with pytest.raises(InvalidInput) as err:
        await service.act(tid, Return(reason="  "), actor="dept")
    assert err.value.field == "reason"
    # Wuwei: 1 working day from Monday's dispatch -> closes Tuesday 23:59:59.
    clock.set(datetime(2026, 11, 25, 0, 0, 1))
    with pytest.raises(GuardFailed) as err:
        await service.act(tid, Return(reason="不属于本单位职责"), actor="dept")
    assert err.value.field == "return_due"
    assert (await service.get(tid)).status == "dispatched"


async def test_returned_twice_raises_supervision(service: TicketService) -> None:
    tid = await _new(service)
    for dept in ("住建局", "城管局"):
        await service.act(tid, Dispatch(department=dept), actor="agent")
        await service.act(tid, Return(reason="非本单位职责"), actor=f"dept:{dept}")
    view = await service.get(tid)
    assert view.status == "returned" and view.return_count == 2
    assert view.supervisions == ("returned-twice",)
    assert view.history[-1].action == "supervise"


async def test_yunnan_extensions_at_most_two_of_ten_days(engine, clock: FakeClock) -> None:
    service = make_service(engine, clock, "yunnan")
    tid = await _new(service, ticket_type="咨询")
    await service.act(tid, Dispatch(department="人社局"), actor="agent")
    await service.act(tid, Sign(), actor="dept")
    with pytest.raises(GuardFailed) as err:
        await service.act(tid, RequestExtension(working_days=11, reason="需现场核查"), actor="dept")
    assert err.value.field == "working_days"
    for _ in range(2):
        await service.act(tid, RequestExtension(working_days=10, reason="需现场核查"), actor="dept")
        view = await service.act(tid, ApproveExtension(), actor="supervisor")
    assert view.extension_count == 2
    # 5 + 10 + 10 working days from Monday 2026-11-23.
    assert view.handle_due == datetime(2026, 12, 28, 23, 59, 59)
    assert view.original_handle_due == datetime(2026, 11, 30, 23, 59, 59)
    with pytest.raises(GuardFailed):
        await service.act(tid, RequestExtension(working_days=1, reason="再延"), actor="dept")


async def test_yunnan_sign_deadline_and_return_window_from_signing(engine, clock: FakeClock) -> None:
    service = make_service(engine, clock, "yunnan")
    tid = await _new(service)
    view = await service.act(tid, Dispatch(department="交通局"), actor="agent")
    assert view.sign_due == datetime(2026, 11, 23, 11, 0)
    clock.advance(hours=1)
    view = await service.act(tid, Sign(), actor="dept")
    assert view.return_due == datetime(2026, 11, 24, 10, 0)
    clock.set(datetime(2026, 11, 24, 10, 1))
    with pytest.raises(GuardFailed):
        await service.act(tid, Return(reason="非本单位"), actor="dept")


async def test_ganzhou_extension_only_in_last_working_day_and_not_longer_than_original(
    engine, clock: FakeClock
) -> None:
    service = make_service(engine, clock, "ganzhou")
    tid = await _new(service, ticket_type="投诉")  # 5 working days: due Mon 30 Nov
    await service.act(tid, Dispatch(department="市场监管局"), actor="agent")
    await service.act(tid, Sign(), actor="dept")
    with pytest.raises(GuardFailed) as err:
        await service.act(tid, RequestExtension(working_days=3, reason="待检测"), actor="dept")
    assert "requests open" in err.value.message
    clock.set(datetime(2026, 11, 30, 9, 0))
    with pytest.raises(GuardFailed):
        await service.act(tid, RequestExtension(working_days=6, reason="待检测"), actor="dept")
    view = await service.act(tid, RequestExtension(working_days=5, reason="待检测"), actor="dept")
    assert view.status == "extension_requested"
    view = await service.act(tid, RejectExtension(reason="理由不充分"), actor="supervisor")
    assert (view.status, view.extension_count) == ("handling", 0)


async def test_unsatisfied_goes_back_to_department_and_twice_is_supervised(
    service: TicketService, clock
) -> None:
    tid = await _new(service)
    await service.act(tid, Dispatch(department="环保局"), actor="agent")
    for round_no in (1, 2):
        await service.act(tid, Sign(), actor="dept")
        await service.act(tid, Reply(text="已处理"), actor="dept")
        clock.advance(hours=2)
        view = await service.act(
            tid, VisitResult(satisfaction=Satisfaction.UNSATISFIED), actor="return-visit"
        )
        assert (view.status, view.lead_department, view.redo_count) == ("dispatched", "环保局", round_no)
        assert view.dispatched_at == clock.now  # fresh deadlines for the redo
    assert (await service.get(tid)).supervisions == ("redone-twice",)
    await service.act(tid, Sign(), actor="dept")
    await service.act(tid, Reply(text="依法答复"), actor="dept")
    view = await service.act(tid, CloseLawful(note="诉求不合理，答复符合政策规定"), actor="supervisor")
    assert view.closure == "lawful_reply"


async def test_sweep_raises_overdue_once(service: TicketService, clock: FakeClock) -> None:
    tid = await _new(service)  # 投诉: due Thu 26 Nov 23:59:59
    idle = await _new(service, caller="13700000000", text="路灯不亮")  # never dispatched: due Tue 24 Nov
    await service.act(tid, Dispatch(department="住建局"), actor="agent")
    await service.act(tid, Sign(), actor="dept")
    clock.set(datetime(2026, 11, 26, 23, 0))
    raised = await service.sweep()
    assert {r for _, r in raised} == {"dispatch-overdue"}
    clock.set(datetime(2026, 11, 27, 0, 0, 1))
    assert [r for _, r in await service.sweep()] == ["overdue"]
    assert await service.sweep() == []  # idempotent
    assert (await service.get(tid)).supervisions == ("overdue",)
    assert (await service.get(idle)).supervisions == ("dispatch-overdue",)


async def test_extension_overrun_is_its_own_reason(service: TicketService, clock: FakeClock) -> None:
    tid = await _new(service)
    await service.act(tid, Dispatch(department="住建局"), actor="agent")
    await service.act(tid, Sign(), actor="dept")
    await service.act(tid, RequestExtension(working_days=2, reason="协调中"), actor="dept")
    view = await service.act(tid, ApproveExtension(), actor="supervisor")
    clock.set(view.handle_due.replace(hour=23, minute=59, second=59))
    assert await service.sweep() == []
    clock.advance(seconds=1)
    assert [r for _, r in await service.sweep()] == ["extension-overrun"]


async def test_repeated_requests_are_linked_and_supervised(service: TicketService, clock: FakeClock) -> None:
    clock.set(datetime(2026, 6, 1, 9, 0))  # far enough from year end that +40 days stays in 2026
    first = await _new(service, text="幸福小区门口路灯坏了一个月没人修")
    clock.advance(days=3)
    second = await _new(service, text="幸福小区门口的路灯坏了一个多月了还没人修")
    other_caller = await _new(service, caller="13600000000", text="幸福小区门口路灯坏了一个月没人修")
    different = await _new(service, text="咨询养老保险补缴政策")
    clock.advance(days=3)
    third = await _new(service, text="幸福小区门口路灯坏了一个月没人修理")
    views = {t: await service.get(t) for t in (first, second, other_caller, different, third)}
    assert views[second].repeat_of_id == first and views[third].repeat_of_id == first
    assert views[other_caller].repeat_of_id is None and views[different].repeat_of_id is None
    assert views[first].repeat_count == 2
    assert views[first].supervisions == ("repeat-reports",)  # third report (wuwei: 3)
    clock.advance(days=40)  # outside the 30-day window: a new matter, not a repeat
    late = await _new(service, text="幸福小区门口路灯坏了一个月没人修")
    assert (await service.get(late)).repeat_of_id is None


async def test_multi_department_dispatch_in_wuwei_gets_seven_days(service: TicketService) -> None:
    tid = await _new(service)
    view = await service.act(
        tid, Dispatch(department="住建局", co_departments=("城管局", "住建局", " ")), actor="a"
    )
    assert view.co_departments == ("城管局",)
    assert (view.level, view.handle_due) == ("multi", datetime(2026, 12, 2, 23, 59, 59))
