"""Export tickets as JSON lines for the provincial platform (format in tickets/EXPORT.md)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from infra.phone import mask_phones
from tickets.models import Supervision, Ticket, TicketEvent
from tickets.views import iso

SCHEMA = "hotline12345.ticket/1"
BATCH = 500


def ticket_record(
    t: Ticket,
    *,
    events: list[TicketEvent],
    supervisions: list[Supervision],
    repeat_of: str | None,
    mask: bool,
) -> dict[str, object]:
    m = mask_phones if mask else (lambda s: s)
    return {
        "schema": SCHEMA,
        "number": t.number,
        "channel": t.channel,
        "caller": m(t.caller),
        "line": t.line_number,
        "type": t.ticket_type,
        "category": m(t.category),
        "title": m(t.title),
        "text": m(t.text),
        "status": t.status,
        "policy": t.policy,
        "level": t.level,
        "lead_department": None if t.lead_department is None else m(t.lead_department),
        "co_departments": [m(d) for d in t.co_departments or ()],
        "accepted_at": iso(t.accepted_at),
        "dispatched_at": iso(t.dispatched_at),
        "signed_at": iso(t.signed_at),
        "replied_at": iso(t.replied_at),
        "closed_at": iso(t.closed_at),
        "due": {
            "dispatch": iso(t.dispatch_due),
            "sign": iso(t.sign_due),
            "return": iso(t.return_due),
            "handle": iso(t.handle_due),
            "handle_original": iso(t.original_handle_due),
        },
        "on_time": None if t.replied_at is None or t.handle_due is None else t.replied_at <= t.handle_due,
        "extensions": t.extension_count,
        "returns": t.return_count,
        "redos": t.redo_count,
        "closure": t.closure,
        "satisfaction": t.satisfaction,
        "reply": None if t.reply is None else m(t.reply),
        "repeat_of": repeat_of,
        "supervisions": [{"reason": s.reason, "at": iso(s.raised_at)} for s in supervisions],
        "history": [
            {
                "at": iso(e.at),
                "actor": m(e.actor),
                "action": e.action,
                "from": e.from_status,
                "to": e.to_status,
                "note": m(e.note),
            }
            for e in events
        ],  # fmt: skip
    }


async def iter_records(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    mask: bool = True,
) -> AsyncIterator[dict[str, object]]:
    """Records in ticket id order, read in batches so a year's export never sits in memory."""
    last_id = 0
    while True:
        async with sessionmaker() as session:
            stmt = select(Ticket).where(Ticket.id > last_id).order_by(Ticket.id).limit(BATCH)
            if start is not None:
                stmt = stmt.where(Ticket.accepted_at >= start)
            if end is not None:
                stmt = stmt.where(Ticket.accepted_at < end)
            tickets = list((await session.execute(stmt)).scalars())
            if not tickets:
                return
            ids = [t.id for t in tickets]
            events: dict[int, list[TicketEvent]] = {i: [] for i in ids}
            for e in (
                await session.execute(
                    select(TicketEvent).where(TicketEvent.ticket_id.in_(ids)).order_by(TicketEvent.id)
                )
            ).scalars():
                events[e.ticket_id].append(e)
            sups: dict[int, list[Supervision]] = {i: [] for i in ids}
            for s in (
                await session.execute(
                    select(Supervision).where(Supervision.ticket_id.in_(ids)).order_by(Supervision.id)
                )
            ).scalars():
                sups[s.ticket_id].append(s)
            roots = {t.repeat_of_id for t in tickets if t.repeat_of_id}
            numbers: dict[int | None, str] = {}
            if roots:
                pairs = await session.execute(select(Ticket.id, Ticket.number).where(Ticket.id.in_(roots)))
                numbers = {ticket_id: number for ticket_id, number in pairs}
        for t in tickets:
            yield ticket_record(
                t,
                events=events[t.id],
                supervisions=sups[t.id],
                repeat_of=numbers.get(t.repeat_of_id),
                mask=mask,
            )
        last_id = ids[-1]


async def export_jsonl(
    sessionmaker: async_sessionmaker[AsyncSession],
    out: TextIO,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    mask: bool = True,
) -> int:
    count = 0
    async for record in iter_records(sessionmaker, start=start, end=end, mask=mask):
        out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        count += 1
    return count
