"""Loading a dialplan: YAML -> schema -> whole-document checks, every error as FILE:LINE:COL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hotline_merge.checks import check_dialplan
from hotline_merge.exceptions import DialplanInvalid, DialplanIssue
from hotline_merge.models import Dialplan
from hotline_merge.source import SourceMap, dialplan_files, dotted, read_documents


def validate_dialplan(path: Path) -> tuple[Dialplan | None, list[DialplanIssue]]:
    """The dialplan and no errors, or None and every error found (sorted by position)."""
    files = dialplan_files(path)
    if not files:
        return None, [DialplanIssue(str(path), 1, 1, "no *.yaml files in this folder")]
    if not files[0].exists():
        return None, [DialplanIssue(str(path), 1, 1, "no such file or folder")]
    doc = read_documents(files)
    if doc.errors:
        return None, sorted(doc.errors)
    try:
        plan = Dialplan.model_validate(doc.data)
    except ValidationError as exc:
        return None, sorted(_schema_issue(e, doc.source) for e in exc.errors())
    errors = check_dialplan(plan, doc.source)
    if errors:
        return None, sorted(errors)
    return plan, []


def load_dialplan(path: Path | str) -> Dialplan:
    plan, errors = validate_dialplan(Path(path))
    if plan is None:
        raise DialplanInvalid(errors)
    return plan


def _schema_issue(error: Any, source: SourceMap) -> DialplanIssue:
    loc = tuple(error["loc"])
    kind = error["type"]
    if loc and loc[-1] == "[key]":
        # A bad mapping key (a menu digit): point at the key itself.
        path = loc[:-1]
        if path[-2:-1] == ("options",):
            return source.key(path).issue(
                f"{dotted(path[:-1])}: digit '{path[-1]}' is not allowed; use 1-9 "
                "(0 = agent, * = repeat and # = back work in every menu)"
            )
        return source.key(path).issue(f"{dotted(path)}: bad key: {error['msg']}")
    if kind == "missing":
        return source.value(loc[:-1]).issue(
            f"{dotted(loc[:-1]) or 'document'}: missing required field '{loc[-1]}'"
        )
    if kind == "extra_forbidden":
        return source.key(loc).issue(f"{dotted(loc[:-1]) or 'document'}: unknown key '{loc[-1]}'")
    if (
        kind == "string_type"
        and isinstance(error.get("input"), int | float)
        and not isinstance(error["input"], bool)
    ):
        return source.value(loc).issue(
            f'{dotted(loc)}: write this as a quoted string (e.g. "{error["input"]}")'
        )
    message = error["msg"]
    if kind == "value_error":
        message = str(error.get("ctx", {}).get("error", message))
    return source.value(loc).issue(f"{dotted(loc)}: {message}")
