"""The control loop that holds the rolling answer rate at the target (>= 95%).

`QueueCore` is shared by the live service and the simulator: the same typed events go in,
the same decisions come out. Live, services.py turns decisions into AMI actions; in the
simulator, simulator.py applies them to its model of app_queue.

Each tick, per queue:
- project the answer rate: the rolling 24 h figures plus the callers waiting now, each
  expected to be answered with probability exp(-expected_wait / patience) (exponential
  patience, the Erlang A assumption the planner uses too);
- at risk (projection below target + margin, or the last caller's expected wait above
  `risk_wait_s`): widen the pool one tier per `step_s`: agents skilled for the queue, the
  12345 general pool, the parallel lines' seats, experts, then lower their penalties to 0;
- calm for `calm_s` (nobody waiting, projection comfortably above target): narrow one tier;
- offer a call-back (keeps the caller's place) once a caller's expected wait exceeds
  `offer_callback_after_s`;
- when an agent is free, dial the call-back owed to the caller who joined before everybody
  still waiting; abandoned callers with a caller ID are tried when nobody is waiting.
Every decision carries its reason and is logged (numbers masked by the formatter).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from agent_queue.callbacks import CallbackBook, CallbackKind, CallbackRequest, callback_number
from agent_queue.events import (
    AgentConnectedEvent,
    AmiEvent,
    CallerAbandonedEvent,
    CallerJoinedEvent,
    CallerLeftEvent,
    ChannelHungUpEvent,
    VariableSetEvent,
)
from agent_queue.sla import CallOutcome, Result, SlaTracker
from agent_queue.state import AgentSpec, AgentState, Board
from infra.logs import log_event

log = logging.getLogger(__name__)

CALLBACK_VARIABLE = "HOTLINE_CALLBACK"  # set to 1 by the queue's exit context when 1 is pressed


@dataclass(frozen=True, slots=True)
class ControlPolicy:
    target: float = 0.95
    margin: float = 0.01
    aht_s: float = 165.0  # talk + wrap-up, for expected waits
    patience_s: float = 60.0  # mean caller patience (exponential)
    risk_wait_s: float = 30.0
    step_s: float = 30.0
    calm_s: float = 600.0
    offer_callback_after_s: float = 60.0
    callbacks: bool = True
    auto_callback_within_s: float = 1800.0
    leave_grace_s: float = 5.0
    general_queues: frozenset[str] = frozenset({"hotline-general"})
    parallel_queues: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Decision:
    reason: str


@dataclass(frozen=True, slots=True)
class AddMember(Decision):
    queue: str
    agent_id: str
    penalty: int
    tier: int


@dataclass(frozen=True, slots=True)
class RemoveMember(Decision):
    queue: str
    agent_id: str


@dataclass(frozen=True, slots=True)
class SetPenalty(Decision):
    queue: str
    agent_id: str
    penalty: int


@dataclass(frozen=True, slots=True)
class OfferCallback(Decision):
    queue: str
    uniqueid: str
    expected_wait_s: float


@dataclass(frozen=True, slots=True)
class PlaceCallback(Decision):
    request: CallbackRequest
    agent_id: str


@dataclass(frozen=True, slots=True)
class DropCallback(Decision):
    request: CallbackRequest


TIER_NAMES = ("skilled", "general-pool", "parallel-lines", "experts", "penalty-0")


def overflow_tiers(queue: str, specs: Iterable[AgentSpec], policy: ControlPolicy) -> list[list[str]]:
    """Agents who may be added to `queue`, tier by tier; an agent appears in its first tier only."""
    specs = [s for s in specs if s.home_queue != queue]
    tiers: list[list[str]] = [
        [s.id for s in specs if queue in s.skills],
        [s.id for s in specs if s.home_queue in policy.general_queues],
        [s.id for s in specs if s.home_queue in policy.parallel_queues],
        [s.id for s in specs if s.expert],
    ]
    seen: set[str] = set()
    out = []
    for tier in tiers:
        out.append([a for a in tier if not (a in seen or seen.add(a))])  # type: ignore[func-returns-value]
    return out


@dataclass
class _QueueCtl:
    level: int = 0  # tiers added so far
    last_step: float = -math.inf
    calm_since: float | None = None
    added: dict[str, int] = field(default_factory=dict)  # agent -> tier
    penalties_zero: bool = False


@dataclass(slots=True)
class _Open:
    queue: str
    joined_at: float
    caller_id: str
    left_at: float | None = None
    callback: bool = False


class QueueCore:
    def __init__(self, *, specs: Iterable[AgentSpec], tracker: SlaTracker, policy: ControlPolicy,
                 book: CallbackBook | None = None) -> None:
        self.specs = {s.id: s for s in specs}
        self.board = Board(self.specs.values())
        self.tracker = tracker
        self.policy = policy
        self.book = book or CallbackBook()
        self.open: dict[str, _Open] = {}
        self.offered: set[str] = set()
        self._ctl: dict[str, _QueueCtl] = {}
        self._tiers: dict[str, list[list[str]]] = {}
        self.decisions = 0

    # -- events --------------------------------------------------------------------------

    def on_event(self, ev: AmiEvent, now: float) -> list[CallOutcome]:
        self.board.apply(ev, now)
        out: list[CallOutcome] = []
        match ev:
            case CallerJoinedEvent():
                self.open[ev.uniqueid] = _Open(ev.queue, now, ev.caller_id)
            case AgentConnectedEvent():
                call = self.open.pop(ev.uniqueid, None)
                if call is not None:
                    out.append(self._settle(ev.uniqueid, call, now, float(ev.hold_time), Result.ANSWERED))
            case CallerAbandonedEvent():
                call = self.open.pop(ev.uniqueid, None)
                if call is not None and not call.callback:
                    out.append(self._settle(ev.uniqueid, call, now, float(ev.hold_time), Result.ABANDONED))
                    self._owe_abandoned(ev.uniqueid, call, ev.caller_id or call.caller_id, ev.hold_time, now)
            case CallerLeftEvent():
                call = self.open.get(ev.uniqueid)
                if call is not None:
                    call.left_at = now
            case ChannelHungUpEvent():
                call = self.open.get(ev.uniqueid)
                if call is not None and call.left_at is None and not call.callback:
                    call.left_at = now  # hung up outside app_queue's view (e.g. during a prompt)
            case VariableSetEvent() if ev.variable == CALLBACK_VARIABLE and ev.value == "1":
                self.accept_callback(ev.uniqueid, now)
            case _:
                pass
        return out

    def accept_callback(self, uniqueid: str, now: float) -> CallbackRequest | None:
        call = self.open.get(uniqueid)
        number = callback_number(call.caller_id) if call is not None else None
        if call is None or number is None:
            return None
        call.callback = True
        req = CallbackRequest(
            kind=CallbackKind.KEEP_PLACE, queue=call.queue, uniqueid=uniqueid, number=number,
            joined_at=call.joined_at, requested_at=now, due_by=now + 4 * 3600,
        )
        self.book.add(req)
        self._log("callback accepted", queue=call.queue, call=uniqueid, number=number,
                  reason="caller pressed 1; keeps place of " + f"{now - call.joined_at:.0f}s wait")
        return req

    def callback_finished(
        self, req: CallbackRequest, *, reached: bool, now: float, agent_id: str = ""
    ) -> CallOutcome | None:
        """An originated call-back ended; the reserved agent goes to wrap-up (or idle)."""
        if agent_id in self.board.agents:
            agent = self.board.agents[agent_id]
            if agent.state is AgentState.RINGING:
                agent.move(AgentState.WRAPUP if reached else AgentState.IDLE, now)
                agent.wrapup_until = now + (agent.spec.wrapup_s if reached else 0.0)
        settled = self.book.finished(req, reached=reached, now=now)
        self._log("callback attempt ended", queue=req.queue, call=req.uniqueid, number=req.number,
                  reached=reached, attempt=req.attempts, settled=settled)
        if req.kind is not CallbackKind.KEEP_PLACE or not settled:
            return None
        call = self.open.pop(req.uniqueid, None)
        if call is None:
            return None
        result = Result.CALLBACK_ANSWERED if reached else Result.CALLBACK_FAILED
        return self._settle(req.uniqueid, call, now, now - call.joined_at, result)

    def _settle(self, uid: str, call: _Open, now: float, wait: float, result: Result) -> CallOutcome:
        self.offered.discard(uid)
        outcome = CallOutcome(call.queue, uid, call.joined_at, now, wait, result)
        self.tracker.record(outcome)
        return outcome

    def _owe_abandoned(self, uid: str, call: _Open, number: str, waited: float, now: float) -> None:
        p = self.policy
        dial = callback_number(number)
        if not p.callbacks or dial is None or waited < self.tracker.short_abandon_s:
            return
        req = CallbackRequest(
            kind=CallbackKind.ABANDONED, queue=call.queue, uniqueid=uid, number=dial, joined_at=call.joined_at,
            requested_at=now, due_by=now + p.auto_callback_within_s,
        )
        if self.book.add(req):
            # DEBUG: every caller who gives up is owed one; the attempt itself is logged at INFO.
            log_event(log, "abandoned caller owed a call-back", logging.DEBUG, queue=call.queue, call=uid, number=dial,
                      reason=f"hung up after {waited:.0f}s with caller ID", due_in_s=p.auto_callback_within_s)

    # -- control -------------------------------------------------------------------------

    def expected_wait(self, queue: str, position: int, now: float = 0.0) -> float:
        """Seconds until the caller at `position` is answered: free agents take the first
        callers at once, then one serving member frees up every aht/serving seconds."""
        free = len(self.board.free_agents(queue, now))
        if position <= free:
            return 0.0
        serving = sum(1 for a in self.board.members(queue) if a.state is not AgentState.PAUSED)
        return (position - free) * self.policy.aht_s / max(1, serving)

    def projected_rate(self, queue: str, now: float) -> float:
        waiters = self.board.waiting_in(queue)
        expected = sum(
            math.exp(-self.expected_wait(queue, i + 1, now) / self.policy.patience_s) for i in range(len(waiters))
        )
        return self.tracker.projected_rate(now, open_calls=len(waiters), expected_answered=expected, queue=queue)

    def tick(self, now: float) -> list[Decision]:
        out: list[Decision] = []
        # Settle callers who left the queue without an answer, abandon or call-back.
        for uid, call in list(self.open.items()):
            if call.left_at is not None and not call.callback and now - call.left_at >= self.policy.leave_grace_s:
                del self.open[uid]
                self._settle(uid, call, now, call.left_at - call.joined_at, Result.ABANDONED)
        queues = sorted(self.board.queues() | {w.queue for w in self.board.waiting.values()})
        for q in queues:
            out.extend(self._control_queue(q, now))
        if self.policy.callbacks:
            out.extend(self._callbacks(now))
        for d in out:
            self._log_decision(d)
        self.decisions += len(out)
        return out

    def _control_queue(self, q: str, now: float) -> list[Decision]:
        p = self.policy
        ctl = self._ctl.setdefault(q, _QueueCtl())
        waiters = self.board.waiting_in(q)
        projected = self.projected_rate(q, now)
        last_wait = self.expected_wait(q, len(waiters), now) if waiters else 0.0
        out: list[Decision] = []
        at_risk = projected < p.target + p.margin or last_wait > p.risk_wait_s
        if waiters and at_risk:
            ctl.calm_since = None
            if now - ctl.last_step >= p.step_s:
                why = f"projected {projected:.3f} vs target {p.target:.2f}; {len(waiters)} waiting, last expects {last_wait:.0f}s"
                out.extend(self._widen(q, ctl, now, why))
        elif not waiters and projected >= p.target + p.margin and ctl.level > 0:
            ctl.calm_since = now if ctl.calm_since is None else ctl.calm_since
            if now - ctl.calm_since >= p.calm_s:
                out.extend(self._narrow(q, ctl, now, f"calm {now - ctl.calm_since:.0f}s, projected {projected:.3f}"))
                ctl.calm_since = now
        if p.callbacks:
            for i, w in enumerate(waiters):
                ew = self.expected_wait(q, i + 1, now)
                if (w.uniqueid not in self.offered and ew > p.offer_callback_after_s
                        and callback_number(w.caller_id) is not None):
                    self.offered.add(w.uniqueid)
                    out.append(OfferCallback(f"expected wait {ew:.0f}s > {p.offer_callback_after_s:.0f}s",
                                             q, w.uniqueid, ew))
        return out

    def _tiers_for(self, q: str) -> list[list[str]]:
        if q not in self._tiers:
            self._tiers[q] = overflow_tiers(q, self.specs.values(), self.policy)
        return self._tiers[q]

    def _widen(self, q: str, ctl: _QueueCtl, now: float, why: str) -> list[Decision]:
        # Tiers are re-read every step: an agent whose shift starts later joins then.
        for tier, ids in enumerate(self._tiers_for(q)):
            ready = [
                a for a in ids
                if a not in ctl.added and self.board.agent(a).state is not AgentState.LOGGED_OUT
                and q not in self.board.agent(a).queues
            ]
            if ready:
                ctl.level = max(ctl.level, tier + 1)
                ctl.last_step = now
                for a in ready:
                    ctl.added[a] = tier
                return [AddMember(f"{why}; add tier {TIER_NAMES[tier]}", q, a, tier + 1, tier) for a in ready]
        if ctl.added and not ctl.penalties_zero:
            ctl.penalties_zero = True
            ctl.last_step = now
            return [SetPenalty(f"{why}; all tiers in, penalties to 0", q, a, 0) for a in ctl.added]
        return []

    def _narrow(self, q: str, ctl: _QueueCtl, now: float, why: str) -> list[Decision]:
        if not ctl.added:
            ctl.level = 0
            return []
        top = max(ctl.added.values())
        gone = [a for a, t in ctl.added.items() if t == top]
        for a in gone:
            del ctl.added[a]
        ctl.level = top
        ctl.penalties_zero = False
        return [RemoveMember(f"{why}; release tier {TIER_NAMES[top]}", q, a) for a in gone]

    def _callbacks(self, now: float) -> list[Decision]:
        out: list[Decision] = []
        for req in self.book.expire(now):
            out.append(DropCallback("not reached within the allowed time", req))
            call = self.open.pop(req.uniqueid, None)
            if call is not None and req.kind is CallbackKind.KEEP_PLACE:
                self._settle(req.uniqueid, call, now, now - call.joined_at, Result.CALLBACK_FAILED)
        taken: set[str] = set()
        while True:
            req = self.book.next_due(now)
            if req is None:
                break
            waiters = self.board.waiting_in(req.queue)
            if req.kind is CallbackKind.ABANDONED and waiters:
                break  # never take an agent from a caller on the line for a past call
            if waiters and waiters[0].joined_at < req.joined_at:
                break  # somebody ahead of this place is still waiting
            # Members of the queue first; else anyone trained for it (the queue may be closed).
            free = [a for a in self.board.free_agents(req.queue, now) if a.spec.id not in taken] or [
                a for a in self.board.free_agents(None, now)
                if req.queue in a.spec.skills and a.spec.id not in taken
            ]
            if not free:
                break
            agent = min(free, key=lambda a: (a.queues.get(req.queue, 9), a.since))
            taken.add(agent.spec.id)
            self.book.started(req)
            agent.move(AgentState.RINGING, now)  # reserved until the originate ends
            why = "keeps its place" if req.kind is CallbackKind.KEEP_PLACE else "abandoned caller"
            out.append(PlaceCallback(f"agent {agent.spec.id} free; {why}", req, agent.spec.id))
        return out

    # -- logging -------------------------------------------------------------------------

    def _log_decision(self, d: Decision) -> None:
        fields: dict[str, object] = {"decision": type(d).__name__, "reason": d.reason}
        for name in ("queue", "agent_id", "penalty", "uniqueid"):
            if hasattr(d, name):
                fields[name] = getattr(d, name)
        if isinstance(d, PlaceCallback | DropCallback):
            fields.update(queue=d.request.queue, call=d.request.uniqueid, number=d.request.number)
        # An offer is made to every long waiter: DEBUG, or the log grows a line per queued call.
        log_event(log, "queue control", logging.DEBUG if isinstance(d, OfferCallback) else logging.INFO, **fields)

    def _log(self, msg: str, **fields: object) -> None:
        log_event(log, msg, **fields)
