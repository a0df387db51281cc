"""Live queue service: AMI events -> QueueCore -> AMI actions; agent API; SLA persistence;
the `Dialer` tickets uses for return visits.

Built once in the composition root:
    client = AmiClient.from_settings(settings)
    svc = QueueService(client=client, core=QueueCore(...), store=SlaStore(sessionmaker),
                       notes=tickets_notes, clock=time.time)
    await svc.start()   # loads the last 24 h, subscribes, runs the control loop
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from agent_queue import actions
from agent_queue.ami import AmiClient
from agent_queue.callbacks import CallbackRequest, LogTicketNotes, TicketNotes
from agent_queue.control import (
    AddMember,
    Decision,
    DropCallback,
    OfferCallback,
    PlaceCallback,
    QueueCore,
    RemoveMember,
    SetPenalty,
)
from agent_queue.events import AmiEvent, OriginateFinishedEvent
from agent_queue.exceptions import DialFailed, QueueError
from agent_queue.models import QueueCallOutcomeRow
from agent_queue.sla import CallOutcome, Result
from agent_queue.state import AgentState, default_interface
from infra.logs import log_event
from infra.metrics import Metrics

log = logging.getLogger(__name__)


class Leadership(Protocol):
    """infra.leader.AdvisoryLeader, as the queue manager sees it."""

    is_leader: bool


class SlaStore:
    """Persists settled outcomes so the rolling window survives a restart."""

    def __init__(self, sessionmaker: async_sessionmaker) -> None:
        self._sessions = sessionmaker

    async def save(self, outcome: CallOutcome) -> None:
        async with self._sessions() as s, s.begin():
            s.add(QueueCallOutcomeRow(
                queue=outcome.queue, uniqueid=outcome.uniqueid, offered_at=outcome.offered_at,
                settled_at=outcome.settled_at, wait_s=outcome.wait_s, result=outcome.result.value,
            ))

    async def save_missing(self, outcomes: list[CallOutcome]) -> int:
        """Save the outcomes whose uniqueid has no row yet (a leader's hand-over); how many."""
        if not outcomes:
            return 0
        async with self._sessions() as s, s.begin():
            uids = {o.uniqueid for o in outcomes}
            known = set(await s.scalars(
                select(QueueCallOutcomeRow.uniqueid).where(QueueCallOutcomeRow.uniqueid.in_(uids))))
            missing = [o for o in outcomes if o.uniqueid not in known]
            s.add_all(QueueCallOutcomeRow(
                queue=o.queue, uniqueid=o.uniqueid, offered_at=o.offered_at, settled_at=o.settled_at,
                wait_s=o.wait_s, result=o.result.value) for o in missing)
        return len(missing)

    async def load_since(self, since: float) -> list[CallOutcome]:
        async with self._sessions() as s:
            rows = (await s.scalars(
                select(QueueCallOutcomeRow).where(QueueCallOutcomeRow.settled_at > since)
            )).all()
        return [CallOutcome(r.queue, r.uniqueid, r.offered_at, r.settled_at, r.wait_s, Result(r.result)) for r in rows]


class AmiDialer:
    """tickets' `Dialer` over AMI Originate: rings the citizen, then runs `context`.

    `channel` is a template such as "PJSIP/{number}@trunk"; the number is validated so that
    nothing but digits (and a leading +) reaches the dial string.
    """

    def __init__(self, *, client: AmiClient, channel: str = "PJSIP/{number}@trunk",
                 context: str = "hotline-return-visit", caller_id: str = "12345", ring_s: float = 40.0) -> None:
        self.client, self.channel, self.context = client, channel, context
        self.caller_id, self.ring_s = caller_id, ring_s

    async def originate(self, *, number: str, variables: dict[str, str]) -> None:
        digits = number.removeprefix("+")
        if not digits.isdigit() or not 3 <= len(digits) <= 20:
            raise DialFailed(f"originate: number {number!r} is not a dialable digit string")
        reply = await self.client.send(actions.originate(
            channel=self.channel.format(number=number), context=self.context, caller_id=self.caller_id,
            timeout_s=self.ring_s, variables=variables,
        ), within=self.ring_s + 15)
        done = next((e for e in reply if isinstance(e, OriginateFinishedEvent)), None)
        if done is None or not done.success:
            # Reason codes of Asterisk's originate: 0 no such channel, 1 no answer, 3 ringing
            # timeout, 5 busy, 8 congestion.
            raise DialFailed(f"originate to {number}: not answered (reason {done.reason if done else '?'})")


def decision_queue(d: Decision) -> str:
    if isinstance(d, PlaceCallback | DropCallback):
        return d.request.queue
    return getattr(d, "queue", "")


class QueueService:
    def __init__(self, *, client: AmiClient, core: QueueCore, store: SlaStore | None = None,
                 notes: TicketNotes | None = None, clock: Callable[[], float] = time.time,
                 tick_s: float = 5.0, callback_channel: str = "PJSIP/{number}@trunk",
                 leader: Leadership | None = None, metrics: Metrics | None = None) -> None:
        self.client, self.core, self.store = client, core, store
        self.leader = leader  # several engines: only the leader's decisions reach the PBX
        self._led_at: float | None = None
        self.metrics = metrics or Metrics()
        # What the control loop did, for the wallboard: counts since start and the latest ones.
        self.decision_counts: Counter[str] = Counter()
        self.recent: deque[tuple[float, Decision]] = deque(maxlen=30)
        self.notes = notes or LogTicketNotes()
        self.clock, self.tick_s = clock, tick_s
        self.callback_channel = callback_channel
        self._task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        now = self.clock()
        if self.store is not None:
            self.core.tracker.load(await self.store.load_since(now - self.core.tracker.window_s))
        self.client.subscribe(AmiEvent, self._on_event)
        self._task = asyncio.create_task(self._loop(), name="queue-control")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await asyncio.gather(*self._background, return_exceptions=True)

    async def _take_over(self, handover_s: float = 120.0) -> None:
        """Just became leader: outcomes this engine saw settle while the old leader was dying (or
        before this one's first check) reach the shared table; rows already there are kept."""
        self._led_at = self.clock()
        if self.store is not None:
            added = await self.store.save_missing(self.core.tracker.settled_since(self._led_at - handover_s))
            log_event(log, "queue control taken over", backfilled=added)

    async def _on_event(self, ev: AmiEvent) -> None:
        for outcome in self.core.on_event(ev, self.clock()):
            # Every engine sees every call on AMI; one row per call in the shared table.
            if self.store is not None and (self.leader is None or self.leader.is_leader):
                await self.store.save(outcome)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            if not self.client.connected:
                continue  # decisions would not reach the PBX; the resync will refresh state
            if self.leader is not None and not self.leader.is_leader:
                self._led_at = None
                continue  # another engine controls the queues; this one keeps its board current
            if self.leader is not None and self._led_at is None:
                await self._take_over()
            now = self.clock()
            for d in self.core.tick(now):
                self.metrics.queue_decisions.labels(decision=type(d).__name__, queue=decision_queue(d)).inc()
                self.decision_counts[type(d).__name__] += 1
                self.recent.append((now, d))
                try:
                    await self.apply(d)
                except QueueError as exc:
                    log_event(log, "queue decision not applied", logging.WARNING, decision=type(d).__name__,
                              error=str(exc))

    async def apply(self, d: Decision) -> None:
        match d:
            case AddMember():
                await self.client.send(actions.queue_add(queue=d.queue, interface=self._interface(d.agent_id),
                                                         member_name=d.agent_id, penalty=d.penalty))
            case RemoveMember():
                await self.client.send(actions.queue_remove(queue=d.queue, interface=self._interface(d.agent_id)))
            case SetPenalty():
                await self.client.send(actions.queue_penalty(queue=d.queue, interface=self._interface(d.agent_id),
                                                             penalty=d.penalty))
            case OfferCallback():
                # Nothing to send: the queue's periodic announcement makes the offer ("press 1")
                # and the exit context takes it for callers the IVR marked reachable
                # (HOTLINE_CALLBACK_OK). The decision stays for the simulator's virtual hold.
                pass
            case PlaceCallback():
                task = asyncio.create_task(self._callback(d.request, d.agent_id))
                self._background.add(task)
                task.add_done_callback(self._background.discard)
            case DropCallback():
                await self.notes.note_callback(call_id=d.request.uniqueid, outcome="expired", detail=d.reason)

    def _interface(self, agent_id: str) -> str:
        """The agent's device as the roster (the dialplan's agents[].interface) spells it."""
        agent = self.core.board.agents.get(agent_id)
        return agent.spec.interface if agent is not None else default_interface(agent_id)

    async def _callback(self, req: CallbackRequest, agent_id: str) -> None:
        """Agent first (it is free and reserved), then the citizen, bridged by the dialplan."""
        reached = False
        try:
            reply = await self.client.send(actions.originate(
                channel=self._interface(agent_id), context="hotline-callback", caller_id="12345", timeout_s=30,
                variables={"CALLBACK_DIAL": self.callback_channel.format(number=req.number),
                           "CALLBACK_CALL": req.uniqueid},
            ), within=60)
            reached = any(isinstance(e, OriginateFinishedEvent) and e.success for e in reply)
        except QueueError as exc:
            log_event(log, "callback originate failed", logging.WARNING, call=req.uniqueid, error=str(exc))
        outcome = self.core.callback_finished(req, reached=reached, now=self.clock(), agent_id=agent_id)
        if outcome is not None and self.store is not None:
            await self.store.save(outcome)
        await self.notes.note_callback(call_id=req.uniqueid, outcome="reached" if reached else "not reached",
                                       detail=f"{req.kind.value} attempt {req.attempts} by {agent_id}")

    # -- agent API (the web desktop and supervisors call these) ---------------------------

    async def login(self, agent_id: str, queue: str | None = None) -> None:
        agent = self.core.board.agent(agent_id)
        queues = [queue] if queue else [agent.spec.home_queue]
        for q in queues:
            await self.client.send(actions.queue_add(queue=q, interface=agent.spec.interface, member_name=agent_id))

    async def logout(self, agent_id: str) -> None:
        agent = self.core.board.agent(agent_id)
        for q in list(agent.queues):
            await self.client.send(actions.queue_remove(queue=q, interface=agent.spec.interface))

    async def pause(self, agent_id: str, paused: bool, reason: str = "") -> None:
        agent = self.core.board.agent(agent_id)
        agent.check(AgentState.PAUSED if paused else AgentState.IDLE)
        await self.client.send(actions.queue_pause(interface=agent.spec.interface, paused=paused,
                                                   reason=reason or "api"))
