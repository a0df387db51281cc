"""A 24-hour day in simulated time, through the same QueueCore the live engine runs.

The simulator plays Asterisk's part: Poisson arrivals per half-hour, exponential handle
times and patience (the Erlang A assumptions, so the benchmark can compare with the bound),
app_queue's member selection (ringall: any free member of the lowest penalty; rrmemory:
round robin after the last one served; wrap-up time honoured), agents logging in and out
by shift. It emits the same typed events the AMI edge produces and applies the control
loop's decisions as app_queue would. Discrete-event and deterministic for a given seed.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import random
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent_queue.callbacks import CallbackBook, CallbackKind, CallbackRequest
from agent_queue.control import (
    AddMember,
    ControlPolicy,
    DropCallback,
    OfferCallback,
    PlaceCallback,
    QueueCore,
    RemoveMember,
    SetPenalty,
)
from agent_queue.events import (
    AgentCompletedEvent,
    AgentConnectedEvent,
    AmiEvent,
    CallerAbandonedEvent,
    CallerJoinedEvent,
    CallerLeftEvent,
    MemberAddedEvent,
    MemberPausedEvent,
    MemberRemovedEvent,
    MemberStatus,
    MemberStatusChangedEvent,
)
from agent_queue.exceptions import ProfileInvalid
from agent_queue.roster import SLOT_S, SLOTS, Roster, RosterRules, load_rules, plan_roster
from agent_queue.sla import DAY, SlaTracker
from agent_queue.state import AgentSpec

POLICIES = ("ringall", "rrmemory", "control")
HALF_HOURS = 48


@dataclass(frozen=True, slots=True)
class Shift:
    start_s: float
    end_s: float
    agents: int
    home: str
    skills: frozenset[str]
    expert: bool = False
    breaks: tuple[tuple[float, float], ...] = ()  # (start second of the day, seconds) off seat
    group: str = ""


@dataclass(frozen=True, slots=True)
class Stress:
    """A harder day than the forecast: a surge on one queue and agents who do not come."""

    surge_queue: str = ""
    surge_from_s: float = 0.0
    surge_to_s: float = 0.0
    surge_factor: float = 1.0  # 1.3 = +30% calls on `surge_queue` in the window
    no_show: float = 0.0  # fraction of rostered agents absent all day

    def label(self) -> str:
        parts = []
        if self.surge_queue and self.surge_factor != 1.0:
            parts.append(f"{self.surge_queue} {self.surge_factor - 1:+.0%} {_hhmm(self.surge_from_s)}-"
                         f"{_hhmm(self.surge_to_s)}")
        if self.no_show:
            parts.append(f"{self.no_show:.0%} no-show")
        return ", ".join(parts) or "forecast day"


def _hhmm(t: float) -> str:
    return f"{int(t // 3600) % 24:02d}:{int(t % 3600 // 60):02d}"


@dataclass(frozen=True)
class DayProfile:
    name: str
    seed: int
    calls: float  # offered per day
    shape: tuple[float, ...]  # 48 half-hour weights
    queues: dict[str, float]  # queue -> share of calls
    aht_s: float
    wrapup_s: float
    patience_s: float
    short_abandon_s: float
    sl_within_s: float
    callback_accept: float
    callback_reach: float
    shifts: tuple[Shift, ...]
    general_queues: frozenset[str]
    parallel_queues: frozenset[str]
    target: float = 0.95
    roster: RosterRules | None = None
    virtual_hold_after_s: float = 60.0  # offer a call-back keeping the place past this expected wait
    overtime_max_s: float = 3600.0  # the control loop may ask an agent to stay this long past the shift
    callback_reserve: int = 2  # abandoned-caller call-backs leave this many free agents alone
    callback_when_calm: bool = True  # ... and wait while the queue projects below target + 2 margins

    def calls_per_half_hour(self) -> list[float]:
        total = sum(self.shape)
        return [self.calls * w / total for w in self.shape]

    def agent_specs(self) -> list[AgentSpec]:
        specs, n = [], 0
        for sh in self.shifts:
            for _ in range(sh.agents):
                n += 1
                specs.append(AgentSpec(id=f"agent{n:03d}", skills=sh.skills | {sh.home}, expert=sh.expert,
                                       wrapup_s=self.wrapup_s, home=sh.home))
        return specs

    def staffed(self, t: float) -> int:
        return sum(sh.agents for sh in self.shifts if _in_shift(sh, t))


def _in_shift(sh: Shift, t: float) -> bool:
    t %= DAY
    return sh.start_s <= t < sh.end_s if sh.start_s < sh.end_s else (t >= sh.start_s or t < sh.end_s)


def _clock(path: Path, where: str, value: Any) -> float:
    try:
        h, m = str(value).split(":")
        return (int(h) * 60 + int(m)) * 60.0
    except ValueError:
        raise ProfileInvalid(f"{path}: {where}: {value!r} is not HH:MM") from None


def load_profile(path: Path) -> DayProfile:
    """Read a day profile (TOML); every error names the file and the field."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ProfileInvalid(f"{path}: {exc}") from exc

    def get(section: dict, key: str, kind: type, where: str, default: Any = None) -> Any:
        if key not in section:
            if default is None:
                raise ProfileInvalid(f"{path}: {where}.{key}: missing")
            return default
        v = section[key]
        if kind is float and isinstance(v, int):
            v = float(v)
        if not isinstance(v, kind):
            raise ProfileInvalid(f"{path}: {where}.{key}: expected {kind.__name__}, got {v!r}")
        return v

    day = data.get("day", {})
    shape = get(day, "shape", list, "day")
    if len(shape) != HALF_HOURS or not all(isinstance(x, int | float) and x >= 0 for x in shape):
        raise ProfileInvalid(f"{path}: day.shape: need {HALF_HOURS} non-negative half-hour weights, got {len(shape)}")
    queues = {}
    for i, q in enumerate(data.get("queues", [])):
        queues[get(q, "name", str, f"queues[{i}]")] = get(q, "share", float, f"queues[{i}]")
    if not queues:
        raise ProfileInvalid(f"{path}: queues: at least one [[queues]] entry is needed")
    shifts = load_shifts(path, data, queues)
    roster = load_rules(path, data, queues)
    profile = DayProfile(
        name=get(day, "name", str, "day", path.stem), seed=get(day, "seed", int, "day", 1),
        calls=get(day, "calls", float, "day"), shape=tuple(float(x) for x in shape), queues=queues,
        aht_s=get(day, "aht_s", float, "day"), wrapup_s=get(day, "wrapup_s", float, "day", 0.0),
        patience_s=get(day, "patience_s", float, "day"), short_abandon_s=get(day, "short_abandon_s", float, "day", 5.0),
        sl_within_s=get(day, "sl_within_s", float, "day", 20.0),
        callback_accept=get(day, "callback_accept", float, "day", 0.0),
        callback_reach=get(day, "callback_reach", float, "day", 0.8), shifts=tuple(shifts),
        general_queues=frozenset(get(day, "general_queues", list, "day", [])),
        parallel_queues=frozenset(get(day, "parallel_queues", list, "day", [])),
        target=get(day, "target", float, "day", 0.95), roster=roster,
        virtual_hold_after_s=get(day, "virtual_hold_after_s", float, "day", 60.0),
        overtime_max_s=60.0 * get(day, "overtime_max_min", float, "day", 60.0),
        callback_reserve=get(day, "callback_reserve", int, "day", 2),
        callback_when_calm=get(day, "callback_when_calm", bool, "day", True),
    )
    if not shifts and roster is None:
        raise ProfileInvalid(f"{path}: shifts: give [[shifts]] or a [roster] section to plan them")
    return profile


def load_shifts(path: Path, data: dict[str, Any], queues: dict[str, float] | None = None) -> tuple[Shift, ...]:
    """[[shifts]] of a profile or of a roster file (`hotline staffing roster --out`)."""
    shifts = []
    for i, sh in enumerate(data.get("shifts", [])):
        w = f"shifts[{i}]"
        for key, kind in (("home", str), ("start", str), ("end", str), ("agents", int)):
            if not isinstance(sh.get(key), kind) or isinstance(sh.get(key), bool):
                raise ProfileInvalid(f"{path}: {w}.{key}: expected {kind.__name__}, got {sh.get(key)!r}")
        home = sh["home"]
        if queues is not None and home not in queues:
            raise ProfileInvalid(f"{path}: {w}.home: {home!r} is not a queue of this profile")
        skills = sh.get("skills", [])
        if not isinstance(skills, list) or not all(isinstance(x, str) for x in skills):
            raise ProfileInvalid(f"{path}: {w}.skills: expected a list of queue names, got {skills!r}")
        breaks = []
        for j, b in enumerate(sh.get("breaks", [])):
            if not isinstance(b, dict) or not isinstance(b.get("minutes"), int) or b["minutes"] <= 0:
                raise ProfileInvalid(f"{path}: {w}.breaks[{j}]: expected {{ at = \"HH:MM\", minutes = N }}, got {b!r}")
            breaks.append((_clock(path, f"{w}.breaks[{j}].at", b.get("at")), b["minutes"] * 60.0))
        shifts.append(Shift(
            start_s=_clock(path, f"{w}.start", sh["start"]), end_s=_clock(path, f"{w}.end", sh["end"]),
            agents=sh["agents"], home=home, skills=frozenset(skills), expert=bool(sh.get("expert", False)),
            breaks=tuple(breaks), group=str(sh.get("group", "")),
        ))
    return tuple(shifts)


def load_roster_file(path: Path, profile: DayProfile) -> DayProfile:
    """The profile with its shifts replaced by a roster file's [[shifts]]."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ProfileInvalid(f"{path}: {exc}") from exc
    shifts = load_shifts(path, data, profile.queues)
    if not shifts:
        raise ProfileInvalid(f"{path}: shifts: the roster file has no [[shifts]]")
    return dataclasses.replace(profile, shifts=shifts)


@dataclass
class SimResult:
    policy: str
    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    answer_rate: float
    service_level: float
    average_wait_s: float
    occupancy: float
    callbacks_placed: int = 0
    callbacks_reached: int = 0
    overflow_adds: int = 0
    overtime_h: float = 0.0  # agent-hours worked past shift ends at the control loop's request
    hold_offered: int = 0  # virtual hold: call-back offers (press 1 to keep your place)
    hold_accepted: int = 0
    hold_reached: int = 0  # accepted and answered by the call-back (counted answered in the 24 h rate)
    decisions: int = 0
    per_queue: dict[str, dict[str, float | int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        for k in ("answer_rate", "service_level", "occupancy"):
            d[k] = round(d[k], 4)
        d["average_wait_s"] = round(d["average_wait_s"], 1)
        return d


@dataclass(slots=True)
class _SimAgent:
    spec: AgentSpec
    queues: dict[str, int] = field(default_factory=dict)
    logged_in: bool = False
    free_at: float = 0.0
    busy: bool = False
    reserved: bool = False
    busy_s: float = 0.0
    logged_s: float = 0.0
    login_at: float = 0.0
    on_break: bool = False
    no_show: bool = False


class Simulation:
    def __init__(self, profile: DayProfile, *, policy: str = "control", seed: int | None = None,
                 control_every_s: float = 5.0, on_progress: Callable[[float], None] | None = None,
                 stress: Stress | None = None, virtual_hold: bool = True,
                 hold_threshold_s: float | None = None, abandoned_callbacks: bool = True,
                 overtime_max_s: float | None = None) -> None:
        if policy not in POLICIES:
            raise ValueError(f"simulate: policy {policy!r} not in {POLICIES}")
        self.p = profile
        self.policy = policy
        self.rng = random.Random(profile.seed if seed is None else seed)
        # Draws that depend on the policy (ringall picks, call-back answers) use their own
        # stream so they do not shift the callers drawn above.
        self.day_rng = random.Random((profile.seed if seed is None else seed) * 7919 + 1)
        self.stress = stress or Stress()
        if self.stress.surge_queue and self.stress.surge_queue not in profile.queues:
            raise ValueError(f"simulate: surge queue {self.stress.surge_queue!r} is not a queue of the profile")
        # Surges and no-shows draw from their own streams: the forecast day's callers stay the same.
        self.stress_rng = random.Random((profile.seed if seed is None else seed) * 104729 + 3)
        specs = profile.agent_specs()
        hold_after = profile.virtual_hold_after_s if hold_threshold_s is None else hold_threshold_s
        ctl = ControlPolicy(
            target=profile.target, aht_s=profile.aht_s + profile.wrapup_s, patience_s=profile.patience_s,
            callbacks=policy == "control", virtual_hold=virtual_hold and profile.callback_accept > 0,
            abandoned_callbacks=abandoned_callbacks, offer_callback_after_s=hold_after,
            overtime_s=profile.overtime_max_s if overtime_max_s is None else overtime_max_s,
            callback_reserve=profile.callback_reserve, callback_when_calm=profile.callback_when_calm,
            general_queues=profile.general_queues, parallel_queues=profile.parallel_queues,
        )
        self.core = QueueCore(
            specs=specs, tracker=SlaTracker(window_s=3 * DAY, short_abandon_s=profile.short_abandon_s,
                                            sl_within_s=profile.sl_within_s),
            policy=ctl, book=CallbackBook(),
        )
        self.agents = {s.id: _SimAgent(s) for s in specs}
        self._shift_of = {}
        n = 0
        for i, sh in enumerate(profile.shifts):
            for _ in range(sh.agents):
                n += 1
                self._shift_of[f"agent{n:03d}"] = i
        self.waiting: dict[str, list[str]] = {q: [] for q in profile.queues}
        self.calls: dict[str, tuple[str, float, str]] = {}  # uid -> queue, joined, number
        self.service: dict[str, float] = {}
        self.rr: dict[str, int] = {}
        self.heap: list[tuple[float, int, str, Any]] = []
        self.seq = itertools.count()
        self.control_every_s = control_every_s
        self.on_progress = on_progress
        self.overflow_adds = 0
        self.overtime_s = 0.0
        self.hold_offered = self.hold_accepted = self.hold_reached = 0
        self.events = 0

    # -- plumbing ------------------------------------------------------------------------

    def _at(self, t: float, kind: str, payload: Any = None) -> None:
        heapq.heappush(self.heap, (t, next(self.seq), kind, payload))

    def _emit(self, ev: AmiEvent, now: float) -> None:
        self.events += 1
        self.core.on_event(ev, now)

    def run(self) -> SimResult:
        p = self.p
        rates = p.calls_per_half_hour()
        # Arrivals: a Poisson process per half-hour, thinned into queues by share.
        shares = list(p.queues.items())
        total_share = sum(s for _, s in shares)
        uid = 0
        for hh, expected in enumerate(rates):
            t = hh * 1800.0
            rate = expected / 1800.0
            while rate > 0:
                t += self.rng.expovariate(rate)
                if t >= (hh + 1) * 1800.0:
                    break
                uid += 1
                r, acc = self.rng.random() * total_share, 0.0
                queue = shares[-1][0]
                for q, s in shares:
                    acc += s
                    if r < acc:
                        queue = q
                        break
                # Patience and handle time are drawn with the arrival, so every policy
                # meets the same callers with the same patience and the same questions.
                patience = self.rng.expovariate(1.0 / p.patience_s)
                service = self.rng.expovariate(1.0 / p.aht_s)
                number = f"1380013{self.rng.randrange(10000):04d}"
                self._at(t, "arrive", (f"sim.{uid}", queue, patience, service, number))
        self._surge_arrivals()
        absent = self._no_shows()
        for a in self.agents.values():
            if a.spec.id in absent:
                a.no_show = True
                continue
            sh = p.shifts[self._shift_of[a.spec.id]]
            start, end = sh.start_s % DAY, sh.end_s % DAY
            if start == end:  # round the clock
                self._at(0.0, "login", a.spec.id)
                self._at(DAY, "logout", a.spec.id)
            elif start < end:
                self._at(start, "login", a.spec.id)
                self._at(end, "logout", a.spec.id)
            else:
                # Wraps past midnight: yesterday's shift until `end`, tonight's from `start`
                # (which works on past midnight, so its callers are served).
                if end > 0:
                    self._at(0.0, "login", a.spec.id)
                    self._at(end, "logout", a.spec.id)
                self._at(start, "login", a.spec.id)
                self._at(DAY + end, "logout", a.spec.id)
            for at, dur in sh.breaks:
                self._at(at % DAY, "break", (a.spec.id, dur))
        if self.policy == "control":
            self._at(0.0, "tick")
        now = 0.0
        last_progress = 0.0
        while self.heap:
            now, _, kind, payload = heapq.heappop(self.heap)
            if kind == "tick" and now > DAY and (not self.calls or now > DAY + 6 * 3600):
                break  # the day is over and every caller's outcome is known (or given up)
            getattr(self, f"_on_{kind}")(now, payload)
            self._route(now)
            if self.on_progress and now - last_progress >= 600:
                self.on_progress(min(now, DAY) - last_progress)
                last_progress = min(now, DAY)
        if self.on_progress and last_progress < DAY:
            self.on_progress(DAY - last_progress)
        return self._result(now)

    def _surge_arrivals(self) -> None:
        st, p = self.stress, self.p
        if not st.surge_queue or st.surge_factor <= 1.0 or st.surge_to_s <= st.surge_from_s:
            return
        share = p.queues[st.surge_queue] / sum(p.queues.values())
        rates = p.calls_per_half_hour()
        n = 0
        for hh in range(HALF_HOURS):
            lo, hi = max(hh * 1800.0, st.surge_from_s), min((hh + 1) * 1800.0, st.surge_to_s)
            rate = rates[hh] / 1800.0 * share * (st.surge_factor - 1.0)
            t = lo
            while rate > 0 and lo < hi:
                t += self.stress_rng.expovariate(rate)
                if t >= hi:
                    break
                n += 1
                patience = self.stress_rng.expovariate(1.0 / p.patience_s)
                service = self.stress_rng.expovariate(1.0 / p.aht_s)
                number = f"1390013{self.stress_rng.randrange(10000):04d}"
                self._at(t, "arrive", (f"sim.s{n}", st.surge_queue, patience, service, number))

    def _no_shows(self) -> set[str]:
        ids = sorted(self.agents)
        k = round(self.stress.no_show * len(ids))
        return set(self.stress_rng.sample(ids, k)) if k else set()

    # -- events --------------------------------------------------------------------------

    def _on_arrive(self, now: float, payload: tuple[str, str, float, float, str]) -> None:
        uid, queue, patience, service, number = payload
        self.calls[uid] = (queue, now, number)
        self.service[uid] = service
        self.waiting[queue].append(uid)
        self._emit(CallerJoinedEvent(queue=queue, uniqueid=uid, channel="", caller_id=number,
                                     position=len(self.waiting[queue]), count=len(self.waiting[queue])), now)
        self._at(now + patience, "patience", uid)

    def _on_patience(self, now: float, uid: str) -> None:
        call = self.calls.get(uid)
        if call is None or uid not in self.waiting[call[0]]:
            return
        queue, joined, number = call
        self.waiting[queue].remove(uid)
        del self.calls[uid]
        self._emit(CallerAbandonedEvent(queue=queue, uniqueid=uid, caller_id=number, hold_time=int(now - joined),
                                        position=1, original_position=1), now)

    def _on_end(self, now: float, payload: tuple[str, str, str, float]) -> None:
        agent_id, queue, uid, hold = payload
        a = self.agents[agent_id]
        a.busy = False
        a.free_at = now + a.spec.wrapup_s
        self._emit(AgentCompletedEvent(queue=queue, uniqueid=uid, interface=a.spec.interface, member_name=agent_id,
                                       hold_time=int(hold), talk_time=0, reason="caller"), now)
        if a.on_break:  # the break began during the call: it starts now, on the board too
            self._pause_all(a, now)
        self._at(a.free_at, "wake")

    def _pause_all(self, a: _SimAgent, now: float) -> None:
        for q, pen in a.queues.items():
            self._member_event(MemberPausedEvent, a, q, pen, now)

    def _on_break(self, now: float, payload: tuple[str, float]) -> None:
        agent_id, dur = payload
        a = self.agents[agent_id]
        if not a.logged_in or a.on_break:
            return
        a.on_break = True
        self._at(now + dur, "unbreak", agent_id)
        if not a.busy and not a.reserved:
            self._pause_all(a, now)

    def _on_unbreak(self, now: float, agent_id: str) -> None:
        a = self.agents[agent_id]
        a.on_break = False
        if a.logged_in and not a.busy and not a.reserved:
            self._pause_all(a, now)

    def _on_wake(self, now: float, _payload: Any) -> None:
        pass  # routing runs after every event

    def _member_event(self, cls: type, a: _SimAgent, queue: str, penalty: int, now: float) -> None:
        self._emit(cls(queue=queue, interface=a.spec.interface, member_name=a.spec.id, status=MemberStatus.NOT_INUSE,
                       paused=a.on_break, penalty=penalty, in_call=False,
                       paused_reason="break" if a.on_break else ""), now)

    def _on_login(self, now: float, agent_id: str) -> None:
        a = self.agents[agent_id]
        a.logged_in, a.login_at = True, now
        # Static membership as queues.conf would list it: home queue at penalty 0, the
        # other trained queues at penalty 1 (every policy gets this; control adds more).
        a.queues = {q: 1 for q in a.spec.skills if q in self.waiting}
        a.queues[a.spec.home_queue] = 0
        for q, pen in a.queues.items():
            self._member_event(MemberAddedEvent, a, q, pen, now)

    def _on_logout(self, now: float, payload: str | tuple[str, float]) -> None:
        agent_id, due = (payload, now) if isinstance(payload, str) else payload
        a = self.agents[agent_id]
        if not a.logged_in:
            return
        if self.policy == "control" and now < DAY and self.core.extend_shift(agent_id, due, now):
            self.overtime_s += 60.0
            self._at(now + 60.0, "logout", (agent_id, due))
            return
        a.logged_in = False
        a.on_break = False
        a.logged_s += min(now, DAY) - min(a.login_at, DAY)
        for q, pen in list(a.queues.items()):
            self._member_event(MemberRemovedEvent, a, q, pen, now)
        a.queues.clear()

    def _on_tick(self, now: float, _payload: Any) -> None:
        for d in self.core.tick(now):
            match d:
                case AddMember():
                    a = self.agents[d.agent_id]
                    if a.logged_in:
                        a.queues[d.queue] = d.penalty
                        self.overflow_adds += 1
                        self._member_event(MemberAddedEvent, a, d.queue, d.penalty, now)
                case RemoveMember():
                    a = self.agents[d.agent_id]
                    if d.queue in a.queues and d.queue != a.spec.home_queue:
                        del a.queues[d.queue]
                        self._member_event(MemberRemovedEvent, a, d.queue, 0, now)
                case SetPenalty():
                    a = self.agents[d.agent_id]
                    if d.queue in a.queues:
                        a.queues[d.queue] = d.penalty
                        self._member_event(MemberStatusChangedEvent, a, d.queue, d.penalty, now)
                case OfferCallback():
                    self.hold_offered += 1
                    if self.day_rng.random() < self.p.callback_accept and d.uniqueid in self.waiting[d.queue]:
                        self.hold_accepted += 1
                        self.waiting[d.queue].remove(d.uniqueid)
                        self.core.accept_callback(d.uniqueid, now)
                        self._emit(CallerLeftEvent(queue=d.queue, uniqueid=d.uniqueid, channel="", position=0,
                                                   count=len(self.waiting[d.queue])), now)
                case PlaceCallback():
                    self._place_callback(d.request, d.agent_id, now)
                case DropCallback():
                    self.calls.pop(d.request.uniqueid, None)
                case _:
                    pass
        if now < DAY or self.calls or self.core.book.requests:
            self._at(now + self.control_every_s, "tick")

    def _place_callback(self, req: CallbackRequest, agent_id: str, now: float) -> None:
        a = self.agents[agent_id]
        if not self._idle(a, now):
            self.core.callback_finished(req, reached=False, now=now, agent_id=agent_id)
            return
        a.reserved = True
        reached = self.day_rng.random() < self.p.callback_reach
        talk = self.day_rng.expovariate(1.0 / self.p.aht_s) if reached else 30.0
        a.busy_s += talk
        self._at(now + talk, "callback_end", (req, agent_id, reached))

    def _on_callback_end(self, now: float, payload: tuple[CallbackRequest, str, bool]) -> None:
        req, agent_id, reached = payload
        a = self.agents[agent_id]
        a.reserved = False
        a.free_at = now + (a.spec.wrapup_s if reached else 0.0)
        self.calls.pop(req.uniqueid, None)
        self.core.callback_finished(req, reached=reached, now=now, agent_id=agent_id)
        if reached and req.kind is CallbackKind.KEEP_PLACE:
            self.hold_reached += 1
        if a.on_break:
            self._pause_all(a, now)
        self._at(a.free_at, "wake")

    # -- app_queue's part ----------------------------------------------------------------

    def _idle(self, a: _SimAgent, now: float) -> bool:
        return a.logged_in and not a.busy and not a.reserved and not a.on_break and now >= a.free_at

    def _route(self, now: float) -> None:
        pending = sorted(
            ((self.calls[u][1], u, q) for q, us in self.waiting.items() for u in us), key=lambda x: x[0]
        )
        for joined, uid, q in pending:
            members = [a for a in self.agents.values() if q in a.queues and self._idle(a, now)]
            if not members:
                continue
            best = min(a.queues[q] for a in members)
            tier = sorted((a for a in members if a.queues[q] == best), key=lambda a: a.spec.id)
            if self.policy == "ringall":
                agent = tier[self.day_rng.randrange(len(tier))]  # first phone picked up wins
            else:
                last = self.rr.get(q, -1)
                agent = next((a for a in tier if int(a.spec.id[5:]) > last), tier[0])
                self.rr[q] = int(agent.spec.id[5:])
            self.waiting[q].remove(uid)
            _, _, number = self.calls.pop(uid)
            agent.busy = True
            service = self.service.pop(uid)
            agent.busy_s += service
            hold = now - joined
            self._emit(AgentConnectedEvent(queue=q, uniqueid=uid, interface=agent.spec.interface,
                                           member_name=agent.spec.id, hold_time=int(hold), ring_time=0), now)
            self._at(now + service, "end", (agent.spec.id, q, uid, hold))

    def _result(self, now: float) -> SimResult:
        for a in self.agents.values():
            if a.logged_in:
                a.logged_s += max(0.0, min(now, DAY) - a.login_at)
                a.logged_in = False
        f = self.core.tracker.figures(now)
        busy = sum(a.busy_s for a in self.agents.values())
        logged = sum(a.logged_s for a in self.agents.values())
        return SimResult(
            policy=self.policy, offered=f.offered, answered=f.answered, abandoned=f.abandoned,
            short_abandoned=f.short_abandoned, answer_rate=f.answer_rate, service_level=f.service_level,
            average_wait_s=f.average_wait_s, occupancy=busy / logged if logged else 0.0,
            callbacks_placed=self.core.book.placed, callbacks_reached=self.core.book.reached,
            overflow_adds=self.overflow_adds, overtime_h=round(self.overtime_s / 3600, 2), decisions=self.core.decisions,
            hold_offered=self.hold_offered, hold_accepted=self.hold_accepted, hold_reached=self.hold_reached,
            per_queue={q: fig.as_dict() for q, fig in self.core.tracker.per_queue(now).items()},
        )


def simulate(profile: DayProfile, *, policy: str = "control", seed: int | None = None,
             on_progress: Callable[[float], None] | None = None, stress: Stress | None = None,
             virtual_hold: bool = True, hold_threshold_s: float | None = None,
             abandoned_callbacks: bool = True, overtime_max_s: float | None = None) -> SimResult:
    return Simulation(profile, policy=policy, seed=seed, on_progress=on_progress, stress=stress,
                      virtual_hold=virtual_hold, hold_threshold_s=hold_threshold_s,
                      abandoned_callbacks=abandoned_callbacks, overtime_max_s=overtime_max_s).run()


def compare(profile: DayProfile, policies: tuple[str, ...] = POLICIES, seed: int | None = None) -> list[SimResult]:
    """Every policy on the same day: same seed, so the same arrivals and patience draws."""
    return [simulate(profile, policy=p, seed=seed) for p in policies]


def busiest_half_hour(profile: DayProfile) -> tuple[int, float]:
    rates = profile.calls_per_half_hour()
    i = max(range(HALF_HOURS), key=rates.__getitem__)
    return i, rates[i]


def with_planned_roster(profile: DayProfile, rules: RosterRules | None = None) -> tuple[DayProfile, Roster]:
    """Plan the profile's roster (CP-SAT) and return the profile working it, with the plan."""
    roster = plan_roster(profile, rules)
    shifts = []
    for sh in roster.shifts:
        p, g = sh.pattern, sh.group
        pauses = [((sh.start + b) % SLOTS * SLOT_S, 900.0) for b in p.breaks]
        if p.meal is not None:
            pauses.append(((sh.start + p.meal) % SLOTS * SLOT_S, SLOT_S))
        shifts.append(Shift(
            start_s=sh.start * SLOT_S, end_s=(sh.start + p.span) % SLOTS * SLOT_S, agents=sh.agents, home=g.home,
            skills=g.skills - {g.home}, expert=g.expert, breaks=tuple(sorted(pauses)), group=g.name,
        ))
    return dataclasses.replace(profile, shifts=tuple(shifts)), roster
