"""What a dialplan change does to routing: compares two compiled routing tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hotline_merge.compiler import ROUTING_FORMAT, routing_table
from hotline_merge.exceptions import DialplanInvalid, DialplanIssue
from hotline_merge.loader import load_dialplan

# Fields of a line whose change alters where its callers go.
LINE_FIELDS = ("name", "department", "mode", "queue", "menu", "hours", "transition_until", "handoff")


def load_routing(path: Path) -> dict[str, Any]:
    """A compiled routing.json, or a dialplan YAML file/folder compiled on the fly."""
    if path.is_file() and path.suffix == ".json":
        try:
            table = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DialplanInvalid([DialplanIssue(str(path), 1, 1, f"not a routing table: {exc}")]) from exc
        if not isinstance(table, dict) or table.get("format") != ROUTING_FORMAT:
            raise DialplanInvalid([DialplanIssue(str(path), 1, 1, f"not a {ROUTING_FORMAT} routing table")])
        return table
    return routing_table(load_dialplan(path))


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _lines_by_id(entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {line["id"]: line for line in entry.get("lines", [])}


def routing_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """One line per change: `+` added, `-` removed, `~` changed; empty when routing is the same."""
    out: list[str] = []
    if old.get("general_queue") != new.get("general_queue"):
        out.append(f"~ general queue: {_fmt(old.get('general_queue'))} -> {_fmt(new.get('general_queue'))}")
    old_numbers, new_numbers = old.get("numbers", {}), new.get("numbers", {})
    for number in sorted(old_numbers.keys() | new_numbers.keys()):
        before, after = old_numbers.get(number), new_numbers.get(number)
        if before is None:
            for line in after["lines"]:
                out.append(
                    f"+ number {number} {line['name']}: {line['mode']}, {line['department']} -> {_fmt(line['queue'])}"
                )
            continue
        if after is None:
            for line in before["lines"]:
                out.append(f"- number {number} {line['name']}: no longer answered")
            continue
        if before.get("fallback_queue") != after.get("fallback_queue"):
            out.append(
                f"~ number {number} fallback queue: {_fmt(before.get('fallback_queue'))} -> "
                f"{_fmt(after.get('fallback_queue'))}"
            )
        if before.get("choices") != after.get("choices"):
            out.append(
                f"~ number {number} shared-number choices: {_fmt(before.get('choices'))} -> "
                f"{_fmt(after.get('choices'))}"
            )
        b_lines, a_lines = _lines_by_id(before), _lines_by_id(after)
        for key in sorted(b_lines.keys() | a_lines.keys()):
            b, a = b_lines.get(key), a_lines.get(key)
            label = f"number {number}" + (f" [{key}]" if key != number else "")
            if b is None:
                out.append(f"+ {label} {a['name']}: {a['mode']}, {a['department']} -> {_fmt(a['queue'])}")
            elif a is None:
                out.append(f"- {label} {b['name']}")
            else:
                for field in LINE_FIELDS:
                    if b.get(field) != a.get(field):
                        out.append(f"~ {label} {field}: {_fmt(b.get(field))} -> {_fmt(a.get(field))}")
    out += _mapping_changes("department", old.get("departments", {}), new.get("departments", {}))
    out += _mapping_changes("queue", old.get("queues", {}), new.get("queues", {}))
    old_menus, new_menus = old.get("menus", {}), new.get("menus", {})
    for menu in sorted(old_menus.keys() | new_menus.keys()):
        b, a = old_menus.get(menu), new_menus.get(menu)
        if b is None or a is None:
            out.append(f"{'+' if b is None else '-'} menu {menu}")
            continue
        for digit in sorted(b["options"].keys() | a["options"].keys()):
            if b["options"].get(digit) != a["options"].get(digit):
                out.append(
                    f"~ menu {menu} digit {digit}: {_fmt(b['options'].get(digit))} -> "
                    f"{_fmt(a['options'].get(digit))}"
                )
        for field in ("speech", "timeout_s", "retries"):
            if b.get(field) != a.get(field):
                out.append(f"~ menu {menu} {field}: {_fmt(b.get(field))} -> {_fmt(a.get(field))}")
    out += _mapping_changes("emergency", old.get("emergencies", {}), new.get("emergencies", {}))
    out += _mapping_changes("not-accepted", old.get("not_accepted", {}), new.get("not_accepted", {}))
    out += _mapping_changes("intent", old.get("intents", {}), new.get("intents", {}))
    return out


def _mapping_changes(kind: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    out = []
    for key in sorted(old.keys() | new.keys()):
        b, a = old.get(key), new.get(key)
        if b == a:
            continue
        if b is None:
            out.append(f"+ {kind} {key}: {_fmt(a)}")
        elif a is None:
            out.append(f"- {kind} {key}")
        elif isinstance(b, dict) and isinstance(a, dict):
            for field in sorted(b.keys() | a.keys()):
                if b.get(field) != a.get(field):
                    out.append(f"~ {kind} {key} {field}: {_fmt(b.get(field))} -> {_fmt(a.get(field))}")
        else:
            out.append(f"~ {kind} {key}: {_fmt(b)} -> {_fmt(a)}")
    return out
