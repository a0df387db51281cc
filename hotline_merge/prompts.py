"""Every prompt a dialplan can play, by stable prompt id, so audio can be rendered ahead of calls.

The ids are the ones flow.py emits; a test walks the flows and holds the two in step.
`prompt_fields` says where each prompt's text sits in the YAML (for FILE:LINE in messages) and
`length_issues` compares rendered lengths with the dialplan's `settings.limits`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hotline_merge.flow import confirm_prompt_id, confirm_topic, fill, keypad_text
from hotline_merge.models import Dialplan
from hotline_merge.registry import registry_of
from hotline_merge.source import Path_

_SETTING_PROMPTS = {
    "transfer.agent": "agent",
    "prompt.timeout": "timeout",
    "prompt.selfservice_offer": "selfservice_offer",
    "prompt.explain_offer": "explain_offer",
    "prompt.progress_entry": "progress_entry",
    "prompt.reask": "reask",
}

# Prompts Asterisk plays itself (dialplan, queues.conf), by sound name relative to its sounds
# directory: the engine's prompt library renders prompt id "queue.hold" to sounds/hotline/queue_hold.
PBX_SOUNDS = {
    "pbx.hold": "hotline/pbx_hold",
    "queue.hold": "hotline/queue_hold",
    "queue.fallback_hold": "hotline/queue_fallback_hold",
    "callback.accepted": "hotline/callback_accepted",
    "callback.unavailable": "hotline/callback_unavailable",
}


_PBX_SETTING = {
    "pbx.hold": "hold",
    "queue.hold": "queue_hold",
    "queue.fallback_hold": "fallback_hold",
    "callback.accepted": "callback_accepted",
    "callback.unavailable": "callback_unavailable",
}


def pbx_prompts(dialplan: Dialplan) -> dict[str, str]:
    """The prompts of PBX_SOUNDS with their texts: rendered before Asterisk starts, so they
    play while the engine is down."""
    p = dialplan.settings.prompts
    return {pid: getattr(p, name) for pid, name in _PBX_SETTING.items()}


def prompt_catalog(dialplan: Dialplan) -> dict[str, str]:
    return {pid: text for pid, (text, _field) in _prompts(dialplan).items()}


def prompt_fields(dialplan: Dialplan) -> dict[str, Path_]:
    """Prompt id -> the path of the YAML node holding its text (a default points at `settings`)."""
    return {pid: field for pid, (_text, field) in _prompts(dialplan).items()}


@dataclass(frozen=True)
class LengthIssue:
    prompt_id: str
    seconds: float
    limit: float
    setting: str

    @property
    def detail(self) -> str:
        return f"{self.seconds:.1f} s of audio; limit {self.limit:g} s ({self.setting})"

    def __str__(self) -> str:
        return f"prompt {self.prompt_id} is {self.detail}"


def length_issues(dialplan: Dialplan, seconds: Mapping[str, float]) -> list[LengthIssue]:
    """Prompts longer than the dialplan allows: every menu, and merged numbers' announcements."""
    limits = dialplan.settings.limits
    out: list[LengthIssue] = []
    for pid, length in sorted(seconds.items()):
        if pid.startswith("menu.") and not pid.endswith(".invalid") and length > limits.menu_s:
            out.append(LengthIssue(pid, length, limits.menu_s, "settings.limits.menu_s"))
        elif pid.startswith("line.") and pid.endswith(".transition") and length > limits.transition_s:
            out.append(LengthIssue(pid, length, limits.transition_s, "settings.limits.transition_s"))
    return out


def _prompts(dialplan: Dialplan) -> dict[str, tuple[str, Path_]]:
    reg = registry_of(dialplan)
    p = dialplan.settings.prompts
    out: dict[str, tuple[str, Path_]] = {
        pid: (getattr(p, name), ("settings", "prompts", name)) for pid, name in _SETTING_PROMPTS.items()
    }
    out.update({pid: (text, ("settings", "prompts", _PBX_SETTING[pid])) for pid, text in pbx_prompts(dialplan).items()})
    for i, menu in enumerate(dialplan.menus):
        out[f"menu.{menu.id}"] = (menu.prompt, ("menus", i, "prompt"))
        out[f"menu.{menu.id}.invalid"] = (menu.invalid_prompt, ("menus", i, "invalid_prompt"))
        if menu.speech and keypad_text(menu.prompt) != menu.prompt:
            out[f"menu.{menu.id}.keypad"] = (keypad_text(menu.prompt), ("menus", i, "prompt"))
    index = {id(line): i for i, line in enumerate(dialplan.lines)}
    for number, lines in reg.lines_by_number.items():
        for line in lines:
            if line.transition is not None:
                t = line.transition
                text = fill(t.announcement, name=line.name, number=line.number, department=line.department)
                out[f"line.{number}.transition"] = (text, ("lines", index[id(line)], "transition", "announcement"))
                break
    for i, profile in enumerate(dialplan.hours):
        if profile.after_hours_prompt:
            out[f"hours.{profile.id}.after_hours"] = (profile.after_hours_prompt, ("hours", i, "after_hours_prompt"))
    for i, answer in enumerate(dialplan.selfservice):
        out[f"selfservice.{answer.id}"] = (answer.text, ("selfservice", i, "text"))
    for i, matter in enumerate(dialplan.not_accepted):
        out[f"not_accepted.{matter.id}"] = (f"{matter.explanation}{matter.channel}", ("not_accepted", i, "explanation"))
    for emergency in dialplan.emergencies:
        out[f"emergency.{emergency.number}"] = (
            fill(p.emergency, number=emergency.number), ("settings", "prompts", "emergency")
        )
    for department in dialplan.departments:
        topic = confirm_topic(dialplan, department.name)
        duty = next((i for i, d in enumerate(dialplan.duties) if d.department == department.name), None)
        out[confirm_prompt_id(department.name)] = (
            fill(p.confirm, topic=topic),
            ("duties", duty, "label") if duty is not None else ("settings", "prompts", "confirm"),
        )
        route = reg.department_route(department.name)
        if route.kind != "general":
            key = route.line.number if route.line else department.name
            out[f"transfer.department.{key}"] = (
                fill(p.handoff, department=department.name), ("settings", "prompts", "handoff")
            )
    return dict(sorted(out.items()))
