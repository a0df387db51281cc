"""Issue 15 through the real PBX, SIPp and Chromium.

Wallboard: a SIPp agent (agent01) answers queue calls after a few seconds; the board in
Chromium must show the caller waiting, then answered, then a second caller who gives up
as abandoned, each within 2 s of the AMI event that announces it.
Admin console: on the PBX set up the production way (the engine compiles into
etc/asterisk/hotline, which Asterisk includes; tests/conftest.py production_layout), a reload
from the admin page makes a new number answer into one queue, and a second reload sends
the next call for that number to another queue.
Prometheus: a real Prometheus scrapes the engine and its answer rate equals the tracker's.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Callable

import pytest

from agent_queue.state import AgentState
from tests.support.prometheus import prometheus_binary, running_prometheus
from tests.support.shots import screenshot, signed_in_page
from tests.support.sipp import free_udp_port

pytestmark = [pytest.mark.pbx, pytest.mark.browser]

QUEUE = "hotline-general"
AGENT = "agent01"
BOARD_S = 2.0  # the wallboard's promise: live within 2 s


async def _until(what: str, check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.2)


async def _shown(page, testid: str, value: str, what: str) -> None:
    try:
        await page.wait_for_function(
            f"document.querySelector('[data-testid={testid}]').textContent === {json.dumps(value)}",
            timeout=BOARD_S * 1000)
    except Exception as exc:
        got = await page.text_content(f"[data-testid={testid}]")
        raise AssertionError(f"wallboard: {what}: {testid} shows {got!r}, not {value!r} within {BOARD_S}s") from exc


async def test_the_wallboard_follows_a_queued_answered_and_abandoned_sipp_call(engine, ami_watch, sipp, settings,
                                                                             tmp_path, chromium):
    core = engine.queue_manager.core
    passwords = json.loads(settings.pbx_secrets_file.read_text())["agents"]
    port = free_udp_port()
    agent = None
    owed_before = set(core.book.requests)
    try:
        mark = ami_watch.mark()
        reg = await sipp.register(port, user=AGENT, password=passwords[AGENT])
        assert (reg.successful, reg.failed) == (1, 0), reg.stderr[-1500:]
        # Rings 4 s before answering, so the caller is seen waiting; talks long enough that the
        # second caller finds no free agent and gives up.
        agent = await sipp.uas(port, calls=1, answer_after_ms=4000, hold_ms=40_000, timeout_s=120, name="uas-board")
        await ami_watch.wait_for("QueueMemberStatus", since=mark, timeout=15, Queue=QUEUE, MemberName=AGENT,
                                 Status="1")
        await _until("agent01 idle", lambda: core.board.agents[AGENT].state is AgentState.IDLE, timeout=10)
        base = f"http://127.0.0.1:{settings.engine.web_port}"
        page = await signed_in_page(chromium, base, engine.tickets.sessionmaker, "supervisor")
        try:
            await page.goto(base + "/wallboard?layout=big")
            await page.wait_for_function("document.body.dataset.updated !== undefined", timeout=10_000)
            f = core.tracker.figures(time.time())
            answered, abandoned = f.answered, f.abandoned
            await _shown(page, "answered", str(answered), "before the calls")
            await _shown(page, "waiting", "0", "before the calls")

            mark = ami_watch.mark()
            first = asyncio.create_task(sipp.call("12345", steps=[("pause", 1500), ("dtmf", "0"), ("pause", 25_000)],
                                                  caller="13700000011", timeout_s=60, name="uac-board-1"))
            await ami_watch.wait_for("QueueCallerJoin", since=mark, timeout=30, Queue=QUEUE)
            await _shown(page, "waiting", "1", "first caller queued")
            await ami_watch.wait_for("AgentConnect", since=mark, timeout=30, Queue=QUEUE)
            await _shown(page, "answered", str(answered + 1), "first caller answered by agent01")
            await _shown(page, "waiting", "0", "first caller answered")
            await page.wait_for_selector(f"tr[data-agent='{AGENT}'] >> text=通话", timeout=BOARD_S * 1000)
            await screenshot(page, tmp_path, "wallboard.png")

            mark = ami_watch.mark()
            second = asyncio.create_task(sipp.call("12345", steps=[("pause", 1500), ("dtmf", "0"), ("pause", 14_000)],
                                                   caller="13700000012", timeout_s=60, name="uac-board-2"))
            await ami_watch.wait_for("QueueCallerJoin", since=mark, timeout=30, Queue=QUEUE)
            await _shown(page, "waiting", "1", "second caller queued behind a busy agent")
            gone = (await ami_watch.wait_for("QueueCallerAbandon", since=mark, timeout=30, Queue=QUEUE))[0]
            assert int(gone["HoldTime"]) >= core.tracker.short_abandon_s  # counts as a real abandon
            await _shown(page, "abandoned", str(abandoned + 1), "second caller gave up")
            await _shown(page, "waiting", "0", "second caller gone")
            for call in (await first, await second):
                assert call.failed == 0, call.stderr[-1500:]
        finally:
            await page.context.close()
    finally:
        if agent is not None:
            await agent.stop()
        await sipp.register(port, user=AGENT, password=passwords[AGENT], expires=0)
        for uid in set(core.book.requests) - owed_before:
            core.book.requests.pop(uid, None)  # the given-up caller's call-back is not this test's


def _with_line(src, dst, queue: str) -> None:
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst)
    (dst / "96-admin-e2e.yaml").write_text(
        "lines:\n  - {number: \"88880097\", name: 控制台加载测试热线, department: 市交通局, mode: parallel, "
        f"queue: {queue}}}\n", encoding="utf-8")


async def _reload_from_page(page, folder) -> str:  # noqa: ANN001
    await page.fill("#candidate-path", str(folder))
    await page.click("#check")
    await page.wait_for_selector("#result .ok:text('检查通过')", timeout=20_000)
    await page.click("#diff")
    await page.wait_for_selector("#result pre:has-text('88880097')", timeout=20_000)
    diff = await page.text_content("#result pre")
    await page.click("#reload")
    await page.wait_for_selector("#result .ok:text('已加载')", timeout=60_000)
    return diff


async def test_a_reload_from_the_admin_page_changes_where_the_next_sipp_call_goes(engine, ami_watch, sipp, tmp_path,
                                                                                chromium):
    assert engine.paths.origin == "settings"  # the production layout, not the dev PBX's
    assert engine.paths.config_dir.parts[-3:] == ("etc", "asterisk", "hotline")
    running = engine.dialplan.path
    candidates = engine.settings.var_dir / "dialplan-candidates"
    first, second = candidates / "first", candidates / "second"
    _with_line(running, first, "transport-12328")
    _with_line(running, second, "urban-12319")
    version = engine.dialplan.version
    try:
        mark = ami_watch.mark()
        unknown = await sipp.call("88880097", steps=[("pause", 2000)], timeout_s=30, name="uac-before")
        assert unknown.failed == 1  # Asterisk has no such extension yet
        assert not ami_watch.since(mark, "QueueCallerJoin")
        base = f"http://127.0.0.1:{engine.settings.engine.web_port}"
        page = await signed_in_page(chromium, base, engine.tickets.sessionmaker, "admin", width=1440, height=1000)
        try:
            page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
            await page.goto(base + "/admin")
            await page.wait_for_selector(f"#version:text('{version}')")

            diff = await _reload_from_page(page, first)
            assert "88880097" in diff
            await page.wait_for_selector(f"#version:text('{version + 1}')")
            assert "88880097" in (engine.paths.config_dir / "hotline-extensions.conf").read_text()
            mark = ami_watch.mark()
            call = await sipp.call("88880097", steps=[("pause", 4000)], timeout_s=30, name="uac-first")
            assert call.failed == 0, call.stderr[-1500:]
            join = (await ami_watch.wait_for("QueueCallerJoin", since=mark, timeout=20))[0]
            assert join["Queue"] == "transport-12328"

            diff = await _reload_from_page(page, second)
            assert "urban-12319" in diff
            await page.wait_for_selector("tr[data-number='88880097'] td[data-field='queue']:text('urban-12319')")
            await page.wait_for_selector("#history td:text-matches('^admin:admin-')")
            await screenshot(page, tmp_path, "admin-console.png")
            mark = ami_watch.mark()
            call = await sipp.call("88880097", steps=[("pause", 4000)], timeout_s=30, name="uac-second")
            assert call.failed == 0, call.stderr[-1500:]
            join = (await ami_watch.wait_for("QueueCallerJoin", since=mark, timeout=20))[0]
            assert join["Queue"] == "urban-12319"
            admin_name = (await page.text_content("#who")).split("（")[0]
        finally:
            await page.context.close()
        assert [r.actor for r in engine.dialplan.history[-2:]] == [f"admin:{admin_name}"] * 2
    finally:
        assert await engine.reload_dialplan(actor="test-cleanup", path=running)


@pytest.mark.skipif(prometheus_binary() is None, reason="Debian's prometheus is not installed")
async def test_prometheus_scraping_the_engine_reads_the_trackers_answer_rate(engine, tmp_path):
    core = engine.queue_manager.core
    started = time.time()
    async with running_prometheus(f"127.0.0.1:{engine.settings.engine.web_port}", tmp_path / "prom") as prom:
        scraped = await prom.scraped_value("hotline_answer_rate_24h", after=started)
        offered = await prom.scraped_value('hotline_queue_calls_24h{result="offered"}', after=started)
    figures = core.tracker.figures(time.time())
    assert offered == figures.offered
    assert scraped == figures.answer_rate
