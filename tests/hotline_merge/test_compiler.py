"""Compiled Asterisk config and routing table; diff; reload; schema; prompt catalog; `hotline route`."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from hotline_merge.compiler import EXTENSIONS_FILE, QUEUES_FILE, ROUTING_FILE, compile_dialplan, routing_table
from hotline_merge.diff import routing_changes
from hotline_merge.flow import Collect, Play
from hotline_merge.loader import load_dialplan
from hotline_merge.models import SCHEMA_FILE_NAME, Dialplan
from hotline_merge.prompts import prompt_catalog
from hotline_merge.registry import registry_of
from hotline_merge.reload import keep_or_replace, reload_dialplan
from hotline_merge.schema import render_schema
from hotline_merge.simulate import dry_run
from tests.hotline_merge.clirun import run_cli
from tests.hotline_merge.conftest import DIALPLANS, NIGHT

Writer = Callable[..., Path]


def _queue_sections(conf: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = None
    for line in conf.splitlines():
        m = re.match(r"^\[([^\]]+)\]$", line)
        if m:
            current = sections.setdefault(m.group(1), [])
        elif current is not None and line and not line.startswith(";"):
            current.append(line)
    return sections


def test_compile_is_deterministic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Two compiles, the second from a copy in another folder, give the same bytes.
    copy = tmp_path / "copy"
    shutil.copytree(DIALPLANS, copy)
    assert run_cli(["dialplan", "compile", str(DIALPLANS), "--out", str(tmp_path / "a")]) == 0
    assert run_cli(["dialplan", "compile", str(copy), "--out", str(tmp_path / "b")]) == 0
    assert run_cli(["dialplan", "compile", str(DIALPLANS), "--out", str(tmp_path / "a")]) == 0
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted([EXTENSIONS_FILE, QUEUES_FILE, ROUTING_FILE])
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_inbound_context_has_one_gosub_per_number(wuwei: Dialplan) -> None:
    conf = compile_dialplan(wuwei)[EXTENSIONS_FILE].decode()
    reg = registry_of(wuwei)
    body = conf.split("[hotline-inbound]\n", 1)[1]
    extens = re.findall(
        r"^exten => (\d+),1,Gosub\(hotline-call,s,1\((\d+),([a-z0-9-]+)\)\)\n same => n,Hangup\(\)$",
        body,
        re.M,
    )
    assert sorted(e[0] for e in extens) == sorted(reg.lines_by_number)
    queues = _queue_sections(compile_dialplan(wuwei)[QUEUES_FILE].decode())
    for exten, arg, fallback in extens:
        assert exten == arg
        assert fallback in queues, f"{exten}: fallback queue {fallback} is not defined"
        assert fallback == reg.line_queue(reg.lines_for(exten)[0])


def test_queues_file_defines_every_queue_a_call_can_reach(wuwei: Dialplan) -> None:
    sections = _queue_sections(compile_dialplan(wuwei)[QUEUES_FILE].decode())
    reachable = {
        d
        for d in (
            routing_table(wuwei)["departments"][x]["queue"] for x in routing_table(wuwei)["departments"]
        )
        if d
    }
    reachable |= {q.name for q in wuwei.queues} | {q.expert_queue for q in wuwei.queues if q.experts}
    for line in wuwei.lines:
        run = dry_run(wuwei, line.number, at=NIGHT, digits="0")
        if run.decision.queue:
            reachable.add(run.decision.queue)
    assert reachable <= sections.keys()
    for name in reachable:
        body = sections[name]
        assert any(x.startswith("strategy = ") for x in body) and "joinempty = yes" in body
        assert any(x.startswith("member => PJSIP/") for x in body), f"{name} has no members"


def test_parallel_queue_members_have_penalties(wuwei: Dialplan) -> None:
    sections = _queue_sections(compile_dialplan(wuwei)[QUEUES_FILE].decode())
    members = [x for x in sections["hrss-12333"] if x.startswith("member => ")]
    penalties = {x.split("=> ")[1].split(",")[2]: int(x.split(",")[1]) for x in members}
    general = {a.id for a in wuwei.agents if "general" in a.skills}
    own = {a.id for a in wuwei.agents if "hrss" in a.skills}
    assert {penalties[a] for a in own} == {0}
    assert {penalties[a] for a in general} == {2}


def test_routing_json_is_the_routing_table(wuwei: Dialplan) -> None:
    data = json.loads(compile_dialplan(wuwei)[ROUTING_FILE])
    assert data == json.loads(json.dumps(routing_table(wuwei)))
    assert data["numbers"]["2253337"]["choices"] == {
        "1": "finance-service",
        "2": "finance-procurement",
        "3": "finance-assets",
    }
    assert data["departments"]["市税务局"] == {
        "kind": "subcenter",
        "queue": "tax-12366",
        "trunk": None,
        "ticket_variable": "TICKET_ID",
    }


def test_diff_shows_routing_changes(
    wuwei: Dialplan, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "new"
    shutil.copytree(DIALPLANS, copy)
    lines = (copy / "20-lines.yaml").read_text(encoding="utf-8")
    lines = lines.replace("queue: urban-12319", "queue: hotline-general")
    lines = lines.replace(
        '  - {number: "6117599", name: 市科技局热线, department: 市科技局, mode: merged, level: 市级热线, transition: *joined}\n',
        "",
    )
    (copy / "20-lines.yaml").write_text(lines, encoding="utf-8")
    new = load_dialplan(copy)
    changes = routing_changes(routing_table(wuwei), routing_table(new))
    assert "~ number 12319 queue: urban-12319 -> hotline-general" in changes
    assert "- number 6117599 市科技局热线: no longer answered" in changes
    assert "~ department 市城市综合执法局 queue: urban-12319 -> hotline-general" in changes
    assert routing_changes(routing_table(wuwei), routing_table(wuwei)) == []

    # The CLI compares YAML with YAML, or with a compiled routing.json.
    out = tmp_path / "compiled"
    assert run_cli(["dialplan", "compile", str(DIALPLANS), "--out", str(out)]) == 0
    capsys.readouterr()
    assert run_cli(["dialplan", "diff", str(out / ROUTING_FILE), str(copy)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert "~ number 12319 queue: urban-12319 -> hotline-general" in printed
    assert run_cli(["dialplan", "diff", str(DIALPLANS), str(DIALPLANS)]) == 0
    assert capsys.readouterr().out.strip() == "no routing changes"


def test_compile_refuses_an_invalid_dialplan_and_writes_nothing(
    write_yaml: Writer, small_text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write_yaml(small_text.replace("    queue: tax\n", "    queue: taxes\n"))
    out = tmp_path / "out"
    assert run_cli(["dialplan", "compile", str(bad), "--out", str(out)]) == 1
    assert not out.exists()
    assert re.match(rf"^{re.escape(str(bad))}:\d+:\d+: ", capsys.readouterr().err)


def test_reload_keeps_the_running_dialplan_when_the_new_one_is_invalid(
    write_yaml: Writer, small_text: str, small: Dialplan
) -> None:
    bad = reload_dialplan(write_yaml(small_text.replace("menu: more}", "menu: gone}"), "bad.yaml"), small)
    assert not bad.ok and bad.errors and bad.dialplan is None
    assert keep_or_replace(small, bad) is small

    good_text = small_text.replace("{department: 市税务局}", "{department: 市民政局}")
    good = reload_dialplan(write_yaml(good_text, "good.yaml"), small)
    assert good.ok and keep_or_replace(small, good) is good.dialplan
    assert "~ menu main digit 2: department 市税务局 -> department 市民政局" in good.changes


def test_published_schema_is_up_to_date() -> None:
    published = DIALPLANS / SCHEMA_FILE_NAME
    assert published.read_text(encoding="utf-8") == render_schema(), (
        "regenerate with: hotline dialplan schema --out dialplans/hotline-dialplan.schema.json"
    )
    schema = json.loads(published.read_text(encoding="utf-8"))
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) >= {
        "lines",
        "menus",
        "queues",
        "hours",
        "emergencies",
        "not_accepted",
        "intents",
    }


def test_every_dialplan_file_points_editors_at_the_schema() -> None:
    for path in sorted(DIALPLANS.glob("*.yaml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == f"# yaml-language-server: $schema=./{SCHEMA_FILE_NAME}", path.name


def test_prompt_catalog_covers_what_the_flows_play(wuwei: Dialplan) -> None:
    catalog = prompt_catalog(wuwei)
    scripts = [
        "",
        "0",
        "1",
        "11",
        "12",
        "13",
        "110",
        "2",
        "21#",
        "3",
        "4",
        "5",
        "6",
        "7",
        "9",
        "91",
        "97",
        "88",
        "1*",
    ]
    for line in wuwei.lines:
        for keys in scripts:
            for step in dry_run(wuwei, line.number, at=NIGHT, digits=keys).steps:
                if isinstance(step, Play | Collect):
                    assert catalog.get(step.prompt_id) == step.text, step.prompt_id


def test_route_cli_prints_the_decision(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "route",
        "--dialplan",
        str(DIALPLANS),
        "--dnis",
        "12345",
        "--digits",
        "21",
        "--at",
        "2026-11-23T03:00:00+08:00",
        "--json",
    ]
    assert run_cli(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert {
        "line_number",
        "line_name",
        "mode",
        "department",
        "queue",
        "action",
        "target",
        "prompts",
    } <= out.keys()
    assert (out["line_number"], out["mode"], out["department"], out["queue"], out["action"]) == (
        "12345",
        "main",
        "市人社局",
        "hrss-12333",
        "queue",
    )
    assert out["prompts"][0].startswith("您好")

    assert run_cli(["route", "--dialplan", str(DIALPLANS), "--dnis", "99999", "--json"]) == 1
    assert "99999" in capsys.readouterr().err
    assert run_cli(["route", "--dialplan", str(DIALPLANS), "--dnis", "12345", "--at", "yesterday"]) == 2
    assert run_cli(["route", "--dialplan", str(DIALPLANS), "--dnis", "12345", "--digits", "1a"]) == 2
    assert run_cli(["route", "--dnis"]) == 2


@pytest.mark.parametrize(
    ("text", "action", "field", "expected"),
    [
        ("我家着火了，快来人", "emergency", "target", "119"),
        ("我想问一下提取公积金需要什么条件", "selfservice", "selfservice_answer", "housing-fund-withdrawal"),
        ("我要起诉我的邻居", "explain", "target", "litigation"),
    ],
)
def test_route_cli_text_uses_the_speech_matcher(
    capsys: pytest.CaptureFixture[str], text: str, action: str, field: str, expected: str
) -> None:
    pytest.importorskip("asr.intent", reason="asr.intent (the speech matcher) is not importable")
    argv = [
        "route",
        "--dialplan",
        str(DIALPLANS),
        "--dnis",
        "12345",
        "--text",
        text,
        "--at",
        "2026-11-23T03:00:00+08:00",
        "--json",
    ]
    assert run_cli(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["action"], out[field]) == (action, expected)


def test_queues_play_only_the_mandarin_hold_prompt_and_offer_the_call_back_key(wuwei: Dialplan) -> None:
    from hotline_merge.prompts import PBX_SOUNDS, pbx_prompts, prompt_catalog

    sections = _queue_sections(compile_dialplan(wuwei)[QUEUES_FILE].decode())
    for name, body in sections.items():
        # Asterisk's English position / hold-time / thank-you sounds are off in every queue.
        assert {"announce-frequency = 0", "announce-position = no", "announce-holdtime = no"} <= set(body), name
        assert "queue-thankyou =" in body, name
        assert f"periodic-announce = {PBX_SOUNDS['queue.hold']}" in body, name
        assert "context = hotline-queue-exit" in body, name
    assert "按1" in pbx_prompts(wuwei)["queue.hold"]
    assert set(PBX_SOUNDS) <= set(prompt_catalog(wuwei))
