"""The database edge of the tickets package: the only module that writes SQL for tickets.

Writers serialise on the ticket row: `lock()` starts every write transaction with an UPDATE of
the row's version, which holds the row lock on PostgreSQL and the database write lock on SQLite
until commit. Read-modify-write under that lock cannot lose a concurrent update.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from tickets.exceptions import NoSuchTicket
from tickets.models import (
    ReturnVisit,
    Supervision,
    Ticket,
    TicketCoDepartment,
    TicketCounter,
    TicketEvent,
    TicketRecording,
)
from tickets.state import Closure, Satisfaction, Status, TicketState


def _insert(session: AsyncSession, table: type) -> object:
    """INSERT ... ON CONFLICT support differs per dialect module; pick the right one."""
    name = session.bind.dialect.name if session.bind is not None else "sqlite"
    return (postgresql.insert if name == "postgresql" else sqlite.insert)(table)


async def next_number(session: AsyncSession, day: date) -> str:
    """Date-based sequence `YYYYMMDD-NNNNNN`. The counter row is written first, so the caller's
    transaction holds its lock until commit: two creators never read the same value."""
    key = day.strftime("%Y%m%d")
    ins = (
        _insert(session, TicketCounter).values(day=key, last=0).on_conflict_do_nothing(index_elements=["day"])
    )
    await session.execute(ins)
    stmt = (
        update(TicketCounter)
        .where(TicketCounter.day == key)
        .values(last=TicketCounter.last + 1)
        .returning(TicketCounter.last)
    )
    last = (await session.execute(stmt)).scalar_one()
    return f"{key}-{last:06d}"


async def lock(session: AsyncSession, ticket_id: int) -> Ticket:
    bump = update(Ticket).where(Ticket.id == ticket_id).values(version=Ticket.version + 1)
    result = await session.execute(bump.execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise NoSuchTicket(f"ticket {ticket_id}: no such ticket", field="ticket_id")
    row = await session.get(Ticket, ticket_id, populate_existing=True)
    assert row is not None
    return row


async def get(session: AsyncSession, ticket_id: int) -> Ticket:
    row = await session.get(Ticket, ticket_id)
    if row is None:
        raise NoSuchTicket(f"ticket {ticket_id}: no such ticket", field="ticket_id")
    return row


async def get_by_number(session: AsyncSession, number: str) -> Ticket | None:
    return (await session.execute(select(Ticket).where(Ticket.number == number))).scalar_one_or_none()


async def get_by_call_id(session: AsyncSession, call_id: str) -> Ticket | None:
    if not call_id:
        return None
    stmt = select(Ticket).where(Ticket.call_id == call_id).order_by(Ticket.id).limit(1)
    return (await session.execute(stmt)).scalar_one_or_none()


def to_state(row: Ticket) -> TicketState:
    return TicketState(
        status=Status(row.status),
        ticket_type=row.ticket_type,
        level=row.level,
        accepted_at=row.accepted_at,
        lead_department=row.lead_department,
        co_departments=tuple(row.co_departments or ()),
        dispatched_at=row.dispatched_at,
        signed_at=row.signed_at,
        replied_at=row.replied_at,
        closed_at=row.closed_at,
        dispatch_due=row.dispatch_due,
        sign_due=row.sign_due,
        return_due=row.return_due,
        handle_due=row.handle_due,
        original_handle_due=row.original_handle_due,
        extension_count=row.extension_count,
        extension_days=row.extension_days,
        pending_extension=row.pending_extension,
        return_count=row.return_count,
        redo_count=row.redo_count,
        closure=Closure(row.closure) if row.closure else None,
        satisfaction=Satisfaction(row.satisfaction) if row.satisfaction else None,
        reply=row.reply,
    )


_STATE_FIELDS = (
    "level accepted_at lead_department dispatched_at signed_at replied_at closed_at dispatch_due sign_due"
    " return_due handle_due original_handle_due extension_count extension_days pending_extension"
    " return_count redo_count reply"
).split()


def write_state(row: Ticket, state: TicketState, now: datetime) -> None:
    for name in _STATE_FIELDS:
        setattr(row, name, getattr(state, name))
    row.status = state.status.value
    row.co_departments = list(state.co_departments)
    row.closure = state.closure.value if state.closure else None
    row.satisfaction = state.satisfaction.value if state.satisfaction else None
    row.updated_at = now


async def sync_co_departments(session: AsyncSession, row: Ticket) -> None:
    """Make `ticket_co_departments` hold exactly the row's co-handling departments."""
    wanted = list(dict.fromkeys(row.co_departments or ()))
    stmt = select(TicketCoDepartment.department).where(TicketCoDepartment.ticket_id == row.id)
    have = set((await session.execute(stmt)).scalars())
    gone = have - set(wanted)
    if gone:
        await session.execute(
            delete(TicketCoDepartment).where(
                TicketCoDepartment.ticket_id == row.id, TicketCoDepartment.department.in_(gone)
            )
        )
    session.add_all(TicketCoDepartment(ticket_id=row.id, department=d) for d in wanted if d not in have)


def add_event(
    session: AsyncSession,
    *,
    ticket_id: int,
    at: datetime,
    actor: str,
    action: str,
    from_status: str | None,
    to_status: str,
    note: str = "",
) -> None:
    session.add(
        TicketEvent(
            ticket_id=ticket_id,
            at=at,
            actor=actor,
            action=action,
            from_status=from_status,
            to_status=to_status,
            note=note,
        )
    )


class _Unchanged(enum.Enum):
    UNCHANGED = "unchanged"


UNCHANGED = _Unchanged.UNCHANGED


def record_event(
    session: AsyncSession,
    row: Ticket,
    *,
    at: datetime,
    actor: str,
    action: str,
    note: str = "",
    from_status: str | None | _Unchanged = UNCHANGED,
) -> None:
    """One line of `row`'s history, ending in the row's status now. `from_status` is the status
    before the action (None for a new ticket); by default the action changed no status."""
    add_event(
        session,
        ticket_id=row.id,
        at=at,
        actor=actor,
        action=action,
        from_status=row.status if from_status is UNCHANGED else from_status,
        to_status=row.status,
        note=note,
    )


async def raise_supervision(
    session: AsyncSession, row: Ticket, *, reason: str, key: str, now: datetime, actor: str, note: str = ""
) -> bool:
    """Insert a 督办 once per (ticket, key); True when it is new. Audited like a transition."""
    ins = (
        _insert(session, Supervision)
        .values(ticket_id=row.id, reason=reason, key=key, raised_at=now, note=note)
        .on_conflict_do_nothing(index_elements=["ticket_id", "key"])
    )
    result = await session.execute(ins)
    if result.rowcount != 1:
        return False
    row.supervision_count += 1
    record_event(session, row, at=now, actor=actor, action="supervise", note=f"{reason}{': ' + note if note else ''}")
    return True


async def events(session: AsyncSession, ticket_id: int) -> Sequence[TicketEvent]:
    stmt = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
    return (await session.execute(stmt)).scalars().all()


async def recordings(session: AsyncSession, ticket_id: int) -> Sequence[TicketRecording]:
    stmt = select(TicketRecording).where(TicketRecording.ticket_id == ticket_id).order_by(TicketRecording.id)
    return (await session.execute(stmt)).scalars().all()


async def supervisions(session: AsyncSession, ticket_id: int) -> Sequence[Supervision]:
    stmt = select(Supervision).where(Supervision.ticket_id == ticket_id).order_by(Supervision.id)
    return (await session.execute(stmt)).scalars().all()


async def recent_by_caller(
    session: AsyncSession, caller: str, since: datetime, exclude_id: int
) -> Sequence[Ticket]:
    stmt = (
        select(Ticket)
        .where(
            Ticket.caller == caller, Ticket.accepted_at >= since, Ticket.id != exclude_id, Ticket.text != ""
        )
        .order_by(Ticket.id)
    )
    return (await session.execute(stmt)).scalars().all()


async def bump_repeat(session: AsyncSession, root_id: int) -> int:
    stmt = (
        update(Ticket)
        .where(Ticket.id == root_id)
        .values(repeat_count=Ticket.repeat_count + 1, version=Ticket.version + 1)
        .returning(Ticket.repeat_count)
        .execution_options(synchronize_session=False)
    )
    return int((await session.execute(stmt)).scalar_one())


@dataclass(frozen=True)
class TicketFilter:
    status: tuple[str, ...] = ()
    department: str | None = None  # lead or co-handling
    ticket_type: str | None = None
    category: str | None = None
    caller: str | None = None
    accepted_from: datetime | None = None
    accepted_to: datetime | None = None
    supervised: bool | None = None
    limit: int = 100
    offset: int = 0


def _department_clause(department: str) -> object:
    co = select(TicketCoDepartment.ticket_id).where(TicketCoDepartment.department == department)
    return or_(Ticket.lead_department == department, Ticket.id.in_(co))


async def search(session: AsyncSession, f: TicketFilter) -> Sequence[Ticket]:
    stmt = select(Ticket)
    if f.status:
        stmt = stmt.where(Ticket.status.in_(f.status))
    if f.department:
        stmt = stmt.where(_department_clause(f.department))
    if f.ticket_type:
        stmt = stmt.where(Ticket.ticket_type == f.ticket_type)
    if f.category:
        stmt = stmt.where(Ticket.category == f.category)
    if f.caller:
        stmt = stmt.where(Ticket.caller == f.caller)
    if f.accepted_from:
        stmt = stmt.where(Ticket.accepted_at >= f.accepted_from)
    if f.accepted_to:
        stmt = stmt.where(Ticket.accepted_at < f.accepted_to)
    if f.supervised is not None:
        stmt = stmt.where((Ticket.supervision_count > 0) if f.supervised else (Ticket.supervision_count == 0))
    stmt = stmt.order_by(Ticket.id.desc()).limit(f.limit).offset(f.offset)
    return (await session.execute(stmt)).scalars().all()


async def open_ids(session: AsyncSession, statuses: Sequence[str]) -> list[int]:
    return list((await session.execute(select(Ticket.id).where(Ticket.status.in_(statuses)))).scalars())


async def visits(session: AsyncSession, ticket_id: int) -> Sequence[ReturnVisit]:
    stmt = select(ReturnVisit).where(ReturnVisit.ticket_id == ticket_id).order_by(ReturnVisit.round)
    return (await session.execute(stmt)).scalars().all()


async def count(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count(Ticket.id)))).scalar_one())
