"""Wallboard snapshot and admin console over the composition root's EngineConsole, with a real
QueueCore, ticket store and dialplan (no PBX), and both pages in Debian's Chromium."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections import Counter, deque
from pathlib import Path
from types import SimpleNamespace

import pytest
from aiohttp.test_utils import TestClient, TestServer

from agent_queue.control import ControlPolicy, OfferCallback, QueueCore
from agent_queue.events import CallerJoinedEvent, MemberAddedEvent, MemberStatus
from agent_queue.sla import CallOutcome, Result, SlaTracker
from agent_queue.state import AgentSpec
from config import load_settings
from hotline.console import EngineConsole
from hotline.engine import DialplanHolder, Engine
from hotline.paths import asterisk_paths
from hotline_merge.loader import load_dialplan
from infra.metrics import Metrics
from tests.support.shots import screenshot, signed_in_page
from tests.web.conftest import TOKENS, auth
from tickets.metrics import TicketCollector
from tickets.tokens import StaticTokens
from web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
QUEUE = "hotline-general"


class _NoPrompts:
    async def render_all(self, texts: object) -> None:
        return None


def _core(now: float) -> QueueCore:
    specs = [AgentSpec(f"agent0{i}", frozenset({QUEUE})) for i in range(1, 5)]
    core = QueueCore(specs=specs, tracker=SlaTracker(), policy=ControlPolicy())
    for i in range(40):
        result = Result.ANSWERED if i % 10 else Result.ABANDONED
        core.tracker.record(CallOutcome(QUEUE, f"h{i}", now - 7200 + i * 60, now - 7190 + i * 60, 8.0 + i % 7 * 5,
                                        result))
    for agent in ("agent01", "agent02"):
        core.on_event(MemberAddedEvent(queue=QUEUE, interface=f"PJSIP/{agent}", member_name=agent, penalty=0,
                                       paused=False, status=MemberStatus.NOT_INUSE, in_call=False), now)
    return core


@pytest.fixture
def engine(tmp_path: Path, service):  # noqa: ANN001
    plan_dir = tmp_path / "dialplans"
    shutil.copytree(ROOT / "dialplans", plan_dir)
    settings = load_settings(environ={
        "HOTLINE_VAR_DIR": str(tmp_path / "var"), "HOTLINE_DIALPLAN_PATH": str(plan_dir),
        "HOTLINE_ASTERISK_CONFIG_DIR": str(tmp_path / "etc-asterisk/hotline"),
        "HOTLINE_ASTERISK_SOUNDS_DIR": str(tmp_path / "sounds"),
        "HOTLINE_ASTERISK_RECORDINGS_DIR": str(tmp_path / "rec"),
    })
    settings.var_dir.mkdir(parents=True)
    eng = Engine(settings)
    eng.paths = asterisk_paths(settings)
    eng.tickets = service
    eng.dialplan = DialplanHolder(current=load_dialplan(plan_dir), path=plan_dir)
    eng.prompts = _NoPrompts()  # type: ignore[assignment]
    now = time.time()
    core = _core(now)
    decision = OfferCallback("expected wait 75s > 60s", QUEUE, "w0", 75.0)
    eng.queue_manager = SimpleNamespace(core=core, decision_counts=Counter({"OfferCallback": 1}),
                                        recent=deque([(now - 30, decision)]))
    eng.ticket_metrics = TicketCollector(sessionmaker=service.sessionmaker, now=service.now, metrics=Metrics())
    return eng


def _app(eng: Engine):
    console = EngineConsole(eng)
    return create_app(tickets=eng.tickets, tokens=StaticTokens(TOKENS), wallboard_source=console,
                      admin_port=console)


async def test_wallboard_snapshot_is_the_trackers_and_needs_a_supervisor(engine):
    async with TestClient(TestServer(_app(engine))) as client:
        assert (await client.get("/api/wallboard", headers=auth("agent-token"))).status == 403
        assert (await client.get("/api/wallboard")).status == 401
        resp = await client.get("/api/wallboard", headers=auth("sup-token"))
        assert resp.status == 200
        snap = await resp.json()
    f = engine.queue_manager.core.tracker.figures(time.time())
    assert (snap["totals"]["offered"], snap["totals"]["answered"], snap["totals"]["abandoned"]) == (
        f.offered, f.answered, f.abandoned) == (40, 36, 4)
    assert snap["agents"]["idle"] == 2 and snap["agents"]["logged_out"] == 2
    assert [q["name"] for q in snap["queues"]] == [QUEUE]
    assert snap["control"]["counts"] == {"OfferCallback": 1}
    assert len(snap["staffing"]) == 48 and all(isinstance(s["need"], int) for s in snap["staffing"])
    assert len(snap["hourly"]["today"]) == 24 and len(snap["hourly"]["yesterday"]) == 24
    assert sum(h["offered"] for h in snap["hourly"]["today"] + snap["hourly"]["yesterday"]) == 40
    assert snap["tickets"]["overdue"] == 0


async def test_admin_console_checks_diffs_and_reloads_a_candidate_and_refuses_other_paths(engine, tmp_path):
    candidate = engine.settings.var_dir / "dialplan-candidates" / "next"
    shutil.copytree(engine.dialplan.path, candidate)
    lines = candidate / "20-lines.yaml"
    lines.write_text(lines.read_text(encoding="utf-8").replace(
        "queue: transport-12328, remarks: 保留坐席}", "queue: urban-12319, remarks: 保留坐席}"), encoding="utf-8")
    broken = engine.settings.var_dir / "dialplan-candidates" / "broken"
    shutil.copytree(engine.dialplan.path, broken)
    (broken / "95-bad.yaml").write_text('lines:\n  - {number: "88880001", name: 坏线路, department: 无此部门, mode: merged}\n',
                                        encoding="utf-8")
    admin, sup = auth("admin-token"), auth("sup-token")
    async with TestClient(TestServer(_app(engine))) as client:
        info = await (await client.get("/api/admin/dialplan", headers=sup)).json()
        assert (len(info["lines"]), info["numbers"]) == (44, 42)  # 2253337 carries three lines
        assert info["version"] == 1 and info["loaded_by"] == "start-up"
        row = next(line for line in info["lines"] if line["number"] == "12328")
        assert (row["mode"], row["queue"], row["department"]) == ("parallel", "transport-12328", "市交通局")
        assert (await client.post("/api/admin/dialplan/check", headers=sup, json={})).status == 403

        bad = await (await client.post("/api/admin/dialplan/check", headers=admin, json={"path": str(broken)})).json()
        assert not bad["ok"]
        assert [(Path(e["file"]).name, e["line"]) for e in bad["errors"]] == [("95-bad.yaml", 2)]
        assert bad["errors"][0]["text"].startswith(f"{broken / '95-bad.yaml'}:2:")
        good = await (await client.post("/api/admin/dialplan/check", headers=admin, json={"path": str(candidate)})).json()
        assert good["ok"] and good["summary"]["lines"] == 44

        diff = await (await client.post("/api/admin/dialplan/diff", headers=admin, json={"path": str(candidate)})).json()
        assert diff["ok"] and any("12328" in c and "urban-12319" in c for c in diff["changes"]), diff["changes"]

        outside = await client.post("/api/admin/dialplan/check", headers=admin, json={"path": str(tmp_path)})
        assert outside.status == 422
        assert (await outside.json())["errors"][0]["field"] == "path"

        refused = await client.post("/api/admin/dialplan/reload", headers=admin, json={"path": str(broken)})
        assert refused.status == 422 and engine.dialplan.version == 1
        reloaded = await (await client.post("/api/admin/dialplan/reload", headers=admin,
                                            json={"path": str(candidate)})).json()
        assert reloaded["ok"] and reloaded["version"] == 2
        info = await (await client.get("/api/admin/dialplan", headers=admin)).json()
    assert (info["version"], info["loaded_by"], info["path"]) == (2, "admin:root", str(candidate.resolve()))
    assert [h["ok"] for h in info["history"]] == [True, False]
    assert "urban-12319" in (engine.paths.config_dir / "hotline-extensions.conf").read_text()
    assert (engine.settings.var_dir / "dialplan-reloads.jsonl").read_text().count("admin:root") == 2


@pytest.mark.browser
async def test_the_wallboard_in_chromium_follows_the_queue_within_two_seconds(engine, tmp_path, chromium):
    core = engine.queue_manager.core
    server = TestServer(_app(engine), host="127.0.0.1")
    async with TestClient(server):
        base = f"http://127.0.0.1:{server.port}"
        page = await signed_in_page(chromium, base, engine.tickets.sessionmaker, "supervisor")
        await page.goto(base + "/wallboard?layout=big")
        await page.wait_for_function("document.getElementById('waiting').textContent === '0'", timeout=5000)
        assert await page.text_content("#answer-rate") == "90.0%"
        core.on_event(CallerJoinedEvent(queue=QUEUE, uniqueid="live-1", channel="PJSIP/trunk-9",
                                        caller_id="13900000001", position=1, count=1), time.time() - 12)
        await page.wait_for_function("document.getElementById('waiting').textContent === '1'", timeout=2000)
        await page.wait_for_selector(f"tr[data-queue='{QUEUE}'] td[data-field='waiting']:text('1')", timeout=2000)
        await asyncio.sleep(1.2)  # the clock has moved and the longest wait with it
        await screenshot(page, tmp_path, "wallboard-unit.png")
        body = await page.text_content("body")
        assert "13900000001" not in body and "3900000001" not in body  # no caller numbers on the board
        await page.context.close()


@pytest.mark.browser
async def test_the_admin_page_shows_check_errors_with_file_line_col_and_the_compact_board_fits(engine, tmp_path,
                                                                                            chromium):
    broken = engine.settings.var_dir / "dialplan-candidates" / "broken"
    shutil.copytree(engine.dialplan.path, broken)
    (broken / "95-bad.yaml").write_text('lines:\n  - {number: "88880001", name: 坏线路, department: 无此部门, mode: merged}\n',
                                        encoding="utf-8")
    server = TestServer(_app(engine), host="127.0.0.1")
    async with TestClient(server):
        base = f"http://127.0.0.1:{server.port}"
        page = await signed_in_page(chromium, base, engine.tickets.sessionmaker, "admin", width=1440, height=1000)
        await page.goto(base + "/admin")
        await page.wait_for_selector("tr[data-number='12328'] td[data-field='queue']:text('transport-12328')")
        assert await page.text_content("#line-count") == "42 个号码，44 条线路"
        await page.fill("#candidate-path", str(broken))
        await page.click("#check")
        error = await page.wait_for_selector(".err")
        assert (await error.text_content()).startswith(f"{broken / '95-bad.yaml'}:2:")
        await page.wait_for_selector("#users tr[data-kind='account'] >> text=管理员")
        await screenshot(page, tmp_path, "admin-unit.png")
        await page.goto(base + "/wallboard?layout=compact")
        await page.wait_for_function("document.body.dataset.updated !== undefined")
        assert await page.evaluate("document.body.classList.contains('compact')")
        # The compact board needs no horizontal scrolling at a laptop's width.
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        await screenshot(page, tmp_path, "wallboard-compact-unit.png")
        # A supervisor may watch the board but not open the console.
        sup = await signed_in_page(chromium, base, engine.tickets.sessionmaker, "supervisor")
        forbidden = await sup.goto(base + "/admin")
        assert forbidden.status == 403
        await sup.context.close()
        await page.context.close()
