"""Every prompt a dialplan can play, by stable prompt id, so audio can be rendered ahead of calls.

The ids are the ones flow.py emits; a test walks the flows and holds the two in step.
"""

from __future__ import annotations

from hotline_merge.flow import fill
from hotline_merge.models import Dialplan
from hotline_merge.registry import registry_of


def prompt_catalog(dialplan: Dialplan) -> dict[str, str]:
    reg = registry_of(dialplan)
    p = dialplan.settings.prompts
    out: dict[str, str] = {
        "transfer.agent": p.agent,
        "prompt.timeout": p.timeout,
        "prompt.selfservice_offer": p.selfservice_offer,
        "prompt.explain_offer": p.explain_offer,
        "prompt.progress_entry": p.progress_entry,
    }
    for menu in dialplan.menus:
        out[f"menu.{menu.id}"] = menu.prompt
        out[f"menu.{menu.id}.invalid"] = menu.invalid_prompt
    for number, lines in reg.lines_by_number.items():
        for line in lines:
            if line.transition is not None:
                t = line.transition
                out[f"line.{number}.transition"] = fill(
                    t.announcement, name=line.name, number=line.number, department=line.department
                )
                break
    for profile in dialplan.hours:
        if profile.after_hours_prompt:
            out[f"hours.{profile.id}.after_hours"] = profile.after_hours_prompt
    for answer in dialplan.selfservice:
        # An article's text lives in the knowledge base; the YAML only holds the fallback.
        out[f"selfservice.{answer.id}"] = answer.text or p.selfservice_unavailable
    for matter in dialplan.not_accepted:
        out[f"not_accepted.{matter.id}"] = f"{matter.explanation}{matter.channel}"
    for emergency in dialplan.emergencies:
        out[f"emergency.{emergency.number}"] = fill(p.emergency, number=emergency.number)
    for department in dialplan.departments:
        route = reg.department_route(department.name)
        if route.kind != "general":
            key = route.line.number if route.line else department.name
            out[f"transfer.department.{key}"] = fill(p.handoff, department=department.name)
    return dict(sorted(out.items()))
