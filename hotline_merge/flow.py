"""The call-flow state machine: the same code decides live calls and `hotline route`.

The IVR calls `start()`, then feeds one event per step: `Played()` after a `Play`,
the caller's input after a `Collect`. A `Finish` carries the routing decision. The
machine never reads a clock (the caller passes `at`) and never does I/O.

Order of a call: DNIS -> line -> opening hours -> transition announcement -> the
line's mode (menu, or straight to its queue). In every menu 0 = agent, * = repeat,
# = back; too many timeouts or wrong keys also end with an agent, because a caller
who cannot work the menu must still reach a person.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import deque
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from hotline_merge.decision import RoutingDecision
from hotline_merge.exceptions import IllegalFlowEvent
from hotline_merge.hours import is_open
from hotline_merge.models import Dialplan, Line, Menu, NotAcceptedMatter, Option
from hotline_merge.registry import registry_of

__all__ = [
    "CallFlow",
    "Collect",
    "DigitsEntered",
    "Event",
    "Finish",
    "NoInput",
    "Play",
    "Played",
    "RoutingDecision",
    "SpeechHeard",
    "Step",
]

PROGRESS_MAX_DIGITS = 24
PROGRESS_TIMEOUT_S = 15


# -- events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Played:
    """The last `Play` finished."""


@dataclass(frozen=True)
class DigitsEntered:
    digits: str


@dataclass(frozen=True)
class NoInput:
    """The `Collect` timed out."""


@dataclass(frozen=True)
class SpeechHeard:
    """An intent from asr (kind as in asr.intent). `name` is the intent or matter name."""

    kind: str
    department: str | None = None
    target: str | None = None
    confidence: float = 0.0
    text: str = ""
    name: str | None = None
    confirm: bool = False  # middling confidence: ask the caller before routing


Event = Played | DigitsEntered | NoInput | SpeechHeard


# -- steps ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Play:
    prompt_id: str
    text: str


@dataclass(frozen=True)
class Collect:
    prompt_id: str
    text: str
    max_digits: int
    timeout_s: int
    speech: bool


@dataclass(frozen=True)
class Finish:
    decision: RoutingDecision


Step = Play | Collect | Finish


@dataclass(frozen=True)
class _Decide:
    """A decision still missing the prompts; they are known only when it is reached."""

    fields: dict[str, Any]


@dataclass(frozen=True)
class _Waiting:
    """What the pending `Collect` asks for."""

    kind: str  # menu | selfservice | explain | progress | confirm
    subject: str = ""
    name: str = ""  # confirm: the intent heard (its self-service answer, if any)


_Pending = Play | Collect | _Decide


def fill(text: str, **values: str) -> str:
    """Replace known {placeholders} only: admin text may contain other braces."""
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def confirm_topic(dialplan: Dialplan, department: str) -> str:
    """What the ask-back names: the duty's label (社保), else the department's name."""
    duty = next((d for d in dialplan.duties if d.department == department and d.label), None)
    return duty.label if duty is not None and duty.label else department


def confirm_prompt_id(department: str) -> str:
    # Prompt ids become file names: ASCII and stable per department.
    return "confirm." + hashlib.sha1(department.encode()).hexdigest()[:10]


def transition_text(lines: list[Line], day: dt.date) -> str | None:
    """The announcement a number plays on `day`: its first line still in transition.

    A shared number plays one announcement, not one per service behind it."""
    for line in lines:
        t = line.transition
        if t is not None and day <= t.until:
            return fill(t.announcement, name=line.name, number=line.number, department=line.department)
    return None


_SPEECH_INVITATION = re.compile(r"[^。！？]*(?:直接说|请说|说出)[^。！？]*[。！？]?")


def keypad_text(prompt: str) -> str:
    """A menu prompt without its sentences inviting the caller to speak (speech is off)."""
    return _SPEECH_INVITATION.sub("", prompt).strip() or prompt


class CallFlow:
    def __init__(self, dialplan: Dialplan, dnis: str, at: dt.datetime, *, speech: bool = True) -> None:
        """speech: the engine can listen (a model is loaded); without it no prompt invites
        callers to speak and menus collect keys only."""
        self._plan = dialplan
        self._speech = speech
        self._reg = registry_of(dialplan)
        self._dnis = dnis
        self._lines = self._reg.lines_for(dnis)
        self._line: Line = self._lines[0]
        zone = ZoneInfo(dialplan.settings.timezone)
        self._at = at.replace(tzinfo=zone) if at.tzinfo is None else at.astimezone(zone)
        self._department = None if self._line.mode == "main" else self._line.department
        self._prompts: list[str] = []
        self._pending: deque[_Pending] = deque()
        self._current: Step | None = None
        self._waiting: _Waiting | None = None
        self._menus: list[str] = []
        self._failures = 0
        self._silences = 0
        self._reasked = False  # speech gets one second try, then an agent

    # -- public API ---------------------------------------------------------------------------

    @property
    def line(self) -> Line:
        """The line the call is on (for a shared number: the one the caller chose, once chosen)."""
        return self._line

    def start(self) -> Step:
        if self._current is not None:
            raise IllegalFlowEvent("start() called twice")
        return self._run(self._begin())

    def feed(self, event: Event) -> Step:
        current = self._current
        if current is None:
            raise IllegalFlowEvent("feed() before start()")
        if isinstance(current, Finish):
            raise IllegalFlowEvent(f"{type(event).__name__} after the call flow finished")
        if isinstance(current, Play):
            if not isinstance(event, Played):
                raise IllegalFlowEvent(
                    f"{type(event).__name__} while playing {current.prompt_id}; expected Played"
                )
            return self._advance()
        if isinstance(event, Played):
            raise IllegalFlowEvent(f"Played while collecting {current.prompt_id}")
        if isinstance(event, SpeechHeard) and event.kind == "emergency" and event.target:
            # An emergency wins wherever the caller says it.
            return self._run(self._emergency(event.target))
        assert self._waiting is not None
        handler = {
            "menu": self._on_menu,
            "selfservice": self._on_selfservice,
            "explain": self._on_explain,
            "progress": self._on_progress,
            "confirm": self._on_confirm,
        }[self._waiting.kind]
        return self._run(handler(event))

    # -- stepping -----------------------------------------------------------------------------

    def _run(self, steps: list[_Pending]) -> Step:
        self._pending = deque(steps)
        return self._advance()

    def _advance(self) -> Step:
        item = self._pending.popleft()
        if isinstance(item, _Decide):
            step: Step = Finish(RoutingDecision(prompts=tuple(self._prompts), **item.fields))
            self._waiting = None
        else:
            self._prompts.append(item.text)
            step = item
        self._current = step
        return step

    def _decide(self, *, action: str, queue: str | None, route: str, **extra: Any) -> _Decide:
        fields: dict[str, Any] = {
            "line_number": self._dnis,
            "line_name": self._line.name,
            "mode": self._line.mode,
            "department": self._department,
            "queue": queue,
            "action": action,
            "target": None,
            "route": route,
        }
        fields.update(extra)
        return _Decide(fields)

    # -- call start ---------------------------------------------------------------------------

    def _begin(self) -> list[_Pending]:
        profile = self._reg.hours_for(self._line)
        if not is_open(profile, self._at, self._reg.holidays):
            text = profile.after_hours_prompt or self._plan.settings.prompts.agent
            return [
                Play(f"hours.{profile.id}.after_hours", text),
                self._decide(action="voicemail", queue=None, route="after-hours", ticket_type="voicemail"),
            ]
        steps: list[_Pending] = []
        announced = transition_text(self._lines, self._at.date())
        if announced is not None:
            steps.append(Play(f"line.{self._dnis}.transition", announced))
        if len(self._lines) > 1:
            menu_id = self._line.shared_menu
            assert menu_id is not None  # checks.py guarantees a shared-number route
            return steps + self._enter_menu(menu_id)
        return steps + self._enter_line(self._line)

    def _enter_line(self, line: Line) -> list[_Pending]:
        self._line = line
        if line.mode != "main":
            self._department = line.department
        if line.mode == "merged":
            # Chosen from a shared number's menu: say that the call is being put through.
            hint = self._transfer_prompt() if self._menus else []
            return hint + [self._decide(action="queue", queue=self._reg.general_queue, route="merged")]
        if line.menu is not None:
            return self._enter_menu(line.menu)
        return [self._decide(action="queue", queue=self._reg.line_queue(line), route=line.mode)]

    # -- menus --------------------------------------------------------------------------------

    def _menu(self) -> Menu:
        return self._reg.menus[self._menus[-1]]

    def _enter_menu(self, menu_id: str) -> list[_Pending]:
        self._menus.append(menu_id)
        self._failures = 0
        self._silences = 0
        return [self._collect_menu()]

    def _collect_menu(self) -> Collect:
        menu = self._menu()
        self._waiting = _Waiting("menu", menu.id)
        if menu.speech and not self._speech:
            text = keypad_text(menu.prompt)
            prompt_id = f"menu.{menu.id}.keypad" if text != menu.prompt else f"menu.{menu.id}"
            return Collect(prompt_id, text, 1, menu.timeout_s, False)
        return Collect(f"menu.{menu.id}", menu.prompt, 1, menu.timeout_s, menu.speech)

    def _on_silence(self) -> list[_Pending]:
        """A silent caller hears the menu once and a short re-prompt, then goes to an agent:
        callers who cannot or do not press keys must not sit through the menu three times."""
        menu = self._menu()
        self._silences += 1
        self._failures += 1
        if self._silences > 1:
            return self._agent(route="agent-after-silence")
        if self._failures > menu.retries:
            return self._agent(route="agent-after-retries")
        self._waiting = _Waiting("menu", menu.id)
        return [Collect("prompt.timeout", self._plan.settings.prompts.timeout, 1, menu.timeout_s,
                        menu.speech and self._speech)]

    def _back(self) -> list[_Pending]:
        if len(self._menus) > 1:
            self._menus.pop()
        self._failures = 0
        return [self._collect_menu()]

    def _fail(self, *, invalid: bool) -> list[_Pending]:
        """A timeout or a wrong key: explain and ask again, or give up to an agent."""
        menu = self._menu()
        self._failures += 1
        if self._failures > menu.retries:
            return self._agent(route="agent-after-retries")
        if invalid:
            hint = Play(f"menu.{menu.id}.invalid", menu.invalid_prompt)
        else:
            hint = Play("prompt.timeout", self._plan.settings.prompts.timeout)
        return [hint, self._collect_menu()]

    def _on_menu(self, event: Event) -> list[_Pending]:
        if isinstance(event, NoInput):
            return self._on_silence()
        if isinstance(event, SpeechHeard):
            return self._on_speech(event)
        assert isinstance(event, DigitsEntered)
        digits = event.digits.strip()
        if not digits:
            return self._on_silence()
        if digits == "0":
            return self._agent()
        if digits == "*":
            return [self._collect_menu()]
        if digits == "#":
            return self._back()
        option = self._menu().options.get(digits)
        if option is None:
            return self._fail(invalid=True)
        return self._choose(option)

    def _choose(self, option: Option) -> list[_Pending]:
        kind = option.target_kind
        if kind == "menu":
            return self._enter_menu(option.target)
        if kind == "queue":
            return self._transfer_prompt() + [
                self._decide(action="queue", queue=option.target, route="queue")
            ]
        if kind == "department":
            return self._department_route(option.target)
        if kind == "selfservice":
            return self._selfservice(option.target)
        if kind == "progress":
            return self._start_progress()
        if kind == "line":
            return self._enter_line(self._reg.lines_by_key[option.target])
        if kind == "expert":
            queue = self._reg.queues[option.target].expert_queue
            return self._transfer_prompt() + [self._decide(action="queue", queue=queue, route="expert")]
        return self._agent()

    def _on_speech(self, event: SpeechHeard) -> list[_Pending]:
        if event.kind == "agent":
            return self._agent()
        if event.kind == "progress":
            return self._start_progress()
        if event.kind == "not_accepted":
            matter = self._matter(event)
            if matter is not None:
                return self._explain(matter)
        if event.kind == "department" and event.department in self._reg.departments:
            if event.confirm:
                return self._confirm(event.department, event.name or "")
            return self._understood(event.department, event.name or "")
        return self._reask()

    def _understood(self, department: str, intent_name: str) -> list[_Pending]:
        intent = self._reg.intents.get(intent_name)
        if intent is not None and intent.answer is not None:
            return self._selfservice(intent.answer)
        return self._department_route(department)

    def _confirm(self, department: str, intent_name: str) -> list[_Pending]:
        """「您要反映的是社保方面的问题吗？是请按1，不是请按2」 — asked once, before routing."""
        self._waiting = _Waiting("confirm", department, intent_name)
        text = fill(self._plan.settings.prompts.confirm, topic=confirm_topic(self._plan, department))
        return [Collect(confirm_prompt_id(department), text, 1, self._menu_timeout(), False)]

    def _on_confirm(self, event: Event) -> list[_Pending]:
        assert self._waiting is not None
        department, intent_name = self._waiting.subject, self._waiting.name
        key = event.digits.strip() if isinstance(event, DigitsEntered) else ""
        if key == "1":
            return self._understood(department, intent_name)
        if key == "0":
            return self._agent()
        return self._reask()

    def _reask(self) -> list[_Pending]:
        """Speech not understood (or the caller said no): one short second try, then an agent."""
        if self._reasked:
            return self._agent(route="agent-after-reask")
        self._reasked = True
        menu = self._menu()
        self._waiting = _Waiting("menu", menu.id)
        return [Collect("prompt.reask", self._plan.settings.prompts.reask, 1, menu.timeout_s, menu.speech)]

    def _matter(self, event: SpeechHeard) -> NotAcceptedMatter | None:
        for key in (event.name, event.target):
            if key and key in self._reg.matters:
                return self._reg.matters[key]
        return next((m for m in self._plan.not_accepted if event.target and event.target == m.channel), None)

    # -- outcomes -----------------------------------------------------------------------------

    def _transfer_prompt(self) -> list[_Pending]:
        return [Play("transfer.agent", self._plan.settings.prompts.agent)]

    def _agent(self, route: str = "agent") -> list[_Pending]:
        queue = self._reg.line_queue(self._line)
        return self._transfer_prompt() + [self._decide(action="queue", queue=queue, route=route)]

    def _department_route(self, department: str) -> list[_Pending]:
        """A 12345 caller whose matter belongs to `department` (picked by key or by speech)."""
        target = self._reg.department_route(department)
        self._department = department
        if target.kind == "general":
            return self._transfer_prompt() + [
                self._decide(action="queue", queue=target.queue, route="department")
            ]
        text = fill(self._plan.settings.prompts.handoff, department=department)
        hint = Play(f"transfer.department.{target.line.number if target.line else department}", text)
        if target.kind == "parallel":
            return [hint, self._decide(action="queue", queue=target.queue, route="parallel")]
        if target.line is not None and target.line.number == self._dnis:
            # Already on the sub-center's own number: its queue, no hand-off.
            return [hint, self._decide(action="queue", queue=target.line.queue, route="subcenter")]
        if target.trunk is not None:
            return [
                hint,
                self._decide(
                    action="transfer",
                    queue=None,
                    target=target.trunk,
                    route="subcenter-handoff",
                    ticket_variable=target.ticket_variable,
                ),
            ]
        return [
            hint,
            self._decide(
                action="queue",
                queue=target.queue,
                route="subcenter-handoff",
                ticket_variable=target.ticket_variable,
            ),
        ]

    def _emergency(self, number: str) -> list[_Pending]:
        text = fill(self._plan.settings.prompts.emergency, number=number)
        return [
            Play(f"emergency.{number}", text),
            self._decide(
                action="emergency", queue=None, target=number, route="emergency", ticket_type="emergency"
            ),
        ]

    # -- self-service, not-accepted, progress -------------------------------------------------

    def _selfservice(self, answer_id: str) -> list[_Pending]:
        answer = self._reg.answers[answer_id]
        self._waiting = _Waiting("selfservice", answer_id)
        offer = self._plan.settings.prompts.selfservice_offer
        return [
            Play(f"selfservice.{answer_id}", answer.text),
            Collect("prompt.selfservice_offer", offer, 1, self._menu_timeout(), False),
        ]

    def _on_selfservice(self, event: Event) -> list[_Pending]:
        answer_id = self._waiting.subject if self._waiting else ""
        key = event.digits.strip() if isinstance(event, DigitsEntered) else ""
        if key == "0" or (isinstance(event, SpeechHeard) and event.kind == "agent"):
            return self._agent(route="selfservice-agent")
        if key == "*":
            return self._selfservice(answer_id)
        if key == "#" and self._menus:
            return [self._collect_menu()]
        # Heard the answer and asked for nothing more: served without an agent.
        return [
            self._decide(
                action="selfservice",
                queue=None,
                route="selfservice",
                ticket_type="consultation",
                selfservice_answer=answer_id,
            )
        ]

    def _explain(self, matter: NotAcceptedMatter) -> list[_Pending]:
        self._waiting = _Waiting("explain", matter.id)
        offer = self._plan.settings.prompts.explain_offer
        return [
            Play(f"not_accepted.{matter.id}", f"{matter.explanation}{matter.channel}"),
            Collect("prompt.explain_offer", offer, 1, self._menu_timeout(), False),
        ]

    def _on_explain(self, event: Event) -> list[_Pending]:
        matter = self._reg.matters[self._waiting.subject if self._waiting else ""]
        key = event.digits.strip() if isinstance(event, DigitsEntered) else ""
        if key == "0" or (isinstance(event, SpeechHeard) and event.kind == "agent"):
            return self._agent(route="not-accepted-agent")
        if key == "*":
            return self._explain(matter)
        if key == "#" and self._menus:
            return [self._collect_menu()]
        return [
            self._decide(
                action="explain",
                queue=None,
                target=matter.id,
                route="not-accepted",
                ticket_type="not_accepted",
            )
        ]

    def _start_progress(self) -> list[_Pending]:
        self._failures = 0
        return self._progress()

    def _progress(self) -> list[_Pending]:
        self._waiting = _Waiting("progress")
        text = self._plan.settings.prompts.progress_entry
        return [Collect("prompt.progress_entry", text, PROGRESS_MAX_DIGITS, PROGRESS_TIMEOUT_S, False)]

    def _on_progress(self, event: Event) -> list[_Pending]:
        digits = event.digits.strip().rstrip("#") if isinstance(event, DigitsEntered) else ""
        if digits == "0" or (isinstance(event, SpeechHeard) and event.kind == "agent"):
            return self._agent()
        if digits == "*":
            return self._progress()
        if digits.isdigit():
            return [
                self._decide(
                    action="selfservice",
                    queue=None,
                    route="progress",
                    ticket_type="progress",
                    ticket_number=digits,
                )
            ]
        self._failures += 1
        if self._failures > self._menu_retries():
            return self._agent(route="agent-after-retries")
        return [Play("prompt.timeout", self._plan.settings.prompts.timeout), *self._progress()]

    def _menu_timeout(self) -> int:
        return self._menu().timeout_s if self._menus else 6

    def _menu_retries(self) -> int:
        return self._menu().retries if self._menus else 2
