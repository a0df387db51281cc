"""Read models handed out of the service: plain frozen data, with phone masking decided by the caller."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from infra.phone import mask_phones
from tickets.deadlines import CST
from tickets.models import Supervision, Ticket, TicketEvent, TicketRecording


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.replace(tzinfo=CST).isoformat()


def _m(mask: bool):  # noqa: ANN202
    """Every free-text field goes through this: a number can hide in any of them."""
    return mask_phones if mask else (lambda s: s)


@dataclass(frozen=True)
class TicketRef:
    id: int
    number: str


@dataclass(frozen=True)
class EventView:
    at: datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str
    note: str

    @classmethod
    def of(cls, e: TicketEvent) -> EventView:
        return cls(e.at, e.actor, e.action, e.from_status, e.to_status, e.note)

    def as_dict(self, *, mask: bool = True) -> dict[str, object]:
        return {
            "at": iso(self.at),
            "actor": _m(mask)(self.actor),
            "action": self.action,
            "from": self.from_status,
            "to": self.to_status,
            "note": _m(mask)(self.note),
        }


@dataclass(frozen=True)
class TicketView:
    id: int
    number: str
    status: str
    channel: str
    caller: str
    line_number: str
    call_id: str
    route: str
    department_hint: str
    ticket_type: str
    category: str
    level: str
    title: str
    text: str
    policy: str
    lead_department: str | None
    co_departments: tuple[str, ...]
    accepted_at: datetime
    dispatched_at: datetime | None
    signed_at: datetime | None
    replied_at: datetime | None
    closed_at: datetime | None
    dispatch_due: datetime | None
    sign_due: datetime | None
    return_due: datetime | None
    handle_due: datetime | None
    original_handle_due: datetime | None
    extension_count: int
    return_count: int
    redo_count: int
    closure: str | None
    satisfaction: str | None
    reply: str | None
    repeat_of_id: int | None
    repeat_count: int
    supervision_count: int
    version: int
    history: tuple[EventView, ...] = ()
    recordings: tuple[str, ...] = ()
    supervisions: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        t: Ticket,
        *,
        history: list[TicketEvent] | tuple = (),
        recordings: list[TicketRecording] | tuple = (),
        supervisions: list[Supervision] | tuple = (),
    ) -> TicketView:
        return cls(
            id=t.id,
            number=t.number,
            status=t.status,
            channel=t.channel,
            caller=t.caller,
            line_number=t.line_number,
            call_id=t.call_id,
            route=t.route,
            department_hint=t.department_hint,
            ticket_type=t.ticket_type,
            category=t.category,
            level=t.level,
            title=t.title,
            text=t.text,
            policy=t.policy,
            lead_department=t.lead_department,
            co_departments=tuple(t.co_departments or ()),
            accepted_at=t.accepted_at,
            dispatched_at=t.dispatched_at,
            signed_at=t.signed_at,
            replied_at=t.replied_at,
            closed_at=t.closed_at,
            dispatch_due=t.dispatch_due,
            sign_due=t.sign_due,
            return_due=t.return_due,
            handle_due=t.handle_due,
            original_handle_due=t.original_handle_due,
            extension_count=t.extension_count,
            return_count=t.return_count,
            redo_count=t.redo_count,
            closure=t.closure,
            satisfaction=t.satisfaction,
            reply=t.reply,
            repeat_of_id=t.repeat_of_id,
            repeat_count=t.repeat_count,
            supervision_count=t.supervision_count,
            version=t.version,
            history=tuple(EventView.of(e) for e in history),
            recordings=tuple(r.path for r in recordings),
            supervisions=tuple(s.reason for s in supervisions),
        )

    def as_dict(self, *, mask: bool = True) -> dict[str, object]:
        """JSON-ready; `mask=True` hides the caller's number and every phone-like sequence in any
        free-text field. `line_number` is the public hotline number dialled, not the citizen's."""
        m = _m(mask)
        return {
            "id": self.id,
            "number": self.number,
            "status": self.status,
            "channel": self.channel,
            "caller": m(self.caller),
            "line_number": self.line_number,
            "type": self.ticket_type,
            "category": m(self.category),
            "level": self.level,
            "title": m(self.title),
            "text": m(self.text),
            "policy": self.policy,
            "lead_department": None if self.lead_department is None else m(self.lead_department),
            "co_departments": [m(d) for d in self.co_departments],
            "department_hint": m(self.department_hint),
            "accepted_at": iso(self.accepted_at),
            "dispatched_at": iso(self.dispatched_at),
            "signed_at": iso(self.signed_at),
            "replied_at": iso(self.replied_at),
            "closed_at": iso(self.closed_at),
            "due": {
                "dispatch": iso(self.dispatch_due),
                "sign": iso(self.sign_due),
                "return": iso(self.return_due),
                "handle": iso(self.handle_due),
                "handle_original": iso(self.original_handle_due),
            },
            "extension_count": self.extension_count,
            "return_count": self.return_count,
            "redo_count": self.redo_count,
            "closure": self.closure,
            "satisfaction": self.satisfaction,
            "reply": None if self.reply is None else m(self.reply),
            "repeat_of_id": self.repeat_of_id,
            "repeat_count": self.repeat_count,
            "supervisions": list(self.supervisions),
            "recordings": [m(r) for r in self.recordings],
            "version": self.version,
            "history": [e.as_dict(mask=mask) for e in self.history],
        }
