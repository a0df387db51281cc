"""Counts the wallboard and /metrics show: tickets by status, overdue, under supervision (督办).

Overdue has the sweep's meaning (tickets.state.overdue_reasons): accepted past its dispatch
deadline, dispatched past its sign deadline, or with the department past its handling
deadline. Computed in SQL, one round trip per figure, so it stays cheap on a large store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from tickets.models import Ticket
from tickets.state import OPEN_STATUSES, WITH_DEPARTMENT, Status


@dataclass(frozen=True)
class TicketSummary:
    by_status: dict[str, int] = field(default_factory=dict)
    overdue: int = 0
    supervised_open: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"by_status": self.by_status, "overdue": self.overdue, "supervised_open": self.supervised_open,
                "open": sum(n for s, n in self.by_status.items() if s in OPEN_STATUSES)}


def overdue_clause(now: datetime):  # noqa: ANN201 - a SQLAlchemy boolean clause
    return or_(
        and_(Ticket.status == Status.ACCEPTED.value, Ticket.dispatch_due < now),
        and_(Ticket.status == Status.DISPATCHED.value, Ticket.sign_due < now),
        and_(Ticket.status.in_([s.value for s in WITH_DEPARTMENT]), Ticket.handle_due < now),
    )


async def ticket_summary(sessionmaker: async_sessionmaker, now: datetime) -> TicketSummary:
    """`now` is naive Beijing time, as the store keeps it (TicketService.now())."""
    open_values = [s.value for s in OPEN_STATUSES]
    async with sessionmaker() as s:
        rows = (await s.execute(select(Ticket.status, func.count()).group_by(Ticket.status))).all()
        overdue = await s.scalar(select(func.count()).select_from(Ticket).where(overdue_clause(now)))
        supervised = await s.scalar(
            select(func.count()).select_from(Ticket)
            .where(Ticket.status.in_(open_values), Ticket.supervision_count > 0)
        )
    by_status = {st.value: 0 for st in Status}
    by_status.update({status: n for status, n in rows})
    return TicketSummary(by_status=by_status, overdue=overdue or 0, supervised_open=supervised or 0)
