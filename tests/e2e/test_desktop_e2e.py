"""The agent desktop through the real PBX: Chromium, Asterisk, SIPp, the engine in this process.

A SIPp UAS registers as agent01 (a static member of hotline-general) and answers what it is
rung with; the agent signs in to the engine's own web server in Chromium. State changes made
on the page must show in AMI (QueueMemberPause), a feature code (*13, run by Asterisk on the
agent's channel) must show on the page, and a SIPp citizen dialling the merged line 12349 must
pop the screen with the line, its department, the IVR path and the masked caller; the agent
then dispatches the call's ticket and it is in that department's list with its due date.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from accounts.store import AccountStore
from agent_queue.state import AgentState
from tests.support.browser import sign_in_page
from tests.support.queues import hang_up_waiting_callers
from tickets.repository import TicketFilter

pytestmark = [pytest.mark.pbx, pytest.mark.browser]
AGENT = "agent01"
CALLER = "13912345678"


async def _until(what: str, check, timeout: float = 20) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.2)


async def _state_text(page, text: str, timeout: float = 15) -> None:  # noqa: ANN001
    await page.wait_for_function(
        "t => document.getElementById('agent-state').textContent === t", arg=text, timeout=timeout * 1000)


async def test_desktop_state_pop_and_dispatch(engine, ami_watch, sipp, settings, chromium, screenshot):  # noqa: ANN001
    from tests.support.browser import WebServer
    from tests.support.sipp import free_udp_port

    core = engine.queue_manager.core
    accounts = AccountStore(engine.tickets.sessionmaker)
    user = f"desk-{int(time.time())}"
    await accounts.add(user, "desk-pass-1", role="agent", seat=AGENT, display_name="测试话务员")
    base = f"http://{settings.engine.web_host}:{settings.engine.web_port}"
    server = WebServer(base, None, accounts, engine.tickets, None)  # type: ignore[arg-type]
    page = await sign_in_page(chromium, server, user, "desk-pass-1")
    assert page.url == base + "/desktop"
    await page.wait_for_selector("#live.on")

    passwords = json.loads(settings.pbx_secrets_file.read_text())["agents"]
    # Callers an earlier test left waiting, and call-backs owed to earlier tests' callers who gave
    # up, would take this agent's two answers before our citizen: clear both for this test.
    await hang_up_waiting_callers(ami_watch)
    owed = {uid: r for uid, r in core.book.requests.items() if not r.in_progress}
    for uid in owed:
        del core.book.requests[uid]
    port = free_udp_port()
    reg = await sipp.register(port, user=AGENT, password=passwords[AGENT])
    assert (reg.successful, reg.failed) == (1, 0), reg.stderr[-1500:]
    # The citizen hangs up first (as in the queue e2e): the agent side holds longer than any call here.
    phone = await sipp.uas(port, calls=2, answer_after_ms=1000, hold_ms=60_000, timeout_s=120, name="uas-desk")
    citizen = None
    try:
        # Clean start: unpaused (an earlier run may have left a pause).
        await ami_watch.action({"Action": "QueuePause", "Interface": f"PJSIP/{AGENT}", "Paused": "false"})
        await _until("agent01 idle", lambda: core.board.agents[AGENT].state is AgentState.IDLE)
        await _state_text(page, "就绪")

        # The page -> AMI.
        mark = ami_watch.mark()
        await page.click("button.pause[data-reason='会议']")
        ev = (await ami_watch.wait_for("QueueMemberPause", since=mark, timeout=10, MemberName=AGENT))[0]
        assert (ev["Paused"], ev["PausedReason"]) == ("1", "会议")
        await _state_text(page, "示忙·会议")

        # A feature code -> the page: *13 runs on the agent's own channel (Originate to it).
        mark = ami_watch.mark()
        await ami_watch.action({"Action": "Originate", "Channel": f"PJSIP/{AGENT}", "Context": "hotline-agents",
                                "Exten": "*13", "Priority": "1", "Async": "true", "Timeout": "15000"})
        ev = (await ami_watch.wait_for("QueueMemberPause", since=mark, timeout=20, MemberName=AGENT))[0]
        assert (ev["Paused"], ev["PausedReason"]) == ("0", "feature-code")
        await _state_text(page, "就绪", timeout=30)  # after the feature-code call itself has ended
        await _until("the feature-code call to end",
                     lambda: core.board.agents[AGENT].state is AgentState.IDLE, timeout=20)

        # A citizen on the merged line 12349 -> the screen pops on this agent's page.
        mark = ami_watch.mark()
        citizen = asyncio.create_task(sipp.call("12349", steps=[("pause", 15_000)], caller=CALLER,
                                                timeout_s=60, name="uac-desk"))  # fmt: skip
        called = (await ami_watch.wait_for("AgentCalled", since=mark, timeout=40, MemberName=AGENT))[0]
        await page.wait_for_selector("#pop-body:not([hidden])", timeout=10_000)
        assert await page.inner_text("#pop-caller") == "139****5678"
        assert (await page.inner_text("#pop-line")).startswith("12349 民政公益服务居家养老服务热线")
        assert await page.inner_text("#pop-mode") == "整体并入"
        assert await page.inner_text("#pop-department") == "市民政局"
        line = next(ln for ln in engine.dialplan.current.lines if ln.number == "12349")
        heard = line.transition.announcement[:40]  # the journal keeps what the caller heard, shortened
        assert heard in await page.inner_text("#pop-ivr")
        assert CALLER not in await page.content()
        ticket = (await engine.tickets.search(TicketFilter(call_id=called["Uniqueid"], limit=1)))[0]
        await page.wait_for_function("n => document.getElementById('t-number').textContent === n",
                                     arg=ticket.number)  # fmt: skip
        assert await page.input_value("#t-department") == "市民政局"
        await ami_watch.wait_for("AgentConnect", since=mark, timeout=20, MemberName=AGENT)
        await _state_text(page, "通话中")
        await page.fill("#t-title", "居家养老服务补贴咨询")
        await page.fill("#t-text", "来电人询问居家养老服务补贴的申请条件。")
        await screenshot(page, "desktop-in-call")
        await page.click("#act-dispatch")
        await page.wait_for_selector("#ticket-msg.ok")

        # The call ends: after-call work is a pause with reason 话后整理, visible in AMI.
        ev = (await ami_watch.wait_for("QueueMemberPause", since=mark, timeout=30, MemberName=AGENT,
                                       Paused="1"))[0]  # fmt: skip
        assert ev["PausedReason"] == "话后整理"
        await _state_text(page, "话后整理")
        await page.wait_for_selector("#acw-timer:not([hidden])")
        await screenshot(page, "desktop-after-call")
        mark = ami_watch.mark()
        await page.keyboard.press("F2")  # 就绪
        ev = (await ami_watch.wait_for("QueueMemberPause", since=mark, timeout=10, MemberName=AGENT))[0]
        assert ev["Paused"] == "0"
        await _state_text(page, "就绪")
        assert (await citizen).failed == 0
    finally:
        for uid, req in owed.items():
            core.book.requests.setdefault(uid, req)
        await phone.stop()
        if citizen is not None and not citizen.done():
            citizen.cancel()
        await sipp.register(port, user=AGENT, password=passwords[AGENT], expires=0)
        await page.context.close()

    listed = await engine.tickets.search(TicketFilter(department="市民政局", call_id=called["Uniqueid"]))
    assert [t.number for t in listed] == [ticket.number]
    assert listed[0].status == "dispatched" and listed[0].handle_due is not None
    assert listed[0].title == "居家养老服务补贴咨询"
