"""The number registry: lookups over a validated dialplan, and where each merge mode sends a call.

Built once per loaded dialplan and cached on it, so a live call does dictionary
lookups only. Assumes checks.py passed (references resolve, one main line).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hotline_merge.exceptions import NoSuchLine
from hotline_merge.models import (
    Dialplan,
    Emergency,
    HoursProfile,
    Intent,
    Line,
    Menu,
    NotAcceptedMatter,
    Queue,
    SelfServiceAnswer,
)


@dataclass(frozen=True)
class DepartmentRoute:
    """Where a 12345 caller whose matter belongs to a department is sent.

    general: the 12345 queue with the department preselected (merged departments and the rest);
    parallel: the queue the department's own seats share with 12345 seats;
    subcenter: handed off to the sub-center (its queue or a trunk) with the ticket id attached.
    """

    kind: Literal["general", "parallel", "subcenter"]
    department: str
    queue: str | None
    trunk: str | None = None
    ticket_variable: str | None = None
    line: Line | None = None


@dataclass(frozen=True)
class QueueMember:
    interface: str
    penalty: int
    agent: str


class Registry:
    def __init__(self, dialplan: Dialplan) -> None:
        self.dialplan = dialplan
        self.lines_by_number: dict[str, list[Line]] = {}
        for line in dialplan.lines:
            self.lines_by_number.setdefault(line.number, []).append(line)
        self.lines_by_key = {line.key: line for line in dialplan.lines}
        self.departments = {d.name: d for d in dialplan.departments}
        self.queues: dict[str, Queue] = {q.name: q for q in dialplan.queues}
        self.menus: dict[str, Menu] = {m.id: m for m in dialplan.menus}
        self.hours: dict[str, HoursProfile] = {h.id: h for h in dialplan.hours}
        self.holidays = {day: h for h in dialplan.holidays for day in h.days()}
        self.answers: dict[str, SelfServiceAnswer] = {a.id: a for a in dialplan.selfservice}
        self.emergencies: dict[str, Emergency] = {e.number: e for e in dialplan.emergencies}
        self.matters: dict[str, NotAcceptedMatter] = {m.id: m for m in dialplan.not_accepted}
        self.matters.update({m.name: m for m in dialplan.not_accepted})
        self.intents: dict[str, Intent] = {i.name: i for i in dialplan.intents}
        self.agents = {a.id: a for a in dialplan.agents}
        mains = [line for line in dialplan.lines if line.mode == "main"]
        self.main_line: Line | None = mains[0] if mains else None

    @property
    def general_queue(self) -> str:
        if self.main_line is None or self.main_line.queue is None:
            return self.dialplan.settings.fallback_queue
        return self.main_line.queue

    def lines_for(self, number: str) -> list[Line]:
        lines = self.lines_by_number.get(number)
        if not lines:
            raise NoSuchLine(number)
        return lines

    def hours_for(self, line: Line) -> HoursProfile:
        return self.hours[line.hours or self.dialplan.settings.default_hours]

    def line_queue(self, line: Line) -> str:
        """The queue that answers this line's callers (and its `0 for an agent`)."""
        if line.mode in ("parallel", "subcenter") and line.queue:
            return line.queue
        return self.general_queue

    def department_route(self, department: str) -> DepartmentRoute:
        own = [line for line in self.dialplan.lines if line.department == department]
        for line in own:
            if line.mode == "subcenter":
                handoff = line.handoff
                if handoff is None:
                    return DepartmentRoute("subcenter", department, line.queue, None, "TICKET_ID", line)
                return DepartmentRoute(
                    "subcenter", department, handoff.queue, handoff.trunk, handoff.ticket_variable, line
                )
        for line in own:
            if line.mode == "parallel":
                return DepartmentRoute("parallel", department, line.queue, line=line)
        return DepartmentRoute("general", department, self.general_queue)

    def queue_members(self, queue: Queue, *, experts: bool = False) -> list[QueueMember]:
        """Explicit members plus everyone holding a listed skill; an agent joins once, at its lowest penalty."""
        best: dict[str, int] = {}
        if experts:
            for m in queue.experts:
                best[m.agent] = min(best.get(m.agent, m.penalty), m.penalty)
        else:
            for m in queue.members:
                best[m.agent] = min(best.get(m.agent, m.penalty), m.penalty)
            for s in queue.skills:
                for agent in self.dialplan.agents:
                    if s.skill in agent.skills:
                        best[agent.id] = min(best.get(agent.id, s.penalty), s.penalty)
        return [
            QueueMember(self.agents[a].interface, p, a)
            for a, p in sorted(best.items(), key=lambda kv: (kv[1], kv[0]))
        ]


def registry_of(dialplan: Dialplan) -> Registry:
    """The dialplan's registry, built on first use (a loaded dialplan never changes)."""
    registry = dialplan._cache.get("registry")
    if registry is None:
        registry = dialplan._cache["registry"] = Registry(dialplan)
    return registry
