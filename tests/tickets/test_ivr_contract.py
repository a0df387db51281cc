"""The IVR-facing methods promised in docs/interfaces.md, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from infra.db import make_engine, make_sessionmaker
from tickets import repository as repo
from tickets.exceptions import IllegalTransition, InvalidInput, NoSuchTicket
from tickets.services import TicketService


async def test_open_from_call_is_committed_before_it_returns(service: TicketService, db_url: str) -> None:
    ref = await service.open_from_call(
        caller="13812345678",
        line_number="12345",
        department="住建局",
        call_id="1700000000.42",
        route="menu.2",
    )
    assert ref.number.startswith("20261123-")
    # A second, independent engine sees the row: it was committed, not merely flushed.
    other = make_engine(db_url)
    try:
        async with make_sessionmaker(other)() as session:
            row = await repo.get(session, ref.id)
            assert row.number == ref.number
            assert row.status == "accepted"
            assert row.caller == "+8613812345678"  # stored in canonical form
            assert row.department_hint == "住建局"
            assert row.dispatch_due is not None
    finally:
        await other.dispose()


async def test_open_from_call_is_idempotent_per_call_id(service: TicketService) -> None:
    a = await service.open_from_call(
        caller="13800000001", line_number="12345", department="", call_id="c-1", route="r"
    )
    b = await service.open_from_call(
        caller="13800000001", line_number="12345", department="", call_id="c-1", route="r"
    )
    c = await service.open_from_call(
        caller="13800000001", line_number="12345", department="", call_id="c-2", route="r"
    )
    assert a == b
    assert c.id != a.id


async def test_numbers_are_a_daily_sequence(service: TicketService, clock) -> None:
    first = await service.open_from_call(caller="", line_number="12345", department="", call_id="", route="")
    second = await service.open_from_call(caller="", line_number="12345", department="", call_id="", route="")
    assert (first.number, second.number) == ("20261123-000001", "20261123-000002")
    clock.advance(days=1)
    third = await service.open_from_call(caller="", line_number="12345", department="", call_id="", route="")
    assert third.number == "20261124-000001"


async def test_abandoned_and_not_accepted_are_audited(service: TicketService) -> None:
    a = await service.open_from_call(
        caller="13800000001", line_number="12345", department="", call_id="a", route=""
    )
    b = await service.open_from_call(
        caller="13800000002", line_number="12345", department="", call_id="b", route=""
    )
    va = await service.mark_abandoned(a.id, stage="menu.main")
    vb = await service.record_not_accepted(b.id, matter="涉法涉诉")
    assert (va.status, vb.status) == ("abandoned", "not_accepted")
    full = await service.get(a.id)
    assert [(e.action, e.from_status, e.to_status) for e in full.history] == [
        ("create", None, "accepted"),
        ("abandon", "accepted", "abandoned"),
    ]
    assert full.history[-1].actor == "ivr"
    # An abandoned call cannot be closed directly afterwards.
    with pytest.raises(IllegalTransition) as err:
        await service.close_direct(a.id, answer="x")
    assert err.value.error_id == "illegal-transition"


async def test_voicemail_and_direct_close(service: TicketService) -> None:
    ref = await service.open_from_call(
        caller="13800000003", line_number="12345", department="", call_id="v", route=""
    )
    await service.attach_voicemail(ref.id, recording_path="/var/spool/hotline/v.wav")
    with pytest.raises(InvalidInput) as err:
        await service.attach_voicemail(ref.id, recording_path=" ")
    assert err.value.field == "recording_path"
    closed = await service.close_direct(ref.id, answer="社保卡补办请到就近网点")
    assert (closed.status, closed.closure) == ("closed", "direct")
    full = await service.get(ref.id)
    assert full.recordings == ("/var/spool/hotline/v.wav",)


async def test_progress_text(service: TicketService) -> None:
    ref = await service.open_from_call(
        caller="13800000004", line_number="12345", department="", call_id="p", route=""
    )
    text = await service.progress_text(ref.number)
    assert text is not None and ref.number in text and "已受理" in text
    assert await service.progress_text("20990101-000001") is None


async def test_unknown_ticket_is_a_domain_error(service: TicketService) -> None:
    with pytest.raises(NoSuchTicket) as err:
        await service.mark_abandoned(999999, stage="x")
    assert err.value.error_id == "no-such-ticket"


async def test_call_back_attempts_are_recorded_on_the_callers_ticket(service: TicketService) -> None:
    ref = await service.open_from_call(
        caller="13800000009", line_number="12345", department="", call_id="cb-1", route="agent"
    )
    await service.note_callback(call_id="cb-1", outcome="reached", detail="agent02")
    await service.note_callback(call_id="no-such-call", outcome="reached", detail="agent02")  # ignored
    view = await service.get(ref.id)
    notes = [e.note for e in view.history if e.actor == "queue"]
    assert notes == ["回拨 reached: agent02"]
