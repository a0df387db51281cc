"""After a restart: count and ticket the queue calls the engine did not see, from Asterisk's queue_log.

While the engine is down the dialplan still sends callers to the line's fallback queue and
agents still answer them; app_queue records each call in queue_log. `reconcile` reads the last
24 hours of it and, for every settled call,
- records its outcome in queue_call_outcomes (what the 24-hour tracker is loaded from) unless
  the queue manager already recorded that uniqueid;
- opens a ticket for every answered call that has none (the uniqueid is the ticket's call_id, as
  for calls the IVR ticketed), route `reconciled:<queue>`, created by actor `reconcile`.
Running it again finds everything recorded and changes nothing. The engine runs it at start
(before the tracker is loaded from the table) and again every minute, counting then only calls
that joined before the queue manager started listening (a fallback caller still waiting at the
restart is settled later, unseen by the live tracker); those are added to the live tracker too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_queue import queue_log
from agent_queue.models import QueueCallOutcomeRow
from agent_queue.services import SlaStore
from agent_queue.sla import DAY, CallOutcome
from infra.logs import log_event
from tickets.models import Ticket
from tickets.services import TicketService

log = logging.getLogger(__name__)

ACTOR = "reconcile"


@dataclass(frozen=True)
class Reconciled:
    seen: int  # settled calls in the window
    counted: int  # outcomes added to the tracker's table
    ticketed: int  # tickets opened for answered calls
    outcomes: tuple[CallOutcome, ...] = ()  # the ones counted, for a tracker already loaded


async def reconcile(
    path: Path,
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    tickets: TicketService,
    now: float,
    window_s: float = DAY,
    joined_before: float | None = None,
) -> Reconciled:
    """`joined_before`: count only calls that entered their queue before then (the moment the
    live queue manager started listening: it can have seen no such call join, so it never
    records them itself and nothing is counted twice). None: count every call."""
    calls = queue_log.read(path, since=now - window_s)
    uids = sorted({c.uniqueid for c in calls})
    async with sessionmaker() as session:
        counted_before = set(
            await session.scalars(select(QueueCallOutcomeRow.uniqueid).where(QueueCallOutcomeRow.uniqueid.in_(uids)))
        ) if uids else set()  # fmt: skip
        ticketed_before = set(
            await session.scalars(select(Ticket.call_id).where(Ticket.call_id.in_(uids)))
        ) if uids else set()  # fmt: skip
    store = SlaStore(sessionmaker)
    ticketed = 0
    outcomes: list[CallOutcome] = []
    for call in calls:
        if call.uniqueid not in counted_before and (joined_before is None or call.entered_at < joined_before):
            outcome = call.outcome()
            await store.save(outcome)
            counted_before.add(call.uniqueid)
            outcomes.append(outcome)
        if call.answered and call.uniqueid not in ticketed_before:
            await tickets.create(
                channel="phone", caller=call.caller_id, call_id=call.uniqueid, route=f"reconciled:{call.queue}",
                actor=ACTOR,
            )  # fmt: skip
            ticketed_before.add(call.uniqueid)
            ticketed += 1
    result = Reconciled(len(calls), len(outcomes), ticketed, tuple(outcomes))
    log_event(log, "queue_log reconciled", file=str(path), seen=result.seen, counted=result.counted,
              ticketed=ticketed)  # fmt: skip
    return result
