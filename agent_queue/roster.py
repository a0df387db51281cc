"""Roster planner: the day's forecast turned into shifts at the fewest paid agent-hours.

Model (half-hour slots, the day repeats, so a shift may wrap past midnight):
- a shift is a skill group (home queue + the queues it may answer, expert or not), a start
  slot and a pattern: full-time (span with an unpaid meal placed 3-5 h in and two paid short
  breaks) or part-time (no breaks);
- need: for every set S of queues, the agents who can answer some queue of S must cover the
  Erlang A need of S's pooled calls (the answer-rate target, half hour by half hour). For
  S = all queues this is the pooled Erlang A need, the lower bound reported; the smaller sets
  keep skill silos from hiding behind the pool (Hall's condition on the skill graph);
- rules: never fewer than `min_on_duty` on seat, a group's own seats where the profile asks
  (department lines, expert seats), a cap on agents per group and start, part-time share.
Coverage is counted in half agents so a 15-minute break takes half a slot. Solved as an
integer programme with OR-Tools CP-SAT.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from agent_queue.exceptions import ProfileInvalid, RosterInfeasible
from agent_queue.staffing import erlang_a

SLOT_S = 1800.0
SLOTS = 48


@dataclass(frozen=True, slots=True)
class SkillGroup:
    name: str
    home: str
    skills: frozenset[str]  # queues answered, home included
    expert: bool = False
    min_seats: int = 0  # own seats on duty during `hours`
    hours: tuple[int, int] = (0, SLOTS)  # slot range [from, to) of min_seats


@dataclass(frozen=True, slots=True)
class RosterRules:
    full_time_slots: int = 17  # 8.5 h span
    meal_slots: int = 1  # 30 min, unpaid
    meal_window: tuple[int, int] = (6, 10)  # meal starts 3 h .. 5 h into the shift
    break_slots: tuple[int, ...] = (4, 13)  # 15-min paid breaks at 2 h and 6.5 h
    break_min: int = 15
    part_time_slots: int = 8  # 4 h
    part_time_max_share: float = 0.25  # of paid hours
    min_on_duty: int = 2
    max_per_start: int = 12
    answer_target: float | None = None  # per half hour; default: the profile's target
    time_limit_s: float = 120.0  # a safety net; the node limit is what normally ends the search
    node_limit: int = 500  # branch-and-bound nodes (SCIP): the same roster however busy the machine is
    solver: str = "SCIP"  # an OR-Tools MIP backend: HIGHS, SCIP, CBC or CP-SAT
    groups: tuple[SkillGroup, ...] = ()


@dataclass(frozen=True, slots=True)
class Pattern:
    name: str  # "full" / "part"
    span: int
    meal: int | None  # slot offset of the meal, None for part-time
    breaks: tuple[int, ...]

    def units(self, offset: int) -> int:
        """Half agents on seat `offset` slots into the shift (2 = whole slot)."""
        if offset == self.meal:
            return 0
        return 1 if offset in self.breaks else 2

    @property
    def paid_slots(self) -> int:
        return self.span - (1 if self.meal is not None else 0)


@dataclass(frozen=True, slots=True)
class RosterShift:
    group: SkillGroup
    start: int
    pattern: Pattern
    agents: int

    def covers(self, slot: int) -> int:
        off = (slot - self.start) % SLOTS
        return self.pattern.units(off) if off < self.pattern.span else 0


@dataclass
class Roster:
    shifts: list[RosterShift]
    queues: tuple[str, ...]
    need: list[int]  # pooled Erlang A need per half hour (the bound)
    seats: list[float]  # agents on seat per half hour (breaks count half)
    solver_status: str
    objective_bound_h: float
    per_group_seats: dict[str, list[float]] = field(default_factory=dict)

    @property
    def agents(self) -> int:
        return sum(s.agents for s in self.shifts)

    @property
    def paid_hours(self) -> float:
        return sum(s.agents * s.pattern.paid_slots for s in self.shifts) / 2

    @property
    def seat_hours(self) -> float:
        return sum(self.seats) / 2

    @property
    def bound_hours(self) -> float:
        return sum(self.need) / 2

    @property
    def seat_over_bound(self) -> float:
        return self.seat_hours / self.bound_hours - 1 if self.bound_hours else 0.0

    @property
    def paid_over_bound(self) -> float:
        return self.paid_hours / self.bound_hours - 1 if self.bound_hours else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "agents": self.agents, "shifts": len(self.shifts), "paid_hours": self.paid_hours,
            "seat_hours": self.seat_hours, "erlang_a_bound_hours": self.bound_hours,
            "seat_over_bound": round(self.seat_over_bound, 4), "paid_over_bound": round(self.paid_over_bound, 4),
            "solver": self.solver_status, "solver_bound_paid_hours": self.objective_bound_h,
        }


def clock(slot: int) -> str:
    slot %= SLOTS
    return f"{slot // 2:02d}:{30 * (slot % 2):02d}"


def patterns(rules: RosterRules) -> list[Pattern]:
    out = [Pattern("full", rules.full_time_slots, m, rules.break_slots)
           for m in range(rules.meal_window[0], rules.meal_window[1] + 1) if m not in rules.break_slots]
    if rules.part_time_slots:
        out.append(Pattern("part", rules.part_time_slots, None, ()))
    return out


@lru_cache(maxsize=4096)
def erlang_a_need(calls_per_hour: float, aht_s: float, patience_s: float, target: float) -> int:
    """Fewest agents whose Erlang A answered fraction reaches `target` (0 for no calls)."""
    if calls_per_hour <= 0:
        return 0
    load = calls_per_hour * aht_s / 3600
    n = max(1, math.floor(load))
    while erlang_a(n, calls_per_hour, aht_s, patience_s).answered < target:
        n += 1
    return n


def queue_calls(profile: Any) -> dict[str, list[float]]:
    """Calls per half hour for each queue of the profile (shape x share)."""
    total_share = sum(profile.queues.values())
    per_hh = profile.calls_per_half_hour()
    return {q: [c * s / total_share for c in per_hh] for q, s in profile.queues.items()}


def plan_roster(profile: Any, rules: RosterRules | None = None) -> Roster:
    from ortools.linear_solver import pywraplp

    rules = rules or profile.roster
    if rules is None or not rules.groups:
        raise ProfileInvalid(f"{profile.name}: roster: no [[roster.groups]] to plan with")
    target = rules.answer_target if rules.answer_target is not None else profile.target
    aht = profile.aht_s + profile.wrapup_s
    calls = queue_calls(profile)
    queues = tuple(calls)
    for g in rules.groups:
        if g.home not in calls:
            raise ProfileInvalid(f"{profile.name}: roster.groups {g.name}: home {g.home!r} is not a queue")
    subsets = [frozenset(c) for r in range(1, len(queues) + 1) for c in itertools.combinations(queues, r)]
    need: dict[frozenset[str], list[int]] = {
        s: [erlang_a_need(round(2 * sum(calls[q][t] for q in s), 6), aht, profile.patience_s, target)
            for t in range(SLOTS)]
        for s in subsets
    }
    pooled = need[frozenset(queues)]
    pats = patterns(rules)

    backend = pywraplp.Solver.CreateSolver(rules.solver)
    if backend is None:
        raise RosterInfeasible(f"{profile.name}: roster: solver {rules.solver!r} is not available in OR-Tools")
    x: dict[tuple[int, int, int], Any] = {}
    for gi, _g in enumerate(rules.groups):
        for s in range(SLOTS):
            for pi, _p in enumerate(pats):
                x[gi, s, pi] = backend.IntVar(0, rules.max_per_start, f"x_{gi}_{s}_{pi}")
            backend.Add(backend.Sum([x[gi, s, pi] for pi in range(len(pats))]) <= rules.max_per_start)

    def cov(gi: int, t: int) -> list[Any]:
        terms = []
        for s in range(SLOTS):
            for pi, p in enumerate(pats):
                off = (t - s) % SLOTS
                if off < p.span and p.units(off):
                    terms.append(p.units(off) * x[gi, s, pi])
        return terms

    covs = {(gi, t): cov(gi, t) for gi in range(len(rules.groups)) for t in range(SLOTS)}
    for t in range(SLOTS):
        for sub, n in need.items():
            able = [gi for gi, g in enumerate(rules.groups) if g.skills & sub]
            if n[t] and not able:
                raise RosterInfeasible(f"{profile.name}: no roster group answers {sorted(sub)}")
            if n[t]:
                backend.Add(backend.Sum([v for gi in able for v in covs[gi, t]]) >= 2 * n[t])
        backend.Add(backend.Sum([v for gi in range(len(rules.groups)) for v in covs[gi, t]]) >= 2 * rules.min_on_duty)
        for gi, g in enumerate(rules.groups):
            if g.min_seats and g.hours[0] <= t < g.hours[1]:
                backend.Add(backend.Sum(covs[gi, t]) >= 2 * g.min_seats)
    paid = backend.Sum([pats[pi].paid_slots * v for (_gi, _s, pi), v in x.items()])
    part = backend.Sum([pats[pi].paid_slots * v for (_gi, _s, pi), v in x.items() if pats[pi].name == "part"])
    backend.Add(part <= rules.part_time_max_share * paid)
    # Ties between equally cheap rosters go to the less trained group (a small cost per skill).
    backend.Minimize(paid + backend.Sum([
        0.001 * len(rules.groups[gi].skills) * pats[pi].paid_slots * v for (gi, _s, pi), v in x.items()
    ]))
    backend.SetTimeLimit(int(rules.time_limit_s * 1000))
    if rules.solver == "SCIP" and rules.node_limit:
        backend.SetSolverSpecificParametersAsString(f"limits/nodes = {rules.node_limit}\n")
    status = backend.Solve()
    names = {pywraplp.Solver.OPTIMAL: "OPTIMAL", pywraplp.Solver.FEASIBLE: "FEASIBLE"}
    if status not in names:
        raise RosterInfeasible(f"{profile.name}: roster: the rules admit no roster (solver status {status})")
    shifts = [
        RosterShift(rules.groups[gi], s, pats[pi], round(v.solution_value()))
        for (gi, s, pi), v in sorted(x.items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2]))
        if round(v.solution_value()) > 0
    ]
    per_group = {g.name: [sum(sh.agents * sh.covers(t) for sh in shifts if sh.group is g) / 2 for t in range(SLOTS)]
                 for g in rules.groups}
    seats = [sum(pg[t] for pg in per_group.values()) for t in range(SLOTS)]
    return Roster(shifts=shifts, queues=queues, need=pooled, seats=seats, solver_status=f"{rules.solver} {names[status]}",
                  objective_bound_h=math.floor(backend.Objective().BestBound() + 0.999) / 2, per_group_seats=per_group)


# -- profile section and roster files ------------------------------------------------------


def _slot(path: Path, where: str, value: Any) -> int:
    try:
        h, mnt = str(value).split(":")
        total = int(h) * 60 + int(mnt)
    except ValueError:
        raise ProfileInvalid(f"{path}: {where}: {value!r} is not HH:MM") from None
    if total % 30 or not 0 <= total <= 24 * 60:
        raise ProfileInvalid(f"{path}: {where}: {value!r} is not on a half hour of the day")
    return total // 30


def load_rules(path: Path, data: dict[str, Any], queues: dict[str, float]) -> RosterRules | None:
    """The profile's [roster] section (None when absent); errors name file and field."""
    sec = data.get("roster")
    if sec is None:
        return None
    if not isinstance(sec, dict):
        raise ProfileInvalid(f"{path}: roster: expected a table")

    def num(key: str, default: float, kind: type = float) -> Any:
        v = sec.get(key, default)
        if isinstance(v, bool) or not isinstance(v, int | float) or v < 0:
            raise ProfileInvalid(f"{path}: roster.{key}: expected a non-negative number, got {v!r}")
        return kind(v)

    def halves(key: str, default_h: float) -> int:
        h = num(key, default_h)
        if (h * 2) != int(h * 2):
            raise ProfileInvalid(f"{path}: roster.{key}: {h!r} is not a whole number of half hours")
        return int(h * 2)

    groups = []
    for i, g in enumerate(sec.get("groups", [])):
        w = f"roster.groups[{i}]"
        home = g.get("home")
        if home not in queues:
            raise ProfileInvalid(f"{path}: {w}.home: {home!r} is not a queue of this profile")
        skills = g.get("skills", [])
        if not isinstance(skills, list) or any(s not in queues for s in skills):
            raise ProfileInvalid(f"{path}: {w}.skills: every skill must be a queue of this profile, got {skills!r}")
        hours = g.get("hours", ["00:00", "24:00"])
        if not isinstance(hours, list) or len(hours) != 2:
            raise ProfileInvalid(f"{path}: {w}.hours: expected [\"HH:MM\", \"HH:MM\"], got {hours!r}")
        min_seats = g.get("min_seats", 0)
        if not isinstance(min_seats, int) or min_seats < 0:
            raise ProfileInvalid(f"{path}: {w}.min_seats: expected a non-negative integer, got {min_seats!r}")
        groups.append(SkillGroup(
            name=str(g.get("name", f"group{i}")), home=home, skills=frozenset(skills) | {home},
            expert=bool(g.get("expert", False)), min_seats=min_seats,
            hours=(_slot(path, f"{w}.hours[0]", hours[0]), _slot(path, f"{w}.hours[1]", hours[1])),
        ))
    if not groups:
        raise ProfileInvalid(f"{path}: roster.groups: at least one [[roster.groups]] entry is needed")
    full = halves("full_time_h", 8.5)
    target = sec.get("answer_target")
    if target is not None and not (isinstance(target, float) and 0 < target < 1):
        raise ProfileInvalid(f"{path}: roster.answer_target: expected a fraction like 0.95, got {target!r}")
    meal_from, meal_to = halves("meal_from_h", 3.0), halves("meal_to_h", 5.0)
    if not 0 < meal_from <= meal_to < full:
        raise ProfileInvalid(f"{path}: roster.meal_from_h/meal_to_h: the meal must fall inside the shift")
    return RosterRules(
        full_time_slots=full, meal_window=(meal_from, meal_to),
        break_slots=tuple(halves(f"break{i}_at_h", d) for i, d in ((1, 2.0), (2, 6.5)) if sec.get("breaks", True)),
        part_time_slots=halves("part_time_h", 4.0), part_time_max_share=num("part_time_max_share", 0.25),
        min_on_duty=num("min_on_duty", 2, int), max_per_start=num("max_per_start", 12, int),
        answer_target=target, time_limit_s=num("time_limit_s", 120.0), node_limit=num("solver_nodes", 500, int),
        groups=tuple(groups),
    )


def roster_toml(roster: Roster, profile_name: str) -> str:
    """The roster as [[shifts]] a profile (or `hotline simulate --roster FILE`) reads."""
    lines = [f"# Roster planned for {profile_name!r}: {roster.agents} agents, {roster.paid_hours:g} paid h,",
             f"# {roster.seat_hours:g} h on seat vs Erlang A bound {roster.bound_hours:g} h "
             f"({roster.seat_over_bound:+.1%}); solver {roster.solver_status}.", ""]
    for sh in roster.shifts:
        g, p = sh.group, sh.pattern
        skills = sorted(g.skills - {g.home})
        lines += ["[[shifts]]", f'start = "{clock(sh.start)}"', f'end = "{clock(sh.start + p.span)}"',
                  f"agents = {sh.agents}", f'home = "{g.home}"', f"skills = {skills!r}".replace("'", '"'),
                  f'group = "{g.name}"']
        if g.expert:
            lines.append("expert = true")
        pauses = []
        if p.meal is not None:
            pauses.append(f'{{ at = "{clock(sh.start + p.meal)}", minutes = 30 }}')
        for b in p.breaks:
            pauses.append(f'{{ at = "{clock(sh.start + b)}", minutes = 15 }}')
        if pauses:
            lines.append(f"breaks = [{', '.join(pauses)}]")
        lines.append("")
    return "\n".join(lines)


def roster_table(roster: Roster) -> list[str]:
    out = [f"{'group':10} {'shift':13} {'kind':5} {'meal':6} {'breaks':12} {'agents':>6}"]
    for sh in roster.shifts:
        p = sh.pattern
        out.append(
            f"{sh.group.name:10} {clock(sh.start)}-{clock(sh.start + p.span)}   {p.name:5} "
            f"{clock(sh.start + p.meal) if p.meal is not None else '-':6} "
            f"{' '.join(clock(sh.start + b) for b in p.breaks) or '-':12} {sh.agents:6d}"
        )
    return out


def write_chart(roster: Roster, path: Path, title: str) -> None:
    """PNG of the pooled Erlang A need vs agents on seat, by group, per half hour."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 4.5), dpi=100)
    xs = list(range(SLOTS))
    bottom = [0.0] * SLOTS
    for name, seats in roster.per_group_seats.items():
        if any(seats):
            ax.bar(xs, seats, bottom=bottom, width=0.9, label=f"on seat: {name}", align="edge")
            bottom = [b + s for b, s in zip(bottom, seats, strict=True)]
    ax.step([*xs, SLOTS], [*roster.need, roster.need[-1]], where="post", color="black", linewidth=2,
            label="needed (Erlang A, pooled)")
    ax.set_xticks(range(0, SLOTS + 1, 4), [clock(i) if i < SLOTS else "24:00" for i in range(0, SLOTS + 1, 4)])
    ax.set_xlim(0, SLOTS)
    ax.set_ylabel("agents")
    ax.set_title(f"{title}: {roster.seat_hours:g} h on seat vs bound {roster.bound_hours:g} h "
                 f"({roster.seat_over_bound:+.1%}), {roster.agents} agents")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
