"""Reading dialplan YAML into plain data while remembering where every key and value sits.

ruamel.yaml's round-trip loader keeps 0-based line/column marks on mappings and
sequences; we copy them into a `SourceMap` keyed by the path of each node in the
*merged* document (several files may each contribute lines, menus, ...), so later
validation can point at `FILE:LINE:COL` with 1-based numbers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from hotline_merge.exceptions import DialplanIssue

Path_ = tuple[str | int, ...]

# Sections holding one mapping; every other top-level section is a list that files extend.
SINGLE_SECTIONS = frozenset({"version", "settings"})


@dataclass(frozen=True)
class Mark:
    file: str
    line: int  # 1-based
    col: int  # 1-based

    def issue(self, message: str) -> DialplanIssue:
        return DialplanIssue(self.file, self.line, self.col, message)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass
class SourceMap:
    """Where each node of the merged document came from."""

    values: dict[Path_, Mark] = field(default_factory=dict)
    keys: dict[Path_, Mark] = field(default_factory=dict)

    def value(self, path: Path_) -> Mark:
        """The node itself, or its nearest ancestor that has a mark (a missing field points at its parent)."""
        for cut in range(len(path), -1, -1):
            mark = self.values.get(path[:cut])
            if mark is not None:
                return mark
        return Mark("<dialplan>", 1, 1)

    def key(self, path: Path_) -> Mark:
        """The key naming the node (for unknown keys), falling back to the value."""
        return self.keys.get(path) or self.value(path)


@dataclass
class ParsedDocument:
    data: dict[str, Any]
    source: SourceMap
    errors: list[DialplanIssue]


def dialplan_files(path: Path) -> list[Path]:
    """A file, or every *.yaml / *.yml directly in a folder, in name order (the merge order)."""
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in {".yaml", ".yml"} and p.is_file())
    return [path]


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    return yaml


def _plain(node: Any, file: str, path: Path_, source: SourceMap) -> Any:
    """Copy a round-trip node into dicts/lists/scalars, recording marks under `path`."""
    if isinstance(node, CommentedMap):
        out: dict[str, Any] = {}
        for key, value in node.items():
            # Menu digits written bare (`1:`) arrive as ints; a digit cannot lose a leading zero.
            skey = str(key) if isinstance(key, int) and not isinstance(key, bool) else key
            kline, kcol = node.lc.key(key)
            vline, vcol = node.lc.value(key)
            child = (*path, skey)
            source.keys[child] = Mark(file, kline + 1, kcol + 1)
            source.values[child] = Mark(file, vline + 1, vcol + 1)
            out[skey] = _plain(value, file, child, source)
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for index, value in enumerate(node):
            line, col = node.lc.item(index)
            child = (*path, index)
            source.values[child] = Mark(file, line + 1, col + 1)
            items.append(_plain(value, file, child, source))
        return items
    if isinstance(node, dt.datetime):
        return dt.datetime.fromisoformat(node.isoformat())
    if isinstance(node, dt.date):
        return dt.date(node.year, node.month, node.day)
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def read_documents(files: Iterable[Path]) -> ParsedDocument:
    """Parse and merge the files; syntax errors are collected, not raised."""
    merged: dict[str, Any] = {}
    source = SourceMap()
    errors: list[DialplanIssue] = []
    section_owner: dict[str, Mark] = {}
    for path in files:
        name = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(DialplanIssue(name, 1, 1, f"cannot read file: {exc}"))
            continue
        try:
            root = _yaml().load(text)
        except MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            problem = " ".join(str(p) for p in (exc.context, exc.problem) if p)
            errors.append(DialplanIssue(name, line, col, f"YAML syntax error: {problem}"))
            continue
        except YAMLError as exc:
            errors.append(DialplanIssue(name, 1, 1, f"YAML syntax error: {exc}"))
            continue
        if root is None:
            continue
        if not isinstance(root, CommentedMap):
            errors.append(DialplanIssue(name, 1, 1, "a dialplan file must be a mapping of sections"))
            continue
        file_source = SourceMap()
        plain = _plain(root, name, (), file_source)
        for section, value in plain.items():
            key_mark = file_source.keys[(section,)]
            if section in SINGLE_SECTIONS or not isinstance(value, list):
                if section in section_owner:
                    errors.append(
                        key_mark.issue(f"section '{section}' is already defined at {section_owner[section]}")
                    )
                    continue
                section_owner[section] = key_mark
                merged[section] = value
                _copy_marks(file_source, (section,), (section,), source)
                continue
            # List sections from several files concatenate; re-key the marks to merged indexes.
            target = merged.setdefault(section, [])
            if not isinstance(target, list):
                errors.append(key_mark.issue(f"section '{section}' must be a list in every file"))
                continue
            source.keys.setdefault((section,), key_mark)
            source.values.setdefault((section,), file_source.values[(section,)])
            offset = len(target)
            target.extend(value)
            _shift_items(file_source, section, offset, source)
    return ParsedDocument(merged, source, errors)


def _copy_marks(src: SourceMap, old: Path_, new: Path_, dst: SourceMap) -> None:
    n = len(old)
    for table_src, table_dst in ((src.values, dst.values), (src.keys, dst.keys)):
        for path, mark in table_src.items():
            if path[:n] == old:
                table_dst[new + path[n:]] = mark


def _shift_items(src: SourceMap, section: str, offset: int, dst: SourceMap) -> None:
    """Marks under `section[i]` of one file become `section[offset + i]` of the merged document,
    in one pass over the file's marks (copying item by item rescanned them all: quadratic)."""
    for table_src, table_dst in ((src.values, dst.values), (src.keys, dst.keys)):
        for path, mark in table_src.items():
            if len(path) >= 2 and path[0] == section and isinstance(path[1], int):
                table_dst[(section, offset + path[1], *path[2:])] = mark


def dotted(path: Path_) -> str:
    """('lines', 3, 'queue') -> 'lines[3].queue', the way messages name a field."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
