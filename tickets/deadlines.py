"""Due times from a policy and a working-day calendar. Pure: every function takes its reference time.

Times are naive China Standard Time (UTC+8, no daylight saving): the calendar's days are
Beijing days, so aware inputs are converted with `to_local` at the edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from tickets.calendar import WorkCalendar
from tickets.policy import Duration, Policy

CST = timezone(timedelta(hours=8), "CST")
# "Close" of a working day: the last second of it. Seeds say "N个工作日内办结" without an hour.
DAY_CLOSE = time(23, 59, 59)


def to_local(moment: datetime) -> datetime:
    """Aware -> naive Beijing time; naive values are taken as Beijing time already."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(CST).replace(tzinfo=None)


def close_of(day: date) -> datetime:
    return datetime.combine(day, DAY_CLOSE)


def due_after(calendar: WorkCalendar, start: datetime, duration: Duration) -> datetime:
    """Working days end at the close of the Nth working day after `start`'s day; clock units add time."""
    if duration.unit == "wd":
        return close_of(calendar.add_workdays(start.date(), duration.amount))
    if duration.unit == "h":
        return start + timedelta(hours=duration.amount)
    if duration.unit == "m":
        return start + timedelta(minutes=duration.amount)
    return start + timedelta(days=duration.amount)


def dispatch_due(policy: Policy, calendar: WorkCalendar, accepted_at: datetime) -> datetime:
    rule = policy.dispatch
    if rule.cutoff is not None and rule.next_day_by is not None:
        if accepted_at.time() < rule.cutoff:
            return close_of(accepted_at.date())
        return datetime.combine(accepted_at.date() + timedelta(days=1), rule.next_day_by)
    return due_after(calendar, accepted_at, rule.limit)


def sign_due(policy: Policy, calendar: WorkCalendar, dispatched_at: datetime) -> datetime | None:
    return None if policy.sign is None else due_after(calendar, dispatched_at, policy.sign.limit)


def return_due(
    policy: Policy,
    calendar: WorkCalendar,
    *,
    dispatched_at: datetime,
    signed_at: datetime | None,
    level: str,
) -> datetime | None:
    """End of the window in which a department may return a ticket as not its duty."""
    rule = policy.return_window
    if rule is None:
        return None
    start = signed_at if (rule.start == "signed" and signed_at is not None) else dispatched_at
    limit = rule.complex_limit if (rule.complex_limit and policy.levels[level].complex) else rule.limit
    return due_after(calendar, start, limit)


def handle_due(policy: Policy, calendar: WorkCalendar, dispatched_at: datetime, level: str) -> datetime:
    """Handling counts from the department's receipt of the dispatched ticket (自接到转办工单之日起)."""
    return due_after(calendar, dispatched_at, policy.levels[level].limit)


def extension_cap(policy: Policy, level: str) -> Duration:
    """The longest single extension: fixed, or the original limit (Ganzhou's "不得超过办理期限的一倍")."""
    each = policy.extension.max_each
    return policy.levels[level].limit if each == "original" else each


@dataclass(frozen=True)
class DeadlineSheet:
    """All due times for a ticket accepted, dispatched and signed at `start` (for admins checking a policy)."""

    policy: str
    ticket_type: str
    level: str
    start: datetime
    dispatch_due: datetime
    sign_due: datetime | None
    return_due: datetime | None
    handle_due: datetime
    handle_due_max_extended: datetime
    max_extensions: int

    def as_dict(self) -> dict[str, object]:
        def iso(v: datetime | None) -> str | None:
            return None if v is None else v.replace(tzinfo=CST).isoformat()

        return {
            "policy": self.policy,
            "type": self.ticket_type,
            "level": self.level,
            "from": iso(self.start),
            "dispatch_due": iso(self.dispatch_due),
            "sign_due": iso(self.sign_due),
            "return_due": iso(self.return_due),
            "handle_due": iso(self.handle_due),
            "handle_due_max_extended": iso(self.handle_due_max_extended),
            "max_extensions": self.max_extensions,
        }


def deadline_sheet(
    policy: Policy,
    calendar: WorkCalendar,
    ticket_type: str,
    start: datetime,
    *,
    level: str | None = None,
    co_departments: int = 0,
) -> DeadlineSheet:
    start = to_local(start)
    lvl = policy.level_for(ticket_type, level=level, co_departments=co_departments)
    due = handle_due(policy, calendar, start, lvl)
    extended = due
    cap = extension_cap(policy, lvl)
    total_left = policy.extension.max_total
    for _ in range(policy.extension.max_count):
        step = cap
        if total_left is not None and total_left.unit == step.unit:
            step = Duration(min(step.amount, total_left.amount), step.unit)
            total_left = Duration(total_left.amount - step.amount, total_left.unit)
        if step.amount == 0:
            break
        extended = due_after(calendar, extended, step)
    return DeadlineSheet(
        policy=policy.name,
        ticket_type=ticket_type,
        level=lvl,
        start=start,
        dispatch_due=dispatch_due(policy, calendar, start),
        sign_due=sign_due(policy, calendar, start),
        return_due=return_due(policy, calendar, dispatched_at=start, signed_at=start, level=lvl),
        handle_due=due,
        handle_due_max_extended=extended,
        max_extensions=policy.extension.max_count,
    )
