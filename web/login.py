"""Sign-in and sign-out pages (/login, /logout) for people; machines use API tokens."""

from __future__ import annotations

import hmac
import logging
import math
import secrets

from aiohttp import web

from infra.logs import log_event
from web.pages import ROLE_HOME, home, render
from web.ratelimit import LoginLimiter
from web.session import (
    ACCOUNTS,
    COOKIE,
    clear_session_cookie,
    remote,
    set_session_cookie,
    signed_in,
)

LIMITER = web.AppKey("login_limiter", LoginLimiter)
LOGIN_CSRF_COOKIE = "hotline_login_csrf"
log = logging.getLogger("web.login")


def _next(raw: str | None) -> str:
    # Only a local path: an open redirect to another site would make phishing look like us.
    if raw and raw.startswith("/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return ""


def _form(request: web.Request, *, status: int = 200, message: str = "", username: str = "",
          next_: str = "") -> web.Response:  # fmt: skip
    # Reuse the browser's token: a second /login load (another tab, a redirected favicon request)
    # must not invalidate the form already on screen.
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    resp = render(request, "login.html", status=status, message=message, username=username,
                  next=next_, login_csrf=token)  # fmt: skip
    resp.set_cookie(LOGIN_CSRF_COOKIE, token, path="/login", httponly=True, samesite="Strict",
                    secure=request.secure)  # fmt: skip
    return resp


async def _current(request: web.Request) -> bool:
    cookie = request.cookies.get(COOKIE)
    return bool(cookie) and await request.app[ACCOUNTS].resolve_session(cookie) is not None


async def login_form(request: web.Request) -> web.StreamResponse:
    if await _current(request):
        raise web.HTTPFound(_next(request.query.get("next")) or "/")
    return _form(request, next_=_next(request.query.get("next")))


async def login_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    username = str(form.get("username", "")).strip()[:64]
    password = str(form.get("password", ""))
    next_ = _next(str(form.get("next", "")))
    sent, kept = str(form.get("login_csrf", "")), request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not sent or not kept or not hmac.compare_digest(sent, kept):
        return _form(request, status=403, message="页面已过期，请重新登录。", username=username, next_=next_)
    limiter, accounts, addr = request.app[LIMITER], request.app[ACCOUNTS], remote(request)
    keys = (f"ip:{addr}", f"user:{username.lower()}")
    wait = limiter.retry_after(*keys)
    if wait > 0:
        await accounts.audit(username, "login-throttled", False, remote=addr)
        log_event(log, "login throttled", logging.WARNING, user=username, remote=addr)
        resp = _form(request, status=429, username=username, next_=next_,
                     message=f"登录失败次数过多，请 {math.ceil(wait / 60)} 分钟后再试。")  # fmt: skip
        resp.headers["Retry-After"] = str(math.ceil(wait))
        return resp
    account = await accounts.authenticate(username, password, remote=addr) if username else None
    if account is None:
        limiter.failed(*keys)
        log_event(log, "login failed", logging.WARNING, user=username, remote=addr)
        return _form(request, status=401, message="用户名或密码错误。", username=username, next_=next_)
    limiter.succeeded(keys[1])
    token, session = await accounts.open_session(account)
    log_event(log, "login", user=account.username, role=account.role, remote=addr)
    resp = web.HTTPFound(next_ or ROLE_HOME.get(account.role, "/"))
    set_session_cookie(request, resp, token, int(accounts.session_ttl.total_seconds()))
    resp.del_cookie(LOGIN_CSRF_COOKIE, path="/login")
    raise resp


async def logout(request: web.Request) -> web.StreamResponse:
    # Reached only through the auth middleware, so the session and its CSRF token were checked.
    cookie = request.cookies.get(COOKIE)
    if cookie and signed_in(request):
        await request.app[ACCOUNTS].close_session(cookie, remote=remote(request))
    resp = web.HTTPFound("/login")
    clear_session_cookie(resp)
    raise resp


def setup(app: web.Application, *, accounts: object, limiter: LoginLimiter | None = None) -> None:
    """Register the sign-in routes and what they need on `app`."""
    from web.pages import STATIC

    app[ACCOUNTS] = accounts  # type: ignore[assignment]
    app[LIMITER] = limiter or LoginLimiter()
    r = app.router
    r.add_get("/", home)
    r.add_get("/login", login_form)
    r.add_post("/login", login_submit)
    r.add_post("/logout", logout)
    r.add_static("/static", STATIC, append_version=False)
