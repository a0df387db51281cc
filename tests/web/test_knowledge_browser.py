"""The knowledge base in Chromium: a department edits its article, a colleague approves it, the
hotline publishes it; the published text (and the IVR's prompt id) change only at the last step."""

from __future__ import annotations

import pytest

from knowledge.services import STARTER
from knowledge.state import Actor
from tests.support.browser import WebServer
from web.knowledge import KNOWLEDGE

pytestmark = pytest.mark.browser
DEPT = "市公积金中心"


async def test_edit_review_publish_in_the_browser(web_server: WebServer, sign_in, screenshot) -> None:  # noqa: ANN001
    kb = web_server.app[KNOWLEDGE]
    await kb.import_file(STARTER, actor=Actor("loader", "admin"))
    before = await kb.spoken("housing-fund-rent-withdrawal")

    editor = await sign_in("department", department=DEPT)
    await editor.goto(web_server.base_url + "/kb")
    ids = [await r.get_attribute("data-id") for r in await editor.query_selector_all("#kb-articles tbody tr")]
    assert ids and "housing-fund-rent-withdrawal" in ids and "id-card" not in ids  # only its own
    await editor.goto(web_server.base_url + "/kb/id-card")
    assert await editor.query_selector("#kb-edit") is None  # another department's: read only
    await editor.goto(web_server.base_url + "/kb/housing-fund-rent-withdrawal")
    await editor.fill("#f-body", "本市无自有住房且租房自住的职工，可以每季度提取一次住房公积金支付房租，额度以当年公布的标准为准。")
    await editor.fill("#f-note", "提取频次改为每季度")
    async with editor.expect_navigation():
        await editor.click("#kb-save")
    assert await editor.inner_text("#kb-status") == "草稿"
    assert "每季度" not in await editor.inner_text("#live-body")  # still the published version
    async with editor.expect_navigation():
        await editor.click("#do-submit")
    assert await editor.inner_text("#kb-status") == "部门审核中"
    assert await editor.query_selector("#do-department_approve") is None  # not for the author

    reviewer = await sign_in("department", department=DEPT)
    await reviewer.goto(web_server.base_url + "/kb/housing-fund-rent-withdrawal")
    async with reviewer.expect_navigation():
        await reviewer.click("#do-department_approve")
    assert await reviewer.inner_text("#kb-status") == "热线审核中"
    assert (await kb.spoken("housing-fund-rent-withdrawal")).prompt_id == before.prompt_id

    boss = await sign_in("supervisor")
    await boss.goto(web_server.base_url + "/kb/housing-fund-rent-withdrawal")
    async with boss.expect_navigation():
        await boss.click("#do-hotline_approve")
    assert await boss.inner_text("#kb-status") == "已发布"
    assert "每季度" in await boss.inner_text("#live-body")
    audit = await boss.inner_text("#kb-audit")
    assert "提取频次改为每季度" in audit and "hotline_approve" in audit
    after = await kb.spoken("housing-fund-rent-withdrawal")
    assert after.prompt_id == "kb.housing-fund-rent-withdrawal.v2" != before.prompt_id
    await screenshot(boss, "kb-published", full_page=True)

    agent = await sign_in("agent")
    await agent.goto(web_server.base_url + "/kb?q=租房提取公基金")  # homophone typo
    top3 = [await li.inner_text() for li in (await agent.query_selector_all("#kb-hits li"))[:3]]
    assert any("租房提取住房公积金" in t and "每季度" in t for t in top3), top3
