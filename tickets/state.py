"""The ticket workflow as an explicit state machine. Pure: no database, no clock (`now` is passed in).

`apply(ticket, action, now=..., policy=..., calendar=...)` returns an `Outcome` (the new snapshot,
the audit note and any supervision reasons) or raises IllegalTransition / GuardFailed. The
caller persists the outcome; a refused action changes nothing because nothing is returned.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from tickets.calendar import WorkCalendar
from tickets.deadlines import due_after, extension_cap, handle_due, return_due, sign_due
from tickets.exceptions import GuardFailed, IllegalTransition, InvalidInput
from tickets.policy import Duration, Policy


class Status(enum.StrEnum):
    ACCEPTED = "accepted"  # 受理: a ticket exists, the caller may still be in the IVR or queue
    ABANDONED = "abandoned"  # caller hung up in the IVR before anyone took the matter
    NOT_ACCEPTED = "not_accepted"  # 不予受理 (outside the hotline's scope; explained to the caller)
    DISPATCHED = "dispatched"  # 派单/转办 to a lead department
    SIGNED = "signed"  # 签收
    RETURNED = "returned"  # 退单: the department says it is not its duty; waits for re-dispatch
    HANDLING = "handling"  # 办理
    EXTENSION_REQUESTED = "extension_requested"  # 延期申请 pending
    REPLIED = "replied"  # 答复/反馈: waits for the return visit
    VISITING = "visiting"  # 回访 under way
    CLOSED = "closed"  # 办结
    ARCHIVED = "archived"  # 归档


OPEN_STATUSES = frozenset(
    {
        Status.ACCEPTED,
        Status.DISPATCHED,
        Status.SIGNED,
        Status.RETURNED,
        Status.HANDLING,
        Status.EXTENSION_REQUESTED,
        Status.REPLIED,
        Status.VISITING,
    }
)
# The department holds the ticket (its handling clock runs) in these.
WITH_DEPARTMENT = frozenset({Status.DISPATCHED, Status.SIGNED, Status.HANDLING, Status.EXTENSION_REQUESTED})


class Closure(enum.StrEnum):
    DIRECT = "direct"  # 直办: answered by the agent (knowledge base)
    SATISFIED = "satisfied"  # 满意
    BASIC = "basically_satisfied"  # 基本满意
    LAWFUL = "lawful_reply"  # 答复符合法律法规和政策规定 (citizen unsatisfied, demand unreasonable)


class Satisfaction(enum.StrEnum):
    SATISFIED = "satisfied"
    BASIC = "basically_satisfied"
    UNSATISFIED = "unsatisfied"


SURVEY_DIGITS = {"1": Satisfaction.SATISFIED, "2": Satisfaction.BASIC, "3": Satisfaction.UNSATISFIED}


@dataclass(frozen=True)
class TicketState:
    """What the workflow needs to decide; persisted by the repository."""

    status: Status
    ticket_type: str
    level: str
    accepted_at: datetime
    lead_department: str | None = None
    co_departments: tuple[str, ...] = ()
    dispatched_at: datetime | None = None
    signed_at: datetime | None = None
    replied_at: datetime | None = None
    closed_at: datetime | None = None
    dispatch_due: datetime | None = None
    sign_due: datetime | None = None
    return_due: datetime | None = None
    handle_due: datetime | None = None
    original_handle_due: datetime | None = None
    extension_count: int = 0
    extension_days: int = 0
    pending_extension: int = 0
    return_count: int = 0
    redo_count: int = 0
    closure: Closure | None = None
    satisfaction: Satisfaction | None = None
    reply: str | None = None


# ---- actions: one frozen dataclass each; `actor_department` is set when a department acts ----


@dataclass(frozen=True)
class Action:
    actor_department: str | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class Dispatch(Action):
    department: str
    co_departments: tuple[str, ...] = ()
    level: str | None = None


@dataclass(frozen=True)
class CloseDirect(Action):
    answer: str


@dataclass(frozen=True)
class Abandon(Action):
    stage: str


@dataclass(frozen=True)
class NotAccept(Action):
    matter: str


@dataclass(frozen=True)
class Sign(Action):
    pass


@dataclass(frozen=True)
class Return(Action):
    reason: str


@dataclass(frozen=True)
class StartHandling(Action):
    pass


@dataclass(frozen=True)
class RequestExtension(Action):
    working_days: int
    reason: str


@dataclass(frozen=True)
class ApproveExtension(Action):
    pass


@dataclass(frozen=True)
class RejectExtension(Action):
    reason: str = ""


@dataclass(frozen=True)
class Reply(Action):
    text: str


@dataclass(frozen=True)
class StartVisit(Action):
    pass


@dataclass(frozen=True)
class VisitResult(Action):
    satisfaction: Satisfaction


@dataclass(frozen=True)
class CloseLawful(Action):
    """Supervisor: the citizen is unsatisfied but the reply is lawful and the demand unreasonable."""

    note: str


@dataclass(frozen=True)
class Archive(Action):
    pass


ACTION_NAMES: dict[type[Action], str] = {
    Dispatch: "dispatch",
    CloseDirect: "close_direct",
    Abandon: "abandon",
    NotAccept: "not_accept",
    Sign: "sign",
    Return: "return",
    StartHandling: "start_handling",
    RequestExtension: "request_extension",
    ApproveExtension: "approve_extension",
    RejectExtension: "reject_extension",
    Reply: "reply",
    StartVisit: "start_visit",
    VisitResult: "visit_result",
    CloseLawful: "close_lawful",
    Archive: "archive",
}

# Where each action may start. Anything else is an illegal transition.
ALLOWED_FROM: dict[type[Action], frozenset[Status]] = {
    Dispatch: frozenset({Status.ACCEPTED, Status.RETURNED}),
    CloseDirect: frozenset({Status.ACCEPTED}),
    Abandon: frozenset({Status.ACCEPTED}),
    NotAccept: frozenset({Status.ACCEPTED}),
    Sign: frozenset({Status.DISPATCHED}),
    Return: frozenset({Status.DISPATCHED, Status.SIGNED}),
    StartHandling: frozenset({Status.SIGNED}),
    RequestExtension: frozenset({Status.SIGNED, Status.HANDLING}),
    ApproveExtension: frozenset({Status.EXTENSION_REQUESTED}),
    RejectExtension: frozenset({Status.EXTENSION_REQUESTED}),
    Reply: frozenset({Status.SIGNED, Status.HANDLING}),
    StartVisit: frozenset({Status.REPLIED, Status.VISITING}),
    VisitResult: frozenset({Status.REPLIED, Status.VISITING}),
    CloseLawful: frozenset({Status.REPLIED, Status.VISITING}),
    Archive: frozenset({Status.CLOSED, Status.ABANDONED, Status.NOT_ACCEPTED}),
}

# Actions only the ticket's lead department (or staff above it) may take.
DEPARTMENT_ACTIONS = frozenset({Sign, Return, StartHandling, RequestExtension, Reply})


@dataclass(frozen=True)
class Outcome:
    state: TicketState
    action: str
    from_status: Status
    note: str
    supervise: tuple[str, ...] = ()


def _text(value: str, name: str) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(f"{name}: must not be empty", field=name)
    return value


def apply(
    ticket: TicketState, action: Action, *, now: datetime, policy: Policy, calendar: WorkCalendar
) -> Outcome:
    kind = type(action)
    name = ACTION_NAMES[kind]
    if ticket.status not in ALLOWED_FROM[kind]:
        allowed = sorted(s.value for s in ALLOWED_FROM[kind])
        raise IllegalTransition(
            f"{name}: not allowed from status {ticket.status.value} (allowed from {allowed})"
        )
    if kind in DEPARTMENT_ACTIONS and action.actor_department is not None:
        if action.actor_department != ticket.lead_department:
            raise GuardFailed(
                f"{name}: department {action.actor_department!r} is not the lead department of this ticket",
                field="department",
            )
    new, note, supervise = _step(ticket, action, now=now, policy=policy, calendar=calendar)
    return Outcome(state=new, action=name, from_status=ticket.status, note=note, supervise=tuple(supervise))


def _dispatched(
    t: TicketState,
    *,
    department: str,
    co: tuple[str, ...],
    level: str,
    now: datetime,
    policy: Policy,
    cal: WorkCalendar,
) -> TicketState:
    due = handle_due(policy, cal, now, level)
    return replace(
        t,
        status=Status.DISPATCHED,
        lead_department=department,
        co_departments=co,
        level=level,
        dispatched_at=now,
        signed_at=None,
        replied_at=None,
        reply=None,
        sign_due=sign_due(policy, cal, now),
        return_due=return_due(policy, cal, dispatched_at=now, signed_at=None, level=level),
        handle_due=due,
        original_handle_due=due,
        extension_count=0,
        extension_days=0,
        pending_extension=0,
        satisfaction=None,
    )


def _step(
    t: TicketState, a: Action, *, now: datetime, policy: Policy, calendar: WorkCalendar
) -> tuple[TicketState, str, list[str]]:
    if isinstance(a, Dispatch):
        department = _text(a.department, "department")
        co = tuple(
            dict.fromkeys(d.strip() for d in a.co_departments if d.strip() and d.strip() != department)
        )
        level = policy.level_for(t.ticket_type, level=a.level, co_departments=len(co))
        new = _dispatched(t, department=department, co=co, level=level, now=now, policy=policy, cal=calendar)
        return new, f"to {department}" + (f" with {', '.join(co)}" if co else ""), []
    if isinstance(a, CloseDirect):
        answer = _text(a.answer, "answer")
        return (
            replace(t, status=Status.CLOSED, closure=Closure.DIRECT, reply=answer, closed_at=now),
            answer,
            [],
        )
    if isinstance(a, Abandon):
        return (
            replace(t, status=Status.ABANDONED, closed_at=now),
            f"abandoned at {_text(a.stage, 'stage')}",
            [],
        )
    if isinstance(a, NotAccept):
        return replace(t, status=Status.NOT_ACCEPTED, closed_at=now), _text(a.matter, "matter"), []
    if isinstance(a, Sign):
        due = return_due(policy, calendar, dispatched_at=t.dispatched_at or now, signed_at=now, level=t.level)
        # Yunnan counts the return window from signing; others keep the window set at dispatch.
        keep = policy.return_window is not None and policy.return_window.start == "dispatched"
        return (
            replace(t, status=Status.SIGNED, signed_at=now, return_due=t.return_due if keep else due),
            "",
            [],
        )
    if isinstance(a, Return):
        reason = _text(a.reason, "reason")
        if t.return_due is not None and now > t.return_due:
            raise GuardFailed(
                f"return: the return window closed at {t.return_due.isoformat(sep=' ')}", field="return_due"
            )
        count = t.return_count + 1
        new = replace(t, status=Status.RETURNED, return_count=count, signed_at=None)
        sup = ["returned-twice"] if count >= policy.supervision.returned_times else []
        return new, reason, sup
    if isinstance(a, StartHandling):
        return replace(t, status=Status.HANDLING), "", []
    if isinstance(a, RequestExtension):
        return _request_extension(t, a, now=now, policy=policy, calendar=calendar)
    if isinstance(a, ApproveExtension):
        assert t.handle_due is not None
        due = due_after(calendar, t.handle_due, Duration(t.pending_extension, "wd"))
        new = replace(
            t,
            status=Status.HANDLING,
            handle_due=due,
            extension_count=t.extension_count + 1,
            extension_days=t.extension_days + t.pending_extension,
            pending_extension=0,
        )
        return new, f"+{t.pending_extension} working days, due {due.isoformat(sep=' ')}", []
    if isinstance(a, RejectExtension):
        return replace(t, status=Status.HANDLING, pending_extension=0), a.reason.strip(), []
    if isinstance(a, Reply):
        text = _text(a.text, "text")
        return replace(t, status=Status.REPLIED, replied_at=now, reply=text), text, []
    if isinstance(a, StartVisit):
        return replace(t, status=Status.VISITING), "", []
    if isinstance(a, VisitResult):
        if a.satisfaction is Satisfaction.UNSATISFIED:
            # 不满意且诉求合理 -> back to the same department, with fresh deadlines.
            assert t.lead_department is not None
            redo = t.redo_count + 1
            new = _dispatched(
                t,
                department=t.lead_department,
                co=t.co_departments,
                level=t.level,
                now=now,
                policy=policy,
                cal=calendar,
            )
            new = replace(new, redo_count=redo, satisfaction=Satisfaction.UNSATISFIED)
            sup = ["redone-twice"] if redo >= policy.supervision.redone_times else []
            return new, f"unsatisfied; re-dispatched to {t.lead_department}", sup
        closure = Closure.SATISFIED if a.satisfaction is Satisfaction.SATISFIED else Closure.BASIC
        new = replace(t, status=Status.CLOSED, closure=closure, satisfaction=a.satisfaction, closed_at=now)
        return new, a.satisfaction.value, []
    if isinstance(a, CloseLawful):
        note = _text(a.note, "note")
        return replace(t, status=Status.CLOSED, closure=Closure.LAWFUL, closed_at=now), note, []
    if isinstance(a, Archive):
        return replace(t, status=Status.ARCHIVED), "", []
    raise IllegalTransition(f"unknown action {type(a).__name__}")


def _request_extension(
    t: TicketState, a: RequestExtension, *, now: datetime, policy: Policy, calendar: WorkCalendar
) -> tuple[TicketState, str, list[str]]:
    rule = policy.extension
    reason = _text(a.reason, "reason")
    if a.working_days < 1:
        raise InvalidInput("working_days: must be at least 1", field="working_days")
    if t.extension_count >= rule.max_count:
        raise GuardFailed(
            f"request_extension: policy {policy.name} allows at most {rule.max_count} extension(s)",
            field="working_days",
        )
    cap = extension_cap(policy, t.level)
    if cap.unit == "wd" and a.working_days > cap.amount:
        raise GuardFailed(
            f"working_days: {a.working_days} exceeds the policy's {cap.amount} working days per extension",
            field="working_days",
        )
    if rule.max_total is not None and t.extension_days + a.working_days > rule.max_total.amount:
        raise GuardFailed(
            f"working_days: total extension would exceed {rule.max_total.amount} working days",
            field="working_days",
        )
    assert t.handle_due is not None
    if now > t.handle_due:
        raise GuardFailed(
            "request_extension: the ticket is already overdue; ask before the due time", field="handle_due"
        )
    if rule.request_within is not None:
        # Ganzhou: "应在工单到期前1个工作日内" - the request belongs to the last working day(s) before due.
        opens = _window_open(calendar, t.handle_due, rule.request_within)
        if now < opens:
            raise GuardFailed(
                f"request_extension: requests open {opens.isoformat(sep=' ')} (within {rule.request_within} before due)",
                field="handle_due",
            )
    new = replace(t, status=Status.EXTENSION_REQUESTED, pending_extension=a.working_days)
    return new, f"{a.working_days} working days: {reason}", []


def _window_open(calendar: WorkCalendar, due: datetime, within: Duration) -> datetime:
    if within.unit != "wd":
        return due - (due_after(calendar, due, within) - due)
    # Start of the Nth working day counted back from the due day.
    day, n = due.date(), within.amount
    while n > 1:
        day -= timedelta(days=1)
        if calendar.is_workday(day):
            n -= 1
    return datetime.combine(day, datetime.min.time())


def overdue_reasons(t: TicketState, now: datetime) -> list[str]:
    """Supervision reasons that depend only on time passing (the sweep calls this)."""
    reasons: list[str] = []
    if t.status == Status.ACCEPTED and t.dispatch_due and now > t.dispatch_due:
        reasons.append("dispatch-overdue")
    if t.status == Status.DISPATCHED and t.sign_due and now > t.sign_due:
        reasons.append("sign-overdue")
    if t.status in WITH_DEPARTMENT and t.handle_due and now > t.handle_due:
        reasons.append("extension-overrun" if t.extension_count else "overdue")
    return reasons
