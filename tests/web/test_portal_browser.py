"""The department portal and the supervisors' view in Chromium: a department user signs a ticket,
requests an extension (a supervisor approves it), replies with an attachment; urgency colours,
visibility (own and co-handled only), return window, and the ranking charts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.browser import WebServer
from tickets.state import Dispatch, Sign
from web.portal import ATTACHMENTS

pytestmark = pytest.mark.browser
# Over the 256 KiB body limit of the JSON API: attachments have their own limit.
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\n" + b"%" + b"0" * 1_200_000 + b"\ntrailer <<>>\n%%EOF\n"


async def _dispatched(server: WebServer, text: str, department: str, co: tuple[str, ...] = ()) -> object:
    svc = server.tickets
    view = await svc.create(channel="phone", caller="13912345678", ticket_type="投诉", text=text, title=text[:12],
                            actor="agent:alice")  # fmt: skip
    await svc.act(view.id, Dispatch(department=department, co_departments=co), actor="agent:alice")
    return await svc.get(view.id)


async def test_department_signs_extends_and_replies_with_an_attachment(
    web_server: WebServer, sign_in, screenshot, tmp_path,  # noqa: ANN001
) -> None:
    old = await _dispatched(web_server, "小区电梯长期故障无人维修", "住建局")
    web_server.clock.advance(days=4)  # past its reply due date (wuwei: 3 working days)
    assert await web_server.tickets.sweep()  # the old one is overdue now: 督办
    fresh = await _dispatched(web_server, "楼道顶棚渗水影响通行", "住建局", co=("水务局",))
    co_handled = await _dispatched(web_server, "小区供水管网漏水", "水务局", co=("住建局",))
    other = await _dispatched(web_server, "自来水水压太低", "水务局")

    page = await sign_in("department", department="住建局")
    assert page.url.endswith("/portal")
    rows = {await r.get_attribute("data-number"): await r.get_attribute("class")
            for r in await page.query_selector_all("#portal-tickets tbody tr")}  # fmt: skip
    assert set(rows) == {old.number, fresh.number, co_handled.number}  # never another department's
    assert rows[old.number] == "u-overdue" and rows[fresh.number] == "u-normal"
    assert "督办" in await page.inner_text(f"tr[data-number='{old.number}']")
    assert "协办" in await page.inner_text(f"tr[data-number='{co_handled.number}']")
    await screenshot(page, "portal-list")
    other_page = await page.goto(web_server.base_url + f"/portal/tickets/{other.id}")
    assert other_page.status == 404

    await page.goto(web_server.base_url + f"/portal/tickets/{fresh.id}")
    async with page.expect_navigation():
        await page.click("#sign")
    assert await page.inner_text("#message") == "已签收"
    assert await page.inner_text("#status") == "已签收"
    await page.fill("#extend-days", "3")
    await page.fill("#extend-reason", "需要物业和施工单位共同勘查")
    async with page.expect_navigation():
        await page.click("#extend")
    assert await page.inner_text("#status") == "延期申请中"
    due_before = (await web_server.tickets.get(fresh.id)).handle_due

    boss = await sign_in("supervisor")
    await boss.goto(web_server.base_url + f"/portal/tickets/{fresh.id}")
    async with boss.expect_navigation():
        await boss.click("#approve")
    assert await boss.inner_text("#message") == "已同意延期"
    assert (await web_server.tickets.get(fresh.id)).handle_due > due_before

    await page.reload()
    assert await page.inner_text("#status") == "办理中"
    # A renamed executable is refused and nothing changes.
    await page.fill("#reply-body", "已组织维修，顶棚防水层已重做。")
    await page.set_input_files("#reply-files", files=[{"name": "现场照片.pdf", "mimeType": "application/pdf",
                                                       "buffer": b"MZ\x90\x00 not a pdf"}])  # fmt: skip
    await page.click("#reply-submit")
    await page.wait_for_function("document.getElementById('reply-msg').textContent.length > 0")
    assert "not a .pdf" in await page.inner_text("#reply-msg")
    assert (await web_server.tickets.get(fresh.id)).status == "handling"
    await page.set_input_files("#reply-files", files=[{"name": "维修验收单.pdf", "mimeType": "application/pdf",
                                                       "buffer": PDF}])  # fmt: skip
    async with page.expect_navigation():
        await page.click("#reply-submit")
    assert await page.inner_text("#status") == "已答复"
    assert "防水层已重做" in await page.inner_text("#reply-text")
    link = page.locator("#files a").first
    async with page.expect_download() as dl:
        await link.click()
    saved = tmp_path / "downloaded.pdf"
    await (await dl.value).save_as(saved)
    assert saved.read_bytes() == PDF
    view = await web_server.tickets.get(fresh.id)
    (stored,) = [p for p in view.recordings if web_server.app[ATTACHMENTS].resolve(p)]
    assert stored.endswith("_维修验收单.pdf") and (await dl.value).suggested_filename == Path(stored).name
    await screenshot(page, "portal-replied", full_page=True)


async def test_return_only_inside_the_policy_window(web_server: WebServer, sign_in) -> None:  # noqa: ANN001
    t = await _dispatched(web_server, "路灯不亮需要维修处理", "住建局")
    await web_server.tickets.act(t.id, Sign(actor_department="住建局"), actor="department:zj")
    page = await sign_in("department", department="住建局")
    web_server.clock.advance(days=10)  # long past the return window
    await page.goto(web_server.base_url + f"/portal/tickets/{t.id}")
    assert await page.is_disabled("#return")
    # Even a forged post is refused by the workflow, and the ticket stays signed.
    status = await page.evaluate(
        """async (id) => { const f = new FormData(); f.append('reason', '非本单位职责');
           f.append('csrf_token', document.querySelector('meta[name=csrf-token]').content);
           return (await fetch('/portal/tickets/' + id + '/return', {method: 'POST', body: f})).status; }""", t.id)
    assert status == 409
    assert (await web_server.tickets.get(t.id)).status == "signed"


async def test_supervisors_see_overdue_and_the_ranking_chart(web_server: WebServer, sign_in, screenshot) -> None:  # noqa: ANN001
    from tickets.state import Reply, StartHandling

    late = await _dispatched(web_server, "工地夜间施工噪音扰民", "住建局")
    ok = await _dispatched(web_server, "自来水管道破裂漏水", "水务局")
    svc = web_server.tickets
    await svc.act(ok.id, Sign(actor_department="水务局"), actor="department:sw")
    await svc.act(ok.id, StartHandling(actor_department="水务局"), actor="department:sw")
    await svc.act(ok.id, Reply(text="已抢修完毕", actor_department="水务局"), actor="department:sw")
    web_server.clock.advance(days=6)
    await svc.sweep()
    page = await sign_in("supervisor")
    await page.goto(web_server.base_url + "/portal/supervision?month=2026-11")
    assert late.number in await page.inner_text("#overdue")
    assert late.number in await page.inner_text("#supervised")
    assert ok.number not in await page.inner_text("#overdue")
    bars = {await b.get_attribute("data-dept"): await b.get_attribute("data-value")
            for b in await page.query_selector_all("#charts svg:first-child rect[data-dept]")}  # fmt: skip
    assert bars == {"水务局": "100.0%", "住建局": "0.0%"}
    ranking = await page.inner_text("#ranking tbody tr:first-child")
    assert "水务局" in ranking
    await screenshot(page, "supervision", full_page=True)
