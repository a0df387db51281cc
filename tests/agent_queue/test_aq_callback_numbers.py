"""Withheld caller IDs never get a call-back (issue 18 item 5), in the book and in the core."""

from __future__ import annotations

import pytest

from agent_queue.callbacks import CallbackBook, CallbackKind, CallbackRequest, callback_number


@pytest.mark.parametrize("raw", ["", "anonymous", "Anonymous", "unknown", "sipp", "restricted", "12a45", "+", "12"])
def test_ids_that_cannot_be_dialled_have_no_call_back_number(raw: str) -> None:
    assert callback_number(raw) is None


@pytest.mark.parametrize(("raw", "number"), [("13800138000", "+8613800138000"), ("+86 138-0013-8000", "+8613800138000"),
                                             ("(0935) 2253337", "+869352253337")])
def test_dialable_ids_are_normalised(raw: str, number: str) -> None:
    assert callback_number(raw) == number


def test_the_book_refuses_a_withheld_number() -> None:
    book = CallbackBook()
    for uid, number in (("1", "anonymous"), ("2", "sipp"), ("3", "13900000001")):
        book.add(CallbackRequest(kind=CallbackKind.ABANDONED, queue="q", uniqueid=uid, number=number,
                                 joined_at=0, requested_at=1, due_by=100))
    assert list(book.requests) == ["3"]


def test_withheld_callers_who_give_up_or_press_1_are_owed_nothing() -> None:
    from agent_queue.control import ControlPolicy, QueueCore
    from agent_queue.events import CallerAbandonedEvent, CallerJoinedEvent
    from agent_queue.sla import SlaTracker
    from agent_queue.state import AgentSpec

    q = "hotline-general"
    core = QueueCore(specs=[AgentSpec("agent01", frozenset({q}), home=q)], tracker=SlaTracker(),
                     policy=ControlPolicy())
    for n, number in enumerate(("anonymous", "sipp", "unknown", "13800138000")):
        uid = f"c{n}"
        core.on_event(CallerJoinedEvent(queue=q, uniqueid=uid, channel=f"PJSIP/trunk-{uid}", caller_id=number,
                                        position=1, count=1), 0)
        if n == 1:
            assert core.accept_callback(uid, 5) is None  # pressed 1 with SIPp's ID: nothing booked
            continue
        core.on_event(CallerAbandonedEvent(queue=q, uniqueid=uid, caller_id=number, hold_time=40, position=1,
                                           original_position=1), 40)
    assert [r.number for r in core.book.requests.values()] == ["+8613800138000"]
