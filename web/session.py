"""Browser sessions: the cookie, the CSRF token, and role checks for pages.

A signed-in browser carries one HttpOnly, SameSite=Lax cookie (Secure when the request came
over TLS). Every state-changing request it makes must also carry the session's CSRF token, in
the `X-CSRF-Token` header (scripts: read it from `<meta name="csrf-token">`) or a `csrf_token`
form field. Bearer-token requests (machines) carry no ambient credential and need no CSRF token.
"""

from __future__ import annotations

import hmac

from aiohttp import web

from accounts.store import AccountStore, SignedIn

ACCOUNTS = web.AppKey("accounts", AccountStore)
SIGNED_IN = web.RequestKey("signed_in", SignedIn)
COOKIE = "hotline_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def set_session_cookie(request: web.Request, response: web.StreamResponse, token: str, max_age: int) -> None:
    response.set_cookie(COOKIE, token, max_age=max_age, path="/", httponly=True, samesite="Lax",
                        secure=request.secure)  # fmt: skip


def clear_session_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path="/")


async def csrf_ok(request: web.Request, expected: str) -> bool:
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sent = str((await request.post()).get(CSRF_FIELD, ""))
    return bool(sent) and hmac.compare_digest(sent, expected)


def signed_in(request: web.Request) -> SignedIn | None:
    """The browser session of this request (None for bearer-token requests)."""
    return request.get(SIGNED_IN)


def csrf_token(request: web.Request) -> str:
    s = signed_in(request)
    return s.csrf_token if s else ""


def remote(request: web.Request) -> str:
    return request.remote or ""
