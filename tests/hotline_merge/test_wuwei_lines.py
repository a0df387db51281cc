"""The shipped 武威 dialplan against the seed's merge list, and each of its 44 numbers routed by mode."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from hotline_merge.compiler import QUEUES_FILE, compile_dialplan
from hotline_merge.loader import load_dialplan
from hotline_merge.models import Dialplan, Line
from hotline_merge.registry import registry_of
from hotline_merge.simulate import dry_run
from tests.hotline_merge.conftest import DIALPLANS, NIGHT, keys_to

SEED_NAME = "000_e51a27e6d2390085.txt"
SECTION_MODES = {"整体并入": "merged", "双号并行": "parallel", "设分中心": "subcenter"}
SHIPPED = load_dialplan(DIALPLANS)


def parse_merge_list(text: str) -> list[dict[str, str]]:
    """Rows of the attachment table: 序号 名称 号码 责任单位 办理层级 备注, under the three section headers."""
    table = text[text.rindex("12345 热线整合归并清单") :]
    rows: list[dict[str, str]] = []
    mode = None
    for raw in table.splitlines():
        header = re.match(r"^[一二三]、(整体并入|双号并行|设分中心)", raw.strip())
        if header:
            mode = SECTION_MODES[header.group(1)]
            continue
        cells = raw.split("\t")
        if mode and len(cells) >= 5 and cells[0].strip().isdigit():
            rows.append(
                {
                    "name": cells[1].strip(),
                    "number": cells[2].strip(),
                    "department": cells[3].strip(),
                    "mode": mode,
                    "remarks": re.sub(r"\s+", "", cells[5]) if len(cells) > 5 else "",
                }
            )
    return rows


@pytest.fixture(scope="module")
def seed_rows(shared_dir: Path) -> list[dict[str, str]]:
    seed = shared_dir / "seeds" / SEED_NAME
    if not seed.exists():
        pytest.skip(f"seed {seed} is not present; the shipped lines cannot be compared with the source")
    return parse_merge_list(seed.read_text(encoding="utf-8"))


def test_seed_lists_43_numbers_in_three_modes(seed_rows: list[dict[str, str]]) -> None:
    counts = {mode: sum(r["mode"] == mode for r in seed_rows) for mode in SECTION_MODES.values()}
    assert counts == {"merged": 33, "parallel": 8, "subcenter": 2}


def test_shipped_lines_match_the_seed_exactly(wuwei: Dialplan, seed_rows: list[dict[str, str]]) -> None:
    shipped = [
        {"name": line.name, "number": line.number, "department": line.department, "mode": line.mode}
        for line in wuwei.lines
        if line.mode != "main"
    ]
    expected = [{k: r[k] for k in ("name", "number", "department", "mode")} for r in seed_rows]
    assert shipped == expected


def test_every_responsible_unit_is_a_department(wuwei: Dialplan, seed_rows: list[dict[str, str]]) -> None:
    names = {d.name for d in wuwei.departments}
    assert {r["department"] for r in seed_rows} <= names


def test_expert_seats_where_the_remarks_say_so(wuwei: Dialplan, seed_rows: list[dict[str, str]]) -> None:
    reg = registry_of(wuwei)
    with_experts = {r["number"] for r in seed_rows if "设专家席" in r["remarks"]}
    assert with_experts == {"12348", "12333", "12329"}
    queues_conf = compile_dialplan(wuwei)[QUEUES_FILE].decode()
    for number in with_experts:
        (line,) = reg.lines_for(number)
        queue = reg.queues[line.queue or ""]
        assert queue.experts, f"{number}: queue {queue.name} has no expert seats"
        assert f"[{queue.expert_queue}]" in queues_conf
        digits = keys_to(wuwei, line.menu or "", lambda o, q=queue.name: o.expert == q)
        assert digits is not None, f"{number}: no menu digit reaches the expert seats"
        decision = dry_run(wuwei, number, at=NIGHT, digits=digits).decision
        assert (decision.action, decision.queue) == ("queue", queue.expert_queue)


def test_the_main_line_is_12345(wuwei: Dialplan) -> None:
    mains = [line for line in wuwei.lines if line.mode == "main"]
    assert [line.number for line in mains] == ["12345"]
    assert len(wuwei.lines) == 44


# -- every number routes as its mode says --------------------------------------------------------


def _id(line: Line) -> str:
    return f"{line.number}-{line.key}" if line.id else line.number


@pytest.mark.parametrize("line", SHIPPED.lines, ids=_id)
def test_number_routes_by_its_mode(wuwei: Dialplan, line: Line) -> None:
    reg = registry_of(wuwei)
    general = reg.general_queue
    shared = len(reg.lines_for(line.number)) > 1
    keys = ""
    if shared:
        keys = keys_to(wuwei, line.shared_menu or "", lambda o: o.line == line.key) or ""
        assert keys, f"shared menu does not route to {line.key}"
    run = dry_run(wuwei, line.number, at=NIGHT, digits=keys)
    d = run.decision
    prompt_ids = [getattr(s, "prompt_id", "") for s in run.steps]
    assert (d.line_number, d.line_name, d.mode) == (line.number, line.name, line.mode)

    if line.mode == "main":
        assert prompt_ids[0] == f"menu.{line.menu}"
        zero = dry_run(wuwei, line.number, at=NIGHT, digits="0").decision
        assert (zero.action, zero.queue, zero.department) == ("queue", general, None)
    elif line.mode == "merged":
        # 12345 seats answer, department preselected, the top menu skipped, announcement first.
        assert (d.action, d.queue, d.department) == ("queue", general, line.department)
        assert f"menu.{reg.main_line.menu}" not in prompt_ids  # type: ignore[union-attr]
        assert line.transition is not None and NIGHT.date() <= line.transition.until
        assert prompt_ids[0] == f"line.{line.number}.transition"
        after = dt.datetime.combine(line.transition.until + dt.timedelta(days=1), dt.time(12), NIGHT.tzinfo)
        later = dry_run(wuwei, line.number, at=after, digits=keys)
        assert all(getattr(s, "prompt_id", "") != f"line.{line.number}.transition" for s in later.steps)
        assert later.decision.queue == general
    elif line.mode == "parallel":
        assert line.queue is not None
        agent = dry_run(wuwei, line.number, at=NIGHT, digits="0" if line.menu else "").decision
        assert (agent.action, agent.queue) == ("queue", line.queue)
        # 12345 callers with this department's matters land in the same queue.
        path = keys_to(wuwei, reg.main_line.menu or "", lambda o: o.department == line.department)  # type: ignore[union-attr]
        if path is not None:
            via_main = dry_run(wuwei, "12345", at=NIGHT, digits=path).decision
            assert (via_main.queue, via_main.department) == (line.queue, line.department)
        assert reg.department_route(line.department).queue == line.queue
        # Own seats first; 12345 seats in the same queue at a higher penalty.
        members = reg.queue_members(reg.queues[line.queue])
        general_agents = {m.agent for m in reg.queue_members(reg.queues[general])}
        own = [m.penalty for m in members if m.agent not in general_agents]
        joined = [m.penalty for m in members if m.agent in general_agents]
        assert own and joined and max(own) < min(joined)
    elif line.mode == "subcenter":
        assert (d.action, d.queue, d.route) == ("queue", line.queue, "subcenter")
        assert reg.hours_for(line).always_open
        path = keys_to(wuwei, reg.main_line.menu or "", lambda o: o.department == line.department)  # type: ignore[union-attr]
        assert path is not None, f"12345 menu cannot reach sub-center {line.number}"
        handed = dry_run(wuwei, "12345", at=NIGHT, digits=path).decision
        assert handed.route == "subcenter-handoff"
        assert handed.ticket_variable == (line.handoff.ticket_variable if line.handoff else "TICKET_ID")
        expected = line.handoff.queue if line.handoff else line.queue
        assert (handed.action, handed.queue, handed.department) == ("queue", expected, line.department)
