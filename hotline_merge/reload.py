"""Hot reload, the pure half: validate a changed dialplan and say what it would change.

The engine swaps `outcome.dialplan` in one assignment and reloads Asterisk only when
`outcome.ok`; an invalid file leaves the running dialplan in place (`keep_or_replace`).
Calls in progress hold their own reference to the dialplan they started with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hotline_merge.compiler import routing_table
from hotline_merge.diff import routing_changes
from hotline_merge.exceptions import DialplanIssue
from hotline_merge.loader import validate_dialplan
from hotline_merge.models import Dialplan


@dataclass(frozen=True)
class ReloadOutcome:
    dialplan: Dialplan | None
    errors: list[DialplanIssue] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.dialplan is not None


def reload_dialplan(path: Path | str, current: Dialplan | None = None) -> ReloadOutcome:
    plan, errors = validate_dialplan(Path(path))
    if plan is None:
        return ReloadOutcome(None, errors)
    changes = routing_changes(routing_table(current), routing_table(plan)) if current is not None else []
    return ReloadOutcome(plan, [], changes)


def keep_or_replace(current: Dialplan, outcome: ReloadOutcome) -> Dialplan:
    """The dialplan to run after a reload attempt: the new one only if it is valid."""
    return outcome.dialplan if outcome.dialplan is not None else current
