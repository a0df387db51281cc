"""Hostile and careless dialplan YAML: each is refused with its position, never a traceback or a stall."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline_merge.loader import validate_dialplan
from hotline_merge.source import MAX_DEPTH, MAX_NODES
from tests.hotline_merge.conftest import SMALL, locate


def _errors(path: Path) -> list[str]:
    plan, errors = validate_dialplan(path)
    assert plan is None, "expected the dialplan to be rejected"
    return [str(e) for e in errors]


def _write(tmp_path: Path, data: str | bytes) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def test_menu_digit_written_bare_and_quoted_is_a_duplicate_with_both_positions(tmp_path: Path) -> None:
    text = SMALL.replace('      "3": {menu: more}\n', '      "3": {menu: more}\n      3: {department: 市民政局}\n')
    path = _write(tmp_path, text)
    first, second = locate(text, '"3": {menu: more}'), locate(text, "3: {department: 市民政局}")
    errors = _errors(path)
    assert any(e.startswith(f"{path}:{second[0]}:{second[1]}: duplicate key '3' (first at {path}:{first[0]}:{first[1]})")
               for e in errors), errors


@pytest.mark.parametrize(("style", "depth"), [("flow", MAX_DEPTH + 1), ("flow", 2000), ("flow", 5000),
                                             ("block", MAX_DEPTH + 1), ("block", 2000)])
def test_deep_nesting_is_refused_at_the_level_that_is_too_deep(tmp_path: Path, depth: int, style: str) -> None:
    if style == "flow":
        text = "lines: " + "[" * depth + "]" * depth + "\n"
    else:  # one mapping level per line
        text = "".join(" " * i + f"k{i}:\n" for i in range(depth)) + " " * depth + "x\n"
    errors = _errors(_write(tmp_path, text))
    assert len(errors) == 1 and f"nested deeper than {MAX_DEPTH} levels" in errors[0], errors
    _file, line, col, _msg = errors[0].split(":", 3)
    # the flow collection that is one too deep, or the block line that opens it
    assert (int(line), int(col)) == ((1, 7 + MAX_DEPTH) if style == "flow" else (MAX_DEPTH + 1, MAX_DEPTH + 1))


@pytest.mark.parametrize("char", ["\x85x\x9b", "\x9b", "\x07", "\ufffe"])
def test_control_characters_are_positioned(tmp_path: Path, char: str) -> None:
    text = SMALL.replace("name: 养老服务热线", f"name: 养老{char}服务热线")
    line, col = locate(text, f"养老{char}")
    errors = _errors(_write(tmp_path, text))
    bad = next(c for c in char if c not in "\x85x")
    expected = f":{line}:{col + 2 + char.index(bad)}:"
    assert any(expected in e and "not allowed" in e for e in errors), (expected, errors)


def test_non_utf8_bytes_are_positioned(tmp_path: Path) -> None:
    text = SMALL.replace("name: 人社热线", "name: 人社\udcff热线")
    data = text.encode("utf-8", "surrogateescape")
    line, col = locate(text, "人社\udcff")
    errors = _errors(_write(tmp_path, data))
    assert len(errors) == 1 and f":{line}:{col + 2}: not UTF-8: byte 0xff" in errors[0], errors


def test_alias_bomb_is_refused_quickly_at_the_alias(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]  # 10^9 nodes
    text = "\n".join(lines) + "\nlines: *a8\n"
    errors = _errors(_write(tmp_path, text))
    assert len(errors) == 1 and f"past {MAX_NODES} nodes" in errors[0]
    # refused where the expansion crosses the bound: on one of the alias lines, not at 1:1
    assert int(errors[0].split(":")[1]) > 1


def test_huge_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = _write(tmp_path, "lines: []\n" + "#" * (5 * 1024 * 1024) + "\n")
    errors = _errors(path)
    assert len(errors) == 1 and "at most" in errors[0] and errors[0].startswith(f"{path}:1:1:")


def test_a_file_of_open_brackets_is_refused_in_linear_time(tmp_path: Path) -> None:
    """ruamel's scanner rechecks every open flow level per token (quadratic); the linear bracket
    pass refuses 3 MB of `[` before ruamel sees it (this would take hours otherwise)."""
    path = _write(tmp_path, "lines: " + "[" * 3_000_000)
    errors = _errors(path)
    assert errors == [f"{path}:1:{7 + MAX_DEPTH}: nested deeper than {MAX_DEPTH} levels"]


def test_brackets_in_quotes_and_comments_do_not_count(tmp_path: Path) -> None:
    deep = "[" * (MAX_DEPTH + 5)
    text = SMALL.replace("name: 人社热线", f"name: '{deep}'  # {deep}")
    plan, errors = validate_dialplan(_write(tmp_path, text))
    assert errors == [] and plan is not None
