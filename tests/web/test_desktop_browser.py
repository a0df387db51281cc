"""The agent desktop in Chromium over the real web app and database.

Queue events are the typed AMI events the engine's AMI client delivers (agent_queue.events),
handed to the hub directly: these tests cover the page, the pop's content and the ticket form.
The same path from a real SIPp call through Asterisk is tests/e2e/test_desktop_e2e.py.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from agent_queue.events import AgentCalledEvent
from knowledge.services import STARTER
from knowledge.state import Actor
from tests.support.browser import WebServer
from tickets.repository import TicketFilter
from web.desktop import DESKTOP
from web.desktop_hub import DeskReference
from web.knowledge import KNOWLEDGE

pytestmark = pytest.mark.browser
CALLER = "13912345678"
UID = "1764750000.42"


def _reference() -> DeskReference:
    return DeskReference(
        departments=["市民政局", "市住建局", "市公积金中心"],
        lines={"12349": {"name": "民政公益服务居家养老服务热线", "department": "市民政局", "mode": "merged",
                         "handoff": None}},
        knowledge=[{"title": "住房公积金提取条件", "text": "职工有下列情形之一的，可以提取住房公积金……",
                    "department": "市公积金中心"},
                   {"title": "12345受理范围", "text": "12345热线受理企业和群众的咨询、求助、投诉、举报、建议。",
                    "department": ""}],
        queues={"hotline-general": "12345综合队列"},
    )  # fmt: skip


def _journal(uid: str) -> dict | None:
    if uid != UID:
        return None
    return {"uniqueid": UID, "caller": CALLER, "dnis": "12349", "started": time.time() - 40,
            "steps": [{"prompt": "line-12349.menu", "keys": "0", "said": "", "intent": "", "department": "",
                       "confidence": None}],
            "keys": "0",
            "decision": {"line_number": "12349", "line_name": "民政公益服务居家养老服务热线", "mode": "merged",
                         "department": "市民政局", "route": "line:12349:agent"}}  # fmt: skip


async def _until(what: str, check, timeout: float = 10) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def test_pop_ticket_dispatch_and_two_tabs(sign_in, web_server: WebServer, screenshot) -> None:  # noqa: ANN001
    hub = web_server.app[DESKTOP]
    hub.reference, hub.call_info = _reference, _journal
    svc = web_server.tickets
    earlier = await svc.open_from_call(caller=CALLER, line_number="12345", department="", call_id="old.1",
                                       route="main:agent")  # fmt: skip
    ref = await svc.open_from_call(caller=CALLER, line_number="12349", department="市民政局", call_id=UID,
                                   route="line:12349:agent")  # fmt: skip
    page = await sign_in("agent", seat="agent01", display_name="李话务")
    assert page.url.endswith("/desktop")
    await page.wait_for_selector("#live.on")
    other = await page.context.new_page()  # a second tab of the same agent
    await other.goto(web_server.base_url + "/desktop")
    await other.wait_for_selector("#live.on")

    await hub.on_event(AgentCalledEvent(queue="hotline-general", uniqueid=UID, interface="PJSIP/agent01",
                                        member_name="agent01"))  # fmt: skip
    await page.wait_for_selector("#pop-body:not([hidden])")
    assert await page.inner_text("#pop-caller") == "139****5678"
    assert "12349 民政公益服务居家养老服务热线" == await page.inner_text("#pop-line")
    assert await page.inner_text("#pop-mode") == "整体并入"
    assert await page.inner_text("#pop-department") == "市民政局"
    assert "line-12349.menu[0]" in await page.inner_text("#pop-ivr")
    assert ref.number in await page.inner_text("#t-number")
    assert await page.input_value("#t-department") == "市民政局"  # the dispatch suggestion
    repeat = await page.inner_text("#pop-repeat-list")
    assert earlier.number in repeat and "未办结" in repeat
    assert CALLER not in await page.content()  # the full number never reaches the page

    await page.select_option("#t-type", "求助")
    await page.fill("#t-title", "独居老人助餐服务咨询")
    await page.fill("#t-text", "来电人反映社区助餐点停业，询问其他助餐点。")
    await page.fill("#t-address", "凉州区东大街社区")
    await page.fill("#kb-q", "受理范围")
    await page.wait_for_function(
        "document.querySelector('#kb-results li b')?.textContent === '12345受理范围'")
    await screenshot(page, "desktop-pop")
    await page.keyboard.press("Alt+2")  # 派单
    await page.wait_for_selector("#ticket-msg.ok")
    assert (await page.inner_text("#ticket-msg")).startswith("已派单至 市民政局，办理时限 ")
    await screenshot(page, "desktop-dispatched")

    listed = await svc.search(TicketFilter(department="市民政局"))
    assert [t.number for t in listed] == [ref.number]
    t = listed[0]
    assert t.status == "dispatched" and t.ticket_type == "求助" and t.handle_due is not None
    assert "地址：凉州区东大街社区" in t.text
    # The other tab heard about it and will not act on the stale form.
    await other.wait_for_function("document.getElementById('t-status').textContent === '已派单'")
    await other.fill("#t-answer", "答复")
    await other.click("#act-direct")
    await other.wait_for_selector("#ticket-msg:not(:empty)")
    assert "已" not in (await other.inner_text("#ticket-msg"))[:1]
    assert (await svc.get(ref.id)).status == "dispatched"


async def test_unsaved_text_survives_reload_and_shortcuts_listed(sign_in, web_server: WebServer) -> None:  # noqa: ANN001
    hub = web_server.app[DESKTOP]
    hub.reference, hub.call_info = _reference, _journal
    await web_server.tickets.open_from_call(caller=CALLER, line_number="12349", department="市民政局", call_id=UID,
                                            route="line:12349:agent")  # fmt: skip
    page = await sign_in("agent", seat="agent02")
    await page.wait_for_selector("#live.on")
    await hub.on_event(AgentCalledEvent(queue="hotline-general", uniqueid=UID, interface="PJSIP/agent02",
                                        member_name="agent02"))  # fmt: skip
    await page.wait_for_selector("#t-number:not(:empty)")
    await page.fill("#t-text", "尚未保存的诉求记录")
    await page.reload()
    await page.wait_for_selector("#t-number:not(:empty)")  # the hub resends the pop on reconnect
    assert await page.input_value("#t-text") == "尚未保存的诉求记录"
    # The queue system is not connected in this app: the page says so instead of pretending.
    assert await page.inner_text("#agent-state") == "未连接排队系统"


async def test_other_roles_cannot_use_the_desk(sign_in, web_server: WebServer) -> None:  # noqa: ANN001
    page = await sign_in("department", department="市民政局")
    resp = await page.goto(web_server.base_url + "/desktop")
    assert resp.status == 403 and await page.inner_text("#forbidden") == "无权访问"
    t = await web_server.tickets.open_from_call(caller=CALLER, line_number="12349", department="市民政局",
                                                call_id="x.1", route="r")  # fmt: skip
    status = await page.evaluate(
        """async (id) => (await fetch(`/desktop/tickets/${id}/dispatch`, {method: 'POST',
             headers: {'Content-Type': 'application/json',
                       'X-CSRF-Token': document.querySelector('meta[name=csrf-token]').content},
             body: JSON.stringify({version: 1, department: '市住建局'})})).status""",
        t.id,
    )
    assert status == 403
    assert (await web_server.tickets.get(t.id)).status == "accepted"


async def test_knowledge_search_reads_the_published_articles(sign_in, web_server: WebServer) -> None:  # noqa: ANN001
    kb = web_server.app[KNOWLEDGE]
    await kb.import_file(STARTER, actor=Actor("starter-set", "admin"), publish=True)
    article = await kb.published("housing-fund-withdrawal")
    assert article is not None
    page = await sign_in("agent", seat="agent03")
    await page.fill("#kb-q", "怎么取公积金")
    await page.wait_for_selector("#kb-results li")
    titles = await page.locator("#kb-results li b").all_inner_texts()
    assert titles[0] == article.title  # the article, not the dialplan's three self-service answers
    await page.locator("#kb-results li button").first.click()
    assert await page.input_value("#t-answer") == article.body
