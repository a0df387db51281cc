"""`hotline dialplan check`: each rule, with the exact FILE:LINE:COL it reports.

Every test breaks the small valid dialplan in one place and asserts that the error
points at that place (line and column found in the edited text, not guessed).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hotline_merge.exceptions import DialplanInvalid
from hotline_merge.loader import load_dialplan, validate_dialplan
from tests.hotline_merge.clirun import run_cli
from tests.hotline_merge.conftest import locate

Writer = Callable[..., Path]


def errors_of(path: Path) -> list[str]:
    plan, errors = validate_dialplan(path)
    assert plan is None, "expected the dialplan to be rejected"
    return [str(e) for e in errors]


def assert_error_at(path: Path, text: str, needle: str, fragment: str, nth: int = 0) -> None:
    line, col = locate(text, needle, nth)
    prefix = f"{path}:{line}:{col}: "
    errors = errors_of(path)
    hits = [e for e in errors if e.startswith(prefix) and fragment in e]
    assert hits, f"no error at {prefix!r} mentioning {fragment!r}; got {errors}"


def edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"fixture edit is ambiguous: {old!r}"
    return text.replace(old, new)


def test_small_fixture_is_valid(write_yaml: Writer, small_text: str) -> None:
    plan, errors = validate_dialplan(write_yaml(small_text))
    assert errors == [] and plan is not None


def test_yaml_syntax_error(write_yaml: Writer, small_text: str) -> None:
    text = edit(small_text, "    name: 人社热线\n", "    name: 人社: 热线\n")
    path = write_yaml(text)
    line, col = locate(text, ": 热线")
    assert errors_of(path) == [f"{path}:{line}:{col}: YAML syntax error: mapping values are not allowed here"]


def test_duplicate_yaml_key_is_a_syntax_error(write_yaml: Writer, small_text: str) -> None:
    text = edit(small_text, "    queue: hrss\n", "    queue: hrss\n    queue: general\n")
    path = write_yaml(text)
    line, col = locate(text, "queue: hrss")
    assert_error_at(path, text, "queue: general", f"duplicate key 'queue' (first at {path}:{line}:{col})", nth=1)


def test_unknown_key(write_yaml: Writer, small_text: str) -> None:
    text = edit(small_text, "    queue: tax\n", "    queue: tax\n    colour: red\n")
    path = write_yaml(text)
    assert_error_at(path, text, "colour", "lines[3]: unknown key 'colour'")


def test_unknown_key_in_nested_mapping(write_yaml: Writer, small_text: str) -> None:
    text = edit(small_text, '"1": {expert: hrss}', '"1": {expert: hrss, colour: red}')
    path = write_yaml(text)
    assert_error_at(path, text, "colour", "unknown key 'colour'")


def test_missing_required_field(write_yaml: Writer, small_text: str) -> None:
    text = edit(small_text, "    name: 人社热线\n", "")
    path = write_yaml(text)
    # A missing field points at the mapping that lacks it (its first key).
    assert_error_at(path, text, 'number: "12333"', "lines[2]: missing required field 'name'")


def test_missing_field_required_by_mode(write_yaml: Writer, small_text: str) -> None:
    text = edit(small_text, "    queue: hrss\n", "")
    path = write_yaml(text)
    assert_error_at(path, text, 'number: "12333"', "mode 'parallel' needs 'queue'")


def test_field_refused_by_mode(write_yaml: Writer, small_text: str) -> None:
    text = edit(small_text, "    mode: merged\n", "    mode: merged\n    queue: general\n")
    path = write_yaml(text)
    assert_error_at(path, text, "queue: general\n    transition", "not allowed for mode 'merged'")


def test_duplicate_number_without_shared_route(write_yaml: Writer, small_text: str) -> None:
    text = edit(small_text, 'number: "12349"', 'number: "12333"')
    path = write_yaml(text)
    # The second line on 12333 (list order) is the one reported, at its number.
    assert_error_at(path, text, '"12333"', "without an explicit shared-number route", nth=1)
    assert_error_at(path, text, '"12333"', "without an explicit shared-number route", nth=0)


SHARED_LINES = """\
  - {id: svc-a, number: "2253337", name: 服务A, department: 市民政局, mode: merged, shared_menu: shared}
  - {id: svc-b, number: "2253337", name: 服务B, department: 市民政局, mode: merged, shared_menu: shared}
departments:"""
SHARED_MENU = """\
  - id: shared
    prompt: 服务A请按1，服务B请按2。
    options:
      "1": {line: svc-a}
      "2": {line: svc-b}
selfservice:"""


def test_duplicate_number_with_shared_menu_is_valid(write_yaml: Writer, small_text: str) -> None:
    text = edit(small_text, "departments:", SHARED_LINES)
    text = edit(text, "\nselfservice:", "\n" + SHARED_MENU)
    plan = load_dialplan(write_yaml(text))
    assert [line.key for line in plan.lines if line.number == "2253337"] == ["svc-a", "svc-b"]


def test_shared_menu_must_route_every_line(write_yaml: Writer, small_text: str) -> None:
    text = edit(small_text, "departments:", SHARED_LINES)
    text = edit(text, "\nselfservice:", "\n" + SHARED_MENU.replace('      "2": {line: svc-b}\n', ""))
    path = write_yaml(text)
    assert_error_at(path, text, '"2253337"', "is not routed by shared menu 'shared'", nth=1)


@pytest.mark.parametrize(
    ("old", "new", "needle", "fragment"),
    [
        (
            "    department: 市人社局\n",
            "    department: 市人设局\n",
            "市人设局",
            "unknown department '市人设局'",
        ),
        ("{department: 市税务局}", "{department: 市税物局}", "市税物局", "unknown department '市税物局'"),
        ("    queue: tax\n", "    queue: taxes\n", "taxes", "lines[3].queue: unknown queue 'taxes'"),
        ('"3": {menu: more}', '"3": {menu: mroe}', "mroe", "unknown menu 'mroe'"),
        ("    menu: hrss\n", "    menu: hrs\n", "hrs\n", "lines[2].menu: unknown menu 'hrs'"),
        ("{selfservice: answer}", "{selfservice: answr}", "answr", "unknown self-service answer 'answr'"),
        ("{agent: a2}", "{agent: a9}", "a9", "unknown agent 'a9'"),
    ],
)
def test_unknown_references(
    write_yaml: Writer, small_text: str, old: str, new: str, needle: str, fragment: str
) -> None:
    text = edit(small_text, old, new)
    path = write_yaml(text)
    assert_error_at(path, text, needle, fragment)


def test_menu_cycle_with_no_way_out(write_yaml: Writer, small_text: str) -> None:
    text = edit(
        small_text, '      "3": {menu: more}\n', '      "3": {menu: more}\n      "4": {menu: loop-a}\n'
    )
    text = edit(
        text,
        "\nselfservice:",
        """
  - id: loop-a
    prompt: 甲。
    options: {"1": {menu: loop-b}}
  - id: loop-b
    prompt: 乙。
    options: {"1": {menu: loop-a}}
selfservice:""",
    )
    path = write_yaml(text)
    assert_error_at(path, text, "loop-a\n", "menus loop-a -> loop-b -> loop-a form a cycle with no way out")


def test_menu_cycle_with_an_exit_is_fine(write_yaml: Writer, small_text: str) -> None:
    # more -> back to main is a loop, but both menus also lead to departments.
    text = edit(
        small_text,
        '      "3": {department: 市民政局}\n',
        '      "3": {department: 市民政局}\n      "4": {menu: main}\n',
    )
    plan, errors = validate_dialplan(write_yaml(text))
    assert errors == [] and plan is not None


def test_unreachable_menu(write_yaml: Writer, small_text: str) -> None:
    text = edit(
        small_text,
        "\nselfservice:",
        '\n  - id: orphan\n    prompt: 没人来。\n    options: {"1": {agent: true}}\nselfservice:',
    )
    path = write_yaml(text)
    assert_error_at(path, text, "orphan", "menu 'orphan' is unreachable")


@pytest.mark.parametrize("number", ["119", "110", "120", "122"])
def test_line_claiming_an_emergency_number(write_yaml: Writer, small_text: str, number: str) -> None:
    # 110/120/122 are refused even though this dialplan's emergencies list only 119.
    text = edit(small_text, 'number: "12349"', f'number: "{number}"')
    path = write_yaml(text)
    assert_error_at(path, text, f'"{number}"', f"{number} is an emergency number")


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        ("20:00-08:00", "ends before it starts"),
        ("25:00-26:00", "hours run 00-23"),
        ("08:00-08:00", "ends before it starts"),
        ("8-20", "expected HH:MM-HH:MM"),
    ],
)
def test_invalid_time_range(write_yaml: Writer, small_text: str, bad: str, fragment: str) -> None:
    text = edit(small_text, '["08:00-20:00"]', f'["09:00-12:00", "{bad}"]')
    path = write_yaml(text)
    assert_error_at(path, text, f'"{bad}"', f"hours[1].open[1]: invalid time range '{bad}'")
    assert_error_at(path, text, f'"{bad}"', fragment)


def test_invalid_holiday_range(write_yaml: Writer, small_text: str) -> None:
    text = edit(
        small_text,
        "\nselfservice:",
        "\nholidays:\n  - {date: 2026-10-07, until: 2026-10-01, name: 国庆}\nselfservice:",
    )
    path = write_yaml(text)
    assert_error_at(path, text, "2026-10-01", "invalid date range")


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ("prompt: 专家请按1。", 'prompt: ""', '""'),
        ("prompt: 专家请按1。", 'prompt: "   "', '"   "'),
        ("invalid_prompt: 按键有误。", "invalid_prompt: ''", "''"),
        ("text: 这是自助答案。", 'text: ""', '""'),
        ("after_hours_prompt: 现在是非工作时间，请留言。", 'after_hours_prompt: " "', '" "'),
    ],
)
def test_empty_prompt(write_yaml: Writer, small_text: str, old: str, new: str, needle: str) -> None:
    text = edit(small_text, old, new)
    path = write_yaml(text)
    assert_error_at(path, text, needle, "prompt text is empty")


def test_reserved_digit_in_menu(write_yaml: Writer, small_text: str) -> None:
    text = edit(
        small_text, '      "1": {expert: hrss}\n', '      "1": {expert: hrss}\n      "0": {agent: true}\n'
    )
    path = write_yaml(text)
    assert_error_at(path, text, '"0"', "digit '0' is not allowed")


def test_unquoted_phone_number(write_yaml: Writer, small_text: str) -> None:
    text = edit(small_text, 'number: "12366"', "number: 12366")
    path = write_yaml(text)
    assert_error_at(path, text, "12366", "write this as a quoted string")


def test_subcenter_must_be_open_7x24(write_yaml: Writer, small_text: str) -> None:
    text = edit(small_text, "    handoff: {queue: tax}\n", "    handoff: {queue: tax}\n    hours: day\n")
    path = write_yaml(text)
    assert_error_at(path, text, "day\n", "a sub-center answers 7x24")


def test_errors_in_a_folder_name_the_file_they_are_in(tmp_path: Path, small_text: str) -> None:
    head, _, menus = small_text.partition("menus:\n")
    menus = menus.replace("{menu: more}", "{menu: nowhere}")
    (tmp_path / "a.yaml").write_text(head, encoding="utf-8")
    second = "menus:\n" + menus
    (tmp_path / "b.yaml").write_text(second, encoding="utf-8")
    line, col = locate(second, "nowhere")
    assert (
        f"{tmp_path / 'b.yaml'}:{line}:{col}: menus[0].options.3.menu: unknown menu 'nowhere'"
        in errors_of(tmp_path)
    )


def test_single_section_twice_across_files(tmp_path: Path, small_text: str) -> None:
    (tmp_path / "a.yaml").write_text(small_text + "settings: {default_hours: 7x24}\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("settings: {default_hours: day}\n", encoding="utf-8")
    errors = errors_of(tmp_path)
    assert any(
        e.startswith(f"{tmp_path / 'b.yaml'}:1:1: section 'settings' is already defined") for e in errors
    )


def test_all_errors_are_reported_sorted(write_yaml: Writer, small_text: str) -> None:
    text = edit(small_text, "    department: 市人社局\n", "    department: 市人设局\n")
    text = edit(text, '"3": {menu: more}', '"3": {menu: mroe}')
    path = write_yaml(text)
    with pytest.raises(DialplanInvalid) as info:
        load_dialplan(path)
    positions = [(e.line, e.col) for e in info.value.errors]
    assert len(positions) >= 2 and positions == sorted(positions)


def test_check_cli_exit_codes(
    write_yaml: Writer, small_text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write_yaml(small_text, "good.yaml")
    assert run_cli(["dialplan", "check", str(good)]) == 0
    capsys.readouterr()

    text = edit(small_text, "    queue: tax\n", "    queue: taxes\n")
    bad = write_yaml(text, "bad.yaml")
    assert run_cli(["dialplan", "check", str(bad)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    line, col = locate(text, "taxes")
    assert err == [f"{bad}:{line}:{col}: lines[3].queue: unknown queue 'taxes'"]

    assert run_cli(["dialplan", "check", str(bad.parent / "missing.yaml")]) == 2
    assert run_cli(["dialplan", "check", "--bogus"]) == 2


def test_shipped_dialplan_passes_check(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.hotline_merge.conftest import DIALPLANS

    assert run_cli(["dialplan", "check", str(DIALPLANS)]) == 0
    assert capsys.readouterr().err == ""


def test_a_menu_with_more_options_than_a_caller_keeps_in_mind(write_yaml: Writer, small_text: str) -> None:
    crowded = edit(small_text, '      "3": {menu: more}\n',
                   '      "3": {menu: more}\n' + "".join(f'      "{d}": {{department: 市民政局}}\n' for d in "4567"))
    path = write_yaml(crowded)
    errors = errors_of(path)
    assert any("menu 'main' has 7 options; at most 5 (settings.limits.menu_options)" in e for e in errors), errors
    line = next(i for i, row in enumerate(crowded.splitlines(), 1) if row.strip() == '"1": {department: 市人社局}')
    assert any(e.startswith(f"{path}:{line}:") for e in errors), errors
    relaxed = crowded.replace("menus:\n", "settings:\n  limits: {menu_options: 7}\nmenus:\n", 1)
    assert validate_dialplan(write_yaml(relaxed))[1] == []


def test_ask_back_floor_above_accept_is_refused(write_yaml: Writer, small_text: str) -> None:
    path = write_yaml("settings:\n  speech: {accept: 0.3, confirm_floor: 0.6}\n" + small_text)
    assert any("settings.speech.confirm_floor: 0.6 is above accept (0.3)" in e for e in errors_of(path))
