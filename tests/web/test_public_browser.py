"""A citizen in Chromium, not signed in: searches the knowledge base, submits a request with the
verification code from the (dev) SMS gateway, then checks progress with number + last four digits."""

from __future__ import annotations

import re

import pytest

from knowledge.services import STARTER
from knowledge.state import Actor
from tests.support.browser import VIEWPORT, WebServer
from web.knowledge import KNOWLEDGE
from web.public import INTAKE

pytestmark = pytest.mark.browser
PHONE = "13912345678"


async def test_citizen_submits_on_the_web_and_checks_progress(chromium, web_server: WebServer, screenshot) -> None:  # noqa: ANN001
    await web_server.app[KNOWLEDGE].import_file(STARTER, actor=Actor("loader", "admin"))
    ctx = await chromium.new_context(viewport=VIEWPORT, locale="zh-CN")
    page = await ctx.new_page()
    await page.goto(web_server.base_url + "/public/")
    assert "/login" not in page.url  # public: no sign-in

    await page.fill("#kb-q", "社保卡丢了怎么补办")
    await page.click("#kb-form button")
    await page.wait_for_selector("#kb-results li strong")
    assert "社会保障卡申领与补换" in await page.inner_text("#kb-results li:first-child")

    await page.select_option("#type", "投诉")
    await page.fill("#content", "我家楼下的路灯坏了一个多月，晚上出行很不安全，希望尽快修好。")
    await page.fill("#place", "凉州区东大街88号")
    await page.fill("#phone", PHONE)
    await page.click("#send-code")
    await page.wait_for_function("document.getElementById('submit-msg').textContent.includes('验证码已发送')")
    sent = web_server.app[INTAKE].sms.sent[-1]
    assert sent[0] == PHONE
    await page.fill("#code", re.search(r"\d{6}", sent[1]).group(0))
    await page.click("#submit-btn")
    await page.wait_for_function("document.getElementById('submit-msg').dataset.number")
    number = await page.get_attribute("#submit-msg", "data-number")
    assert number in await page.inner_text("#submit-msg")
    await screenshot(page, "public-submitted", full_page=True)

    view = await web_server.tickets.get_by_number(number)
    assert view.channel == "web" and "东大街88号" in view.text

    await page.fill("#p-number", number)
    await page.fill("#p-last4", "0000")
    await page.click("#progress-btn")
    await page.wait_for_function("document.getElementById('progress-result').textContent.length > 0")
    assert "没有查到" in await page.inner_text("#progress-result")
    await page.fill("#p-last4", "5678")
    await page.click("#progress-btn")
    await page.wait_for_function(f"document.getElementById('progress-result').textContent.includes('{number}')")
    text = await page.inner_text("#progress-result")
    assert "受理时间" in text
    shot = await screenshot(page, "public-progress", full_page=True)
    assert shot.stat().st_size > 10_000
    await ctx.close()
