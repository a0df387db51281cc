"""100% return visits (回访): call the citizen, play a summary, collect 1/2/3 by DTMF, update the ticket.

The outbound call goes through a `Dialer` (agent_queue implements it over AMI Originate). The
survey itself runs in the IVR's survey AGI route, which calls `survey_prompt_text` and then
`record_survey_result`. A visit with no result by its next retry time counts as "no answer"
and is dialled again on the policy's schedule; after the last retry it is left for a supervisor.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select, update

from infra.logs import log_event
from tickets import repository as repo
from tickets.deadlines import due_after
from tickets.exceptions import InvalidInput
from tickets.models import ReturnVisit, Ticket
from tickets.services import TicketService
from tickets.state import SURVEY_DIGITS, StartVisit, Status, VisitResult
from tickets.views import TicketView

log = logging.getLogger(__name__)


class Dialer(Protocol):
    async def originate(self, *, number: str, variables: dict[str, str]) -> None: ...


@dataclass(frozen=True)
class VisitAttempt:
    ticket_id: int
    number: str
    attempt: int
    dialled: bool
    error: str = ""


class ReturnVisitService:
    def __init__(self, *, tickets: TicketService, dialer: Dialer, context: str = "hotline-survey") -> None:
        self.tickets = tickets
        self.dialer = dialer
        # Dialplan context the answered call is sent to; it runs AGI(agi://.../survey).
        self.context = context

    async def run_due(self, *, limit: int = 50) -> list[VisitAttempt]:
        """Dial every visit whose attempt time has come. Call periodically (the engine's scheduler)."""
        now = self.tickets.now()
        sm = self.tickets.sessionmaker
        async with sm() as session:
            stmt = (
                select(ReturnVisit.id)
                .where(ReturnVisit.status.in_(("pending", "calling")), ReturnVisit.next_attempt_at <= now)
                .order_by(ReturnVisit.next_attempt_at)
                .limit(limit)
            )
            ids = list((await session.execute(stmt)).scalars())
        out = []
        for visit_id in ids:
            attempt = await self._attempt(visit_id, now)
            if attempt is not None:
                out.append(attempt)
        return out

    async def _attempt(self, visit_id: int, now: datetime) -> VisitAttempt | None:
        retries = self.tickets.policy.return_visit.retries
        sm = self.tickets.sessionmaker
        async with sm() as session, session.begin():
            # Claim the attempt with one conditional UPDATE: when two engine processes run the
            # scheduler, only one of them matches the row and dials.
            claim = (
                update(ReturnVisit)
                .where(
                    ReturnVisit.id == visit_id,
                    ReturnVisit.status.in_(("pending", "calling")),
                    ReturnVisit.next_attempt_at <= now,
                )
                .values(attempts=ReturnVisit.attempts + 1, last_attempt_at=now, status="calling")
                .execution_options(synchronize_session=False)
            )
            if (await session.execute(claim)).rowcount != 1:
                return None  # taken by another process, or a result arrived meanwhile
            visit = await session.get(ReturnVisit, visit_id, populate_existing=True)
            assert visit is not None
            ticket = await session.get(Ticket, visit.ticket_id)
            assert ticket is not None
            if visit.attempts > len(retries) + 1:
                # The first call and every retry went unanswered: a supervisor decides (e.g. lawful close).
                visit.status = "unreachable"
                visit.attempts -= 1
                visit.next_attempt_at = None
                repo.record_event(session, ticket, at=now, actor="system", action="visit_unreachable",
                                  note=f"{visit.attempts} calls unanswered")
                return None
            wait = retries[min(visit.attempts - 1, len(retries) - 1)]
            # If no survey result arrives before this time the attempt counts as unanswered.
            visit.next_attempt_at = due_after(self.tickets.calendar, now, wait)
            attempt_no, caller, number, ticket_id = visit.attempts, ticket.caller, ticket.number, ticket.id
        if Status(ticket.status) == Status.REPLIED:
            await self.tickets.act(ticket_id, StartVisit(), actor="return-visit")
        if not caller:
            return VisitAttempt(ticket_id, number, attempt_no, False, "no caller number")
        try:
            await self.dialer.originate(
                number=caller,
                variables={
                    "TICKET_ID": str(ticket_id),
                    "TICKET_NUMBER": number,
                    "SURVEY_CONTEXT": self.context,
                },
            )
        except Exception as exc:  # noqa: BLE001 - a failed originate is an unanswered attempt, retried later
            log_event(log, "return visit originate failed", logging.WARNING, ticket=number, error=str(exc))
            return VisitAttempt(ticket_id, number, attempt_no, False, str(exc))
        return VisitAttempt(ticket_id, number, attempt_no, True)

    async def survey_prompt_text(self, ticket_id: int) -> str:
        """What the survey call says before collecting a digit."""
        view = await self.tickets.get(ticket_id, history=False)
        return survey_prompt(view)

    async def record_survey_result(self, ticket_id: int, digit: str) -> TicketView:
        """1 满意 / 2 基本满意 -> closed; 3 不满意 -> back to the lead department with fresh deadlines."""
        satisfaction = SURVEY_DIGITS.get(str(digit).strip())
        if satisfaction is None:
            raise InvalidInput(f"digit: {digit!r} is not 1, 2 or 3", field="digit")
        return await self.tickets.act(ticket_id, VisitResult(satisfaction=satisfaction), actor="return-visit")


def survey_prompt(view: TicketView) -> str:
    d = view.accepted_at
    dept = view.lead_department or "承办单位"
    return (
        f"您好，这里是12345热线回访。您于{d.month}月{d.day}日反映的事项（工单{view.number}），"
        f"{dept}已经答复办理。对办理结果满意请按1，基本满意请按2，不满意请按3。"
    )
