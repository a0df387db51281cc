"""Whole-document rules the schema alone cannot express, each error pointing at the key at fault."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from hotline_merge.exceptions import DialplanIssue
from hotline_merge.models import Dialplan
from hotline_merge.source import Path_, SourceMap, dotted

# Even a dialplan without an `emergencies` section may not take these over.
EMERGENCY_NUMBERS = frozenset({"110", "119", "120", "122"})

# Which per-line fields each mode needs and refuses, and why (the reason goes into the message).
MODE_REQUIRES: dict[str, tuple[str, ...]] = {
    "main": ("queue", "menu"),
    "merged": (),
    "parallel": ("queue",),
    "subcenter": ("queue",),
}
MODE_REFUSES: dict[str, dict[str, str]] = {
    "main": {
        "transition": "the main line has no transition",
        "handoff": "only sub-centers hand off",
        "shared_menu": "the main line cannot share its number",
    },
    "merged": {
        "queue": "merged lines are answered by the 12345 queue",
        "menu": "merged lines skip the menu (their department is preselected)",
        "handoff": "only sub-centers hand off",
    },
    "parallel": {"handoff": "only sub-centers hand off"},
    "subcenter": {"transition": "a sub-center keeps its number, it does not move to 12345"},
}


class _Checker:
    def __init__(self, plan: Dialplan, source: SourceMap) -> None:
        self.plan = plan
        self.source = source
        self.errors: list[DialplanIssue] = []

    def at(self, path: Path_, message: str, *, key: bool = False) -> None:
        mark = self.source.key(path) if key else self.source.value(path)
        self.errors.append(mark.issue(message))

    def run(self) -> list[DialplanIssue]:
        self.unique_ids()
        self.main_line()
        self.shared_numbers()
        self.emergency_claims()
        self.line_fields()
        self.references()
        self.hours_profiles()
        self.queues_staffed()
        self.menu_sizes()
        self.menu_graph()
        return self.errors

    # -- helpers -----------------------------------------------------------------------------

    def _unique(self, section: str, items: Iterable[Any], field: str, what: str) -> set[str]:
        seen: dict[str, int] = {}
        for index, item in enumerate(items):
            value = getattr(item, field)
            if value is None:
                continue
            if value in seen:
                first = self.source.value((section, seen[value], field))
                self.at(
                    (section, index, field),
                    f"{section}[{index}].{field}: {what} '{value}' is already defined at {first}",
                )
            else:
                seen[value] = index
        return set(seen)

    # -- rules ---------------------------------------------------------------------------------

    def unique_ids(self) -> None:
        p = self.plan
        self._unique("departments", p.departments, "name", "department")
        self._unique("agents", p.agents, "id", "agent")
        self._unique("queues", p.queues, "name", "queue")
        self._unique("menus", p.menus, "id", "menu")
        self._unique("hours", p.hours, "id", "hours profile")
        self._unique("holidays", p.holidays, "date", "holiday")
        self._unique("emergencies", p.emergencies, "number", "emergency number")
        self._unique("not_accepted", p.not_accepted, "id", "not-accepted matter")
        self._unique("selfservice", p.selfservice, "id", "self-service answer")
        self._unique("intents", p.intents, "name", "intent")
        # Line ids only; shared numbers (the default id) are judged by shared_numbers().
        self._unique("lines", p.lines, "id", "line id")
        expert_names = {q.expert_queue: i for i, q in enumerate(p.queues) if q.experts}
        for index, queue in enumerate(p.queues):
            if queue.name in expert_names and p.queues[expert_names[queue.name]].experts:
                self.at(
                    ("queues", index, "name"),
                    f"queues[{index}].name: '{queue.name}' is the name of another "
                    "queue's expert seats; choose another name",
                )

    def main_line(self) -> None:
        mains = [i for i, line in enumerate(self.plan.lines) if line.mode == "main"]
        if not mains:
            self.at(("lines",), "lines: no line has mode 'main' (the 12345 number)", key=True)
        for index in mains[1:]:
            first = self.source.value(("lines", mains[0], "mode"))
            self.at(
                ("lines", index, "mode"),
                f"lines[{index}].mode: only one main line is allowed (first at {first})",
            )

    def shared_numbers(self) -> None:
        groups: dict[str, list[int]] = {}
        for index, line in enumerate(self.plan.lines):
            groups.setdefault(line.number, []).append(index)
        menus = {m.id: m for m in self.plan.menus}
        for number, indexes in groups.items():
            if len(indexes) < 2:
                continue
            lines = [self.plan.lines[i] for i in indexes]
            menu_ids = {line.shared_menu for line in lines}
            menu = menus.get(next(iter(menu_ids))) if len(menu_ids) == 1 else None
            routed = {o.line for o in menu.options.values() if o.line} if menu else set()
            first = self.source.value(("lines", indexes[0], "number"))
            for index, line in zip(indexes, lines, strict=True):
                problem = None
                if line.id is None:
                    problem = "needs an 'id' so the shared-number menu can name it"
                elif menu is None:
                    problem = (
                        "needs the same 'shared_menu' as every line on this number, routing to each of them"
                    )
                elif line.id not in routed:
                    problem = f"is not routed by shared menu '{menu.id}' (add an option `line: {line.id}`)"
                if problem:
                    self.at(
                        ("lines", index, "number"),
                        f"lines[{index}].number: number {number} is shared with the line at "
                        f"{first} without an explicit shared-number route; this line {problem}",
                    )

    def emergency_claims(self) -> None:
        emergency = EMERGENCY_NUMBERS | {e.number for e in self.plan.emergencies}
        for index, line in enumerate(self.plan.lines):
            if line.number in emergency:
                self.at(
                    ("lines", index, "number"),
                    f"lines[{index}].number: {line.number} is an emergency number; "
                    "12345 transfers to it and may not answer it",
                )

    def line_fields(self) -> None:
        hours = {h.id: h for h in self.plan.hours}
        for index, line in enumerate(self.plan.lines):
            for field in MODE_REQUIRES[line.mode]:
                if getattr(line, field) is None:
                    self.at(("lines", index), f"lines[{index}]: mode '{line.mode}' needs '{field}'")
            for field, why in MODE_REFUSES[line.mode].items():
                if getattr(line, field) is not None:
                    self.at(
                        ("lines", index, field),
                        f"lines[{index}].{field}: not allowed for mode '{line.mode}' ({why})",
                        key=True,
                    )
            profile = hours.get(line.hours or self.plan.settings.default_hours)
            if line.mode == "subcenter" and profile is not None and not profile.always_open:
                where = ("lines", index, "hours") if line.hours else ("lines", index, "mode")
                self.at(
                    where,
                    f"lines[{index}]: a sub-center answers 7x24; hours profile '{profile.id}' is not always open",
                )

    def references(self) -> None:
        p = self.plan
        names = {
            "department": {d.name for d in p.departments},
            "queue": {q.name for q in p.queues},
            "menu": {m.id for m in p.menus},
            "hours profile": {h.id for h in p.hours},
            "self-service answer": {a.id for a in p.selfservice},
            "agent": {a.id for a in p.agents},
        }

        def ref(path: Path_, kind: str, value: str | None) -> None:
            if value is not None and value not in names[kind]:
                self.at(path, f"{dotted(path)}: unknown {kind} '{value}'")

        uses_default_hours = any(line.hours is None for line in p.lines)
        if uses_default_hours:
            ref(("settings", "default_hours"), "hours profile", p.settings.default_hours)
        for i, line in enumerate(p.lines):
            ref(("lines", i, "department"), "department", line.department)
            ref(("lines", i, "queue"), "queue", line.queue)
            ref(("lines", i, "menu"), "menu", line.menu)
            ref(("lines", i, "shared_menu"), "menu", line.shared_menu)
            ref(("lines", i, "hours"), "hours profile", line.hours)
            if line.handoff:
                ref(("lines", i, "handoff", "queue"), "queue", line.handoff.queue)
        for i, queue in enumerate(p.queues):
            for field in ("members", "experts"):
                for j, member in enumerate(getattr(queue, field)):
                    ref(("queues", i, field, j, "agent"), "agent", member.agent)
        experts = {q.name for q in p.queues if q.experts}
        line_keys = {line.key for line in p.lines}
        for i, menu in enumerate(p.menus):
            for digit, option in menu.options.items():
                base = ("menus", i, "options", digit)
                ref((*base, "menu"), "menu", option.menu)
                ref((*base, "queue"), "queue", option.queue)
                ref((*base, "department"), "department", option.department)
                ref((*base, "selfservice"), "self-service answer", option.selfservice)
                if option.expert is not None:
                    if option.expert not in names["queue"]:
                        ref((*base, "expert"), "queue", option.expert)
                    elif option.expert not in experts:
                        self.at(
                            (*base, "expert"),
                            f"{dotted((*base, 'expert'))}: queue '{option.expert}' has no expert seats",
                        )
                if option.line is not None and option.line not in line_keys:
                    self.at((*base, "line"), f"{dotted((*base, 'line'))}: unknown line id '{option.line}'")
        for i, answer in enumerate(p.selfservice):
            ref(("selfservice", i, "department"), "department", answer.department)
        for i, duty in enumerate(p.duties):
            ref(("duties", i, "department"), "department", duty.department)
        for i, intent in enumerate(p.intents):
            ref(("intents", i, "department"), "department", intent.department)
            ref(("intents", i, "answer"), "self-service answer", intent.answer)
            if intent.kind == "department" and intent.department is None:
                self.at(("intents", i), f"intents[{i}]: kind 'department' needs 'department'")

    def hours_profiles(self) -> None:
        for i, profile in enumerate(self.plan.hours):
            if profile.always_open and profile.open:
                self.at(
                    ("hours", i, "open"),
                    f"hours[{i}].open: an always-open profile takes no opening ranges",
                    key=True,
                )
            if not profile.always_open:
                if not profile.open:
                    self.at(("hours", i), f"hours[{i}]: needs 'open' ranges or 'always_open: true'")
                if profile.after_hours_prompt is None:
                    self.at(
                        ("hours", i),
                        f"hours[{i}]: needs 'after_hours_prompt' for callers outside opening hours",
                    )
                if not profile.days:
                    self.at(("hours", i, "days"), f"hours[{i}].days: no opening day")

        for i, holiday in enumerate(self.plan.holidays):
            if holiday.until is not None and holiday.until < holiday.date:
                self.at(
                    ("holidays", i, "until"),
                    f"holidays[{i}].until: invalid date range, {holiday.until} is before {holiday.date}",
                )

    def queues_staffed(self) -> None:
        skills = {s for a in self.plan.agents for s in a.skills}
        for i, queue in enumerate(self.plan.queues):
            if not queue.members and not queue.skills:
                self.at(
                    ("queues", i, "name"), f"queues[{i}]: queue '{queue.name}' has neither members nor skills"
                )
            for j, s in enumerate(queue.skills):
                if s.skill not in skills:
                    self.at(
                        ("queues", i, "skills", j, "skill"),
                        f"queues[{i}].skills[{j}].skill: no agent has skill '{s.skill}'",
                    )

    def menu_sizes(self) -> None:
        speech = self.plan.settings.speech
        if speech.confirm_floor > speech.accept:
            self.at(("settings", "speech", "confirm_floor"),
                    f"settings.speech.confirm_floor: {speech.confirm_floor} is above accept ({speech.accept})")
        most = self.plan.settings.limits.menu_options
        for i, menu in enumerate(self.plan.menus):
            if len(menu.options) > most:
                self.at(
                    ("menus", i, "options"),
                    f"menus[{i}].options: menu '{menu.id}' has {len(menu.options)} options; at most {most} "
                    "(settings.limits.menu_options) so a caller can keep them in mind",
                )

    def menu_graph(self) -> None:
        menus = {m.id: (i, m) for i, m in enumerate(self.plan.menus)}
        edges = {
            mid: [o.menu for o in m.options.values() if o.menu in menus] for mid, (_, m) in menus.items()
        }
        shared_numbers = {line.number for line in self.plan.lines if line.shared_menu}
        shared_menus = {line.shared_menu for line in self.plan.lines if line.number in shared_numbers}
        for mid, (i, menu) in menus.items():
            for digit, option in menu.options.items():
                if option.line is not None and mid not in shared_menus:
                    self.at(
                        ("menus", i, "options", digit, "line"),
                        f"menus[{i}].options.{digit}.line: only a lines' shared_menu may route to a line",
                        key=True,
                    )
        roots = [r for line in self.plan.lines for r in (line.menu, line.shared_menu) if r in menus]
        reached = set(_walk(roots, lambda m: edges[m]))
        for mid, (i, _) in menus.items():
            if mid not in reached:
                self.at(
                    ("menus", i, "id"),
                    f"menus[{i}].id: menu '{mid}' is unreachable (no line or menu leads to it)",
                )
        for component in _strongly_connected(list(menus), lambda m: edges[m]):
            looped = len(component) > 1 or component[0] in edges[component[0]]
            if not looped:
                continue
            inside = set(component)
            exits = any(
                option.menu not in inside for mid in component for option in menus[mid][1].options.values()
            )
            if not exits:
                ordered = sorted(component, key=lambda m: menus[m][0])
                loop = " -> ".join([*ordered, ordered[0]])
                i = menus[ordered[0]][0]
                self.at(
                    ("menus", i, "id"),
                    f"menus[{i}].id: menus {loop} form a cycle with no way out "
                    "(no option leads to a queue, department, service or another menu)",
                )


def _walk(roots: list[str], nexts: Callable[[str], list[str]]) -> Iterator[str]:
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        yield node
        stack.extend(nexts(node))


def _strongly_connected(nodes: list[str], nexts: Callable[[str], list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative so a long menu chain cannot hit the recursion limit."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(nexts(root)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(nexts(child))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                out.append(component)
    return out


def check_dialplan(plan: Dialplan, source: SourceMap) -> list[DialplanIssue]:
    return _Checker(plan, source).run()
