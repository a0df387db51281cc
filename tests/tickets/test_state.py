"""The pure state machine: every (status, action) pair outside the table is refused; no clock inside."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from tickets.calendar import load_calendar
from tickets.exceptions import IllegalTransition
from tickets.policy import load_policy
from tickets.state import (
    ALLOWED_FROM,
    Abandon,
    Action,
    ApproveExtension,
    Archive,
    CloseDirect,
    CloseLawful,
    Dispatch,
    NotAccept,
    RejectExtension,
    Reply,
    RequestExtension,
    Return,
    Satisfaction,
    Sign,
    StartHandling,
    StartVisit,
    Status,
    TicketState,
    VisitResult,
    apply,
)

POLICY = load_policy("wuwei")
CAL = load_calendar(None)
T0 = datetime(2026, 11, 23, 9, 0)
SAMPLES: list[Action] = [
    Dispatch(department="住建局"),
    CloseDirect(answer="答复"),
    Abandon(stage="menu"),
    NotAccept(matter="涉诉"),
    Sign(),
    Return(reason="非本单位"),
    StartHandling(),
    RequestExtension(working_days=1, reason="核查"),
    ApproveExtension(),
    RejectExtension(),
    Reply(text="已办"),
    StartVisit(),
    VisitResult(satisfaction=Satisfaction.SATISFIED),
    CloseLawful(note="依法答复"),
    Archive(),
]


def _ticket(status: Status) -> TicketState:
    return TicketState(
        status=status,
        ticket_type="投诉",
        level="complex",
        accepted_at=T0,
        lead_department="住建局",
        dispatched_at=T0,
        return_due=datetime(2026, 11, 24, 23, 59, 59),
        handle_due=datetime(2026, 11, 26, 23, 59, 59),
        pending_extension=1,
    )


def test_every_action_class_has_a_sample_and_a_table_row() -> None:
    assert {type(a) for a in SAMPLES} == set(ALLOWED_FROM)


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("action", SAMPLES, ids=lambda a: type(a).__name__)
def test_transition_table(status: Status, action: Action) -> None:
    ticket = _ticket(status)
    if status in ALLOWED_FROM[type(action)]:
        outcome = apply(ticket, action, now=T0, policy=POLICY, calendar=CAL)
        assert outcome.from_status == status
        assert outcome.state.status != status or type(action) is StartVisit
    else:
        with pytest.raises(IllegalTransition) as err:
            apply(ticket, action, now=T0, policy=POLICY, calendar=CAL)
        assert err.value.error_id == "illegal-transition"
        assert status.value in err.value.message


def test_same_input_same_output() -> None:
    # No clock inside: the result depends only on the arguments.
    a = apply(_ticket(Status.ACCEPTED), Dispatch(department="x"), now=T0, policy=POLICY, calendar=CAL)
    b = apply(_ticket(Status.ACCEPTED), Dispatch(department="x"), now=T0, policy=POLICY, calendar=CAL)
    assert a == b
    later = apply(
        replace(_ticket(Status.ACCEPTED)), Dispatch(department="x"), now=datetime(2026, 11, 24, 9), policy=POLICY,
        calendar=CAL,
    )  # fmt: skip
    assert later.state.handle_due == datetime(2026, 11, 27, 23, 59, 59)
