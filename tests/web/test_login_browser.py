"""Sign-in as a person does it, in Debian's Chromium: redirect, form, cookie, CSRF, rate limit."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.browser import VIEWPORT, WebServer, sign_in_page

pytestmark = pytest.mark.browser


async def _post(page, path: str, *, csrf: bool, body: str = "{}") -> dict:  # noqa: ANN001
    """A same-origin fetch from the page (so the session cookie goes along)."""
    return await page.evaluate(
        """async ([path, csrf, body]) => {
            const headers = {"Content-Type": "application/json"};
            if (csrf) headers["X-CSRF-Token"] = document.querySelector('meta[name=csrf-token]').content;
            const r = await fetch(path, {method: "POST", headers, body, redirect: "manual"});
            return {status: r.status, text: await r.text()};
        }""",
        [path, csrf, body],
    )


async def test_signed_out_visitor_is_sent_to_login(chromium, web_server: WebServer, screenshot) -> None:  # noqa: ANN001
    ctx = await chromium.new_context(viewport=VIEWPORT, locale="zh-CN")
    page = await ctx.new_page()
    resp = await page.goto(web_server.base_url + "/")
    assert page.url == web_server.base_url + "/login"
    assert resp.status == 200
    assert await page.inner_text("h1") == "登录"
    shot = await screenshot(page, "login")
    assert shot.stat().st_size > 5000
    # A deep link comes back after sign-in; the API answers 401 JSON instead of a redirect.
    await page.goto(web_server.base_url + "/desktop?x=1")
    assert parse_qs(urlsplit(page.url).query) == {"next": ["/desktop?x=1"]}
    assert await page.input_value("input[name=next]") == "/desktop?x=1"
    api = await page.goto(web_server.base_url + "/api/tickets")
    assert api.status == 401 and (await api.json())["error"] == "unauthorized"
    await ctx.close()


async def test_login_sets_hardened_cookie_and_logout_ends_session(chromium, web_server: WebServer) -> None:  # noqa: ANN001
    user, password = await web_server.add_user("supervisor", display_name="王班长")
    page = await sign_in_page(chromium, web_server, user, password)
    assert page.url == web_server.base_url + "/"
    assert "欢迎，王班长" in await page.inner_text("h1")
    assert "王班长（班长）" in await page.inner_text("#who")
    (cookie,) = [c for c in await page.context.cookies() if c["name"] == "hotline_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]  # plain HTTP here
    assert await page.evaluate("document.cookie") == ""  # scripts cannot read it
    async with page.expect_navigation():
        await page.click("#logout")
    assert page.url == web_server.base_url + "/login"
    await page.goto(web_server.base_url + "/")
    assert page.url == web_server.base_url + "/login"
    events = [(e.event, e.ok) for e in reversed(await web_server.accounts.events(username=user))]
    assert events == [("user-added", True), ("login", True), ("logout", True)]
    assert (await web_server.accounts.events(username=user))[1].remote == "127.0.0.1"
    await page.context.close()


async def test_wrong_password_is_refused_and_audited(chromium, web_server: WebServer, screenshot) -> None:  # noqa: ANN001
    user, _ = await web_server.add_user("agent")
    ctx = await chromium.new_context(viewport=VIEWPORT, locale="zh-CN")
    page = await ctx.new_page()
    await page.goto(web_server.base_url + "/login")
    await page.fill("#username", user)
    await page.fill("#password", "not-the-password")
    async with page.expect_navigation():
        await page.click("#login-submit")
    assert await page.inner_text("#login-error") == "用户名或密码错误。"
    assert await page.input_value("#username") == user
    await screenshot(page, "login-wrong-password")
    assert [(e.event, e.ok, e.detail) for e in await web_server.accounts.events(username=user)][0] == (
        "login", False, "wrong password")  # fmt: skip
    await ctx.close()


async def test_state_change_without_csrf_token_is_refused(sign_in, web_server: WebServer) -> None:  # noqa: ANN001
    page = await sign_in("agent")
    body = '{"channel": "phone", "caller": "13800000000", "type": "咨询", "text": "路灯不亮"}'
    refused = await _post(page, "/api/tickets", csrf=False, body=body)
    assert refused["status"] == 403 and '"csrf"' in refused["text"]
    assert await web_server.tickets.search(_all()) == []
    ok = await _post(page, "/api/tickets", csrf=True, body=body)
    assert ok["status"] == 201, ok
    assert len(await web_server.tickets.search(_all())) == 1
    # Sign-out by a forged cross-site form (no token) does nothing.
    forged = await page.evaluate(
        """async () => (await fetch('/logout', {method: 'POST', redirect: 'manual',
              headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'x=1'})).status"""
    )
    assert forged == 403
    await page.goto(web_server.base_url + "/")
    assert page.url == web_server.base_url + "/"


async def test_agent_gets_403_for_supervisor_action(sign_in, web_server: WebServer) -> None:  # noqa: ANN001
    page = await sign_in("agent")
    resp = await page.goto(web_server.base_url + "/api/reports")
    assert resp.status == 403 and (await resp.json())["error"] == "forbidden"


async def test_login_rate_limit(chromium, web_server: WebServer, screenshot) -> None:  # noqa: ANN001
    user, password = await web_server.add_user("agent")
    ctx = await chromium.new_context(viewport=VIEWPORT, locale="zh-CN")
    page = await ctx.new_page()
    statuses = []
    for attempt in ["guess-1", "guess-2", "guess-3", "guess-4", "guess-5", password]:
        await page.goto(web_server.base_url + "/login")
        await page.fill("#username", user)
        await page.fill("#password", attempt)
        async with page.expect_navigation() as nav:
            await page.click("#login-submit")
        statuses.append((await nav.value).status)
    # Five failures, then even the right password waits out the window.
    assert statuses == [401, 401, 401, 401, 401, 429]
    assert "登录失败次数过多" in await page.inner_text("#login-error")
    await screenshot(page, "login-rate-limited")
    assert (await web_server.accounts.events(username=user))[0].event == "login-throttled"
    await ctx.close()


def _all():  # noqa: ANN202
    from tickets.repository import TicketFilter

    return TicketFilter()
