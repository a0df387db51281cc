"""The article review workflow (多方校核) as a pure state machine: no database, no clock.

draft -> department_review -> hotline_review -> published -> expired. A department writes and
checks its own articles; the hotline (supervisor/admin) gives the final check. Nobody approves
the version they wrote themselves. Editing a published or expired article opens a new draft;
the published version stays what callers and citizens get until the new one is approved.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from knowledge.exceptions import Forbidden, IllegalTransition


class Status(enum.StrEnum):
    DRAFT = "draft"
    DEPARTMENT_REVIEW = "department_review"  # 部门审核
    HOTLINE_REVIEW = "hotline_review"  # 热线审核
    PUBLISHED = "published"
    EXPIRED = "expired"


class Action(enum.StrEnum):
    EDIT = "edit"
    SUBMIT = "submit"
    DEPARTMENT_APPROVE = "department_approve"
    HOTLINE_APPROVE = "hotline_approve"
    SEND_BACK = "send_back"
    EXPIRE = "expire"


HOTLINE_ROLES = frozenset({"supervisor", "admin"})
EDITOR_ROLES = frozenset({"department", "supervisor", "admin"})


@dataclass(frozen=True)
class Actor:
    """Who acts: `name` is unique per person; `department` is set for role `department`."""

    name: str
    role: str
    department: str | None = None

    @property
    def label(self) -> str:
        return f"{self.role}:{self.name}"

    @property
    def hotline(self) -> bool:
        return self.role in HOTLINE_ROLES


_NEXT: dict[tuple[Status, Action], Status] = {
    (Status.DRAFT, Action.EDIT): Status.DRAFT,
    (Status.PUBLISHED, Action.EDIT): Status.DRAFT,
    (Status.EXPIRED, Action.EDIT): Status.DRAFT,
    (Status.DRAFT, Action.SUBMIT): Status.DEPARTMENT_REVIEW,
    (Status.DEPARTMENT_REVIEW, Action.DEPARTMENT_APPROVE): Status.HOTLINE_REVIEW,
    (Status.DEPARTMENT_REVIEW, Action.SEND_BACK): Status.DRAFT,
    (Status.HOTLINE_REVIEW, Action.HOTLINE_APPROVE): Status.PUBLISHED,
    (Status.HOTLINE_REVIEW, Action.SEND_BACK): Status.DRAFT,
    (Status.PUBLISHED, Action.EXPIRE): Status.EXPIRED,
}


def may_edit(actor: Actor, department: str) -> bool:
    return actor.hotline or (actor.role == "department" and actor.department == department)


def apply(status: Status, action: Action, *, actor: Actor, department: str, author: str) -> Status:
    """The next status, or IllegalTransition / Forbidden. `author` wrote the version under review."""
    nxt = _NEXT.get((status, action))
    if nxt is None:
        allowed = sorted(a.value for (s, a) in _NEXT if s == status)
        raise IllegalTransition(f"{action.value}: not possible while the article is {status.value} (allowed: {allowed})",
                                field="action")  # fmt: skip
    if actor.role not in EDITOR_ROLES:
        raise Forbidden(f"role {actor.role} may only read the knowledge base", field="role")
    own = actor.role == "department" and actor.department == department
    if action in (Action.EDIT, Action.SUBMIT) and not (own or actor.hotline):
        raise Forbidden(f"{department}'s article: only {department} or the hotline may change it", field="department")
    if action == Action.DEPARTMENT_APPROVE:
        if not own:
            raise Forbidden(f"department review: only a reviewer of {department} may approve", field="department")
        if actor.label == author:
            raise Forbidden("department review: the author may not approve their own version", field="actor")
    if action == Action.HOTLINE_APPROVE:
        if not actor.hotline:
            raise Forbidden("hotline review: needs a supervisor or admin", field="role")
        if actor.label == author:
            raise Forbidden("hotline review: the author may not approve their own version", field="actor")
    if action == Action.SEND_BACK:
        reviewer_ok = own if status == Status.DEPARTMENT_REVIEW else actor.hotline
        if not reviewer_ok:
            raise Forbidden(f"send back: not a reviewer at the {status.value} step", field="role")
    if action == Action.EXPIRE and not actor.hotline:
        raise Forbidden("expire: needs a supervisor or admin", field="role")
    return nxt


def available(status: Status, *, actor: Actor, department: str, author: str) -> list[Action]:
    """The workflow actions (not edit) this actor may take now, for showing only usable buttons."""
    out = []
    for (s, action) in _NEXT:
        if s != status or action == Action.EDIT:
            continue
        try:
            apply(status, action, actor=actor, department=department, author=author)
        except (Forbidden, IllegalTransition):
            continue
        out.append(action)
    return out
