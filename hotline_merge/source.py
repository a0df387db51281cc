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
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceStartEvent,
)
from ruamel.yaml.reader import ReaderError

from hotline_merge.exceptions import DialplanIssue

Path_ = tuple[str | int, ...]

# Sections holding one mapping; every other top-level section is a list that files extend.
SINGLE_SECTIONS = frozenset({"version", "settings"})

# Bounds on what one file may ask of the loader. The shipped dialplan is ~60 KB, nests 7 deep and
# expands to ~5000 nodes; these leave room for a large city and refuse a hostile file at once.
MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 200_000  # after alias expansion (a "billion laughs" file expands exponentially)


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


def _plain(node: Any, file: str, path: Path_, source: SourceMap, errors: list[DialplanIssue]) -> Any:
    """Copy a round-trip node into dicts/lists/scalars, recording marks under `path`."""
    if isinstance(node, CommentedMap):
        out: dict[str, Any] = {}
        for key, value in node.items():
            # Menu digits written bare (`1:`) arrive as ints; a digit cannot lose a leading zero.
            skey = str(key) if isinstance(key, int) and not isinstance(key, bool) else key
            kline, kcol = node.lc.key(key)
            vline, vcol = node.lc.value(key)
            child = (*path, skey)
            if skey in out:  # `03:` and `3:` are one key once read as a digit
                errors.append(Mark(file, kline + 1, kcol + 1).issue(
                    f"duplicate key '{skey}' (first at {source.keys[child]})"))
                continue
            source.keys[child] = Mark(file, kline + 1, kcol + 1)
            source.values[child] = Mark(file, vline + 1, vcol + 1)
            out[skey] = _plain(value, file, child, source, errors)
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for index, value in enumerate(node):
            line, col = node.lc.item(index)
            child = (*path, index)
            source.values[child] = Mark(file, line + 1, col + 1)
            items.append(_plain(value, file, child, source, errors))
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


def _position(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of a character index."""
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _decode(name: str, data: bytes) -> tuple[str | None, DialplanIssue | None]:
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = len(data[data.rfind(b"\n", 0, exc.start) + 1:exc.start].decode("utf-8", "replace")) + 1
        return None, DialplanIssue(name, line, col, f"not UTF-8: byte 0x{data[exc.start]:02x} cannot start or "
                                                    "continue a character (save the file as UTF-8)")


def _flow_depth(name: str, text: str) -> DialplanIssue | None:
    """The first `[` or `{` nested deeper than MAX_DEPTH, found in one linear pass. ruamel's
    scanner is quadratic in flow nesting (it rechecks every open level per token), so this
    runs before it. Quoted text and comments are skipped; a quote state ends with its line."""
    depth = 0
    line, col0 = 1, 0
    quote = ""
    prev = "\n"
    for i, ch in enumerate(text):
        if ch == "\n":
            line, col0, quote = line + 1, i + 1, ""
        elif quote:
            if ch == quote and not (quote == '"' and prev == "\\"):
                quote = ""
        elif ch in "\"'" and prev in " \t[{,:\n":
            quote = ch
        elif ch == "#" and prev in " \t\n":
            quote = "\n"  # a comment runs to the end of the line
        elif ch in "[{":
            depth += 1
            if depth >= MAX_DEPTH:
                return DialplanIssue(name, line, i - col0 + 1, f"nested deeper than {MAX_DEPTH} levels")
        elif ch in "]}":
            depth = max(0, depth - 1)
        prev = ch
    return None


def prescan(name: str, text: str) -> list[DialplanIssue]:
    """Walk the YAML event stream (iteratively: no recursion, nothing built) and refuse what
    the loader must not try: nesting deeper than MAX_DEPTH, more than MAX_NODES nodes after
    alias expansion, and duplicate keys, including `3:` beside `"3":` (one digit for a menu).
    Syntax errors are left to the loader, which reports them with their position."""
    too_deep = _flow_depth(name, text)
    if too_deep is not None:
        return [too_deep]
    issues: list[DialplanIssue] = []
    # per open collection: [is_mapping, expecting_key, keys seen {text: mark}, total at start, anchor]
    frames: list[list[Any]] = []
    sizes: dict[str, int] = {}
    total = 0

    def mark_of(event: Any) -> Mark:
        return Mark(name, event.start_mark.line + 1, event.start_mark.column + 1)

    def as_child(event: Any) -> None:
        """A node arrived in the current collection: check it as a key, then flip key/value."""
        if not frames or not frames[-1][0]:
            return
        frame = frames[-1]
        if frame[1] and isinstance(event, ScalarEvent) and event.value != "<<":
            first = frame[2].get(event.value)
            if first is not None:
                issues.append(mark_of(event).issue(f"duplicate key '{event.value}' (first at {first}); "
                                                   "one of the two would be silently dropped"))
            else:
                frame[2][event.value] = mark_of(event)
        frame[1] = not frame[1]

    try:
        for event in YAML(typ="rt").parse(text):
            if isinstance(event, MappingStartEvent | SequenceStartEvent):
                as_child(event)
                if len(frames) >= MAX_DEPTH:
                    issues.append(mark_of(event).issue(f"nested deeper than {MAX_DEPTH} levels"))
                    return issues
                total += 1
                frames.append([isinstance(event, MappingStartEvent), True, {}, total - 1, event.anchor])
            elif isinstance(event, CollectionEndEvent):
                frame = frames.pop()
                if frame[4]:
                    sizes[frame[4]] = total - frame[3]
            elif isinstance(event, ScalarEvent):
                as_child(event)
                total += 1
                if event.anchor:
                    sizes[event.anchor] = 1
            elif isinstance(event, AliasEvent):
                as_child(event)
                total += sizes.get(event.anchor, 1)
            else:
                continue
            if total > MAX_NODES:
                issues.append(mark_of(event).issue(
                    f"the document grows past {MAX_NODES} nodes here (alias expansion); refusing to expand it"))
                return issues
    except YAMLError:
        pass  # the loader reports the syntax error with its position
    return issues


def read_documents(files: Iterable[Path]) -> ParsedDocument:
    """Parse and merge the files; syntax errors are collected, not raised."""
    merged: dict[str, Any] = {}
    source = SourceMap()
    errors: list[DialplanIssue] = []
    section_owner: dict[str, Mark] = {}
    for path in files:
        name = str(path)
        # what the whole document lacks (a missing section) is reported at the top of its first file
        source.values.setdefault((), Mark(name, 1, 1))
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                errors.append(DialplanIssue(name, 1, 1, f"file is {size} bytes, at most {MAX_FILE_BYTES}"))
                continue
            data = path.read_bytes()
        except OSError as exc:
            errors.append(DialplanIssue(name, 1, 1, f"cannot read file: {exc.strerror or exc}"))
            continue
        text, issue = _decode(name, data)
        if issue is not None or text is None:
            errors.append(issue or DialplanIssue(name, 1, 1, "cannot read file"))
            continue
        early = prescan(name, text)
        if early:
            errors.extend(early)
            continue
        try:
            root = _yaml().load(text)
        except MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            problem = " ".join(str(p) for p in (exc.context, exc.problem) if p)
            errors.append(DialplanIssue(name, line, col, f"YAML syntax error: {problem}"))
            continue
        except ReaderError as exc:
            line, col = _position(text, exc.position)
            errors.append(DialplanIssue(name, line, col, f"character U+{exc.character:04X} is not allowed in YAML"
                                        if isinstance(exc.character, int) else f"YAML: {exc.reason}"))
            continue
        except YAMLError as exc:
            errors.append(DialplanIssue(name, 1, 1, f"YAML syntax error: {exc}"))
            continue
        except RecursionError:  # prescan caps nesting; this is the net under it
            errors.append(DialplanIssue(name, 1, 1, f"nested deeper than {MAX_DEPTH} levels"))
            continue
        if root is None:
            continue
        if not isinstance(root, CommentedMap):
            errors.append(DialplanIssue(name, 1, 1, "a dialplan file must be a mapping of sections"))
            continue
        file_source = SourceMap()
        plain = _plain(root, name, (), file_source, errors)
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
