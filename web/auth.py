"""Authentication middleware and role checks.

One middleware resolves either credential: a bearer API token (machines, `hotline tickets token`)
or a browser session cookie (people, `/login`). A signed-out browser asking for a page is sent
to /login; an API request without credentials gets 401 JSON. Cookie requests that change state
must carry the session's CSRF token (web/session.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Protocol
from urllib.parse import quote

from aiohttp import web

from tickets.tokens import Principal
from web.session import ACCOUNTS, COOKIE, SAFE_METHODS, SIGNED_IN, csrf_ok

PRINCIPAL = web.AppKey("principal_resolver", object)
# RFC 6750 b64token: anything else (bytes \xff\xfe, spaces, controls) is not a token, and is refused
# before it reaches a hash or a database
_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]{1,512}=*")
CURRENT = web.RequestKey("principal", Principal)
# /metrics and /readyz answer the scraper and the service manager, which hold no credential.
PUBLIC_PATHS = frozenset({"/api/openapi.json", "/healthz", "/readyz", "/metrics", "/login", "/favicon.ico"})
# The citizens' web channel (web/public.py) is open to everyone; it guards itself with rate limits.
PUBLIC_PREFIXES = ("/static/", "/public/", "/api/public/")
# Roles that contact the citizen keep the number: agents call back; departments must reply to the
# citizen through the contact left (甘州区办法 第十三条). Supervisors and admins see it masked.
UNMASKED_ROLES = frozenset({"agent", "department"})


class TokenResolver(Protocol):
    async def resolve(self, token: str) -> Principal | None: ...


def error(status: int, error_id: str, message: str, **extra: object) -> web.Response:
    return web.json_response({"error": error_id, "message": message, **extra}, status=status)


def _is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


@web.middleware
async def auth_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    if request.path in PUBLIC_PATHS or request.path.startswith(PUBLIC_PREFIXES):
        return await handler(request)
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not _TOKEN.fullmatch(token):
            return error(401, "unauthorized", "Authorization: expected 'Bearer <token>'",
                         errors=[{"field": "Authorization",
                                  "message": "expected 'Bearer <token>' (RFC 6750 token characters)"}])
        principal = await request.app[PRINCIPAL].resolve(token)
        if principal is None:
            return error(401, "unauthorized", "Authorization: unknown token")
        request[CURRENT] = principal
        return await handler(request)
    cookie = request.cookies.get(COOKIE)
    session = await request.app[ACCOUNTS].resolve_session(cookie) if cookie and ACCOUNTS in request.app else None
    if session is None:
        if _is_api(request):
            return error(401, "unauthorized", "Authorization: expected 'Bearer <token>' or a signed-in session")
        target = request.path_qs if request.method in SAFE_METHODS else "/"
        raise web.HTTPFound("/login" + ("" if target == "/" else "?next=" + quote(target, safe="")))
    if request.method not in SAFE_METHODS and not await csrf_ok(request, session.csrf_token):
        return error(403, "csrf", "X-CSRF-Token: missing or wrong for this session (reload the page)")
    acc = session.account
    request[SIGNED_IN] = session
    request[CURRENT] = Principal(acc.username, acc.role, acc.department)
    return await handler(request)


def principal(request: web.Request) -> Principal:
    return request[CURRENT]


def require(request: web.Request, *roles: str) -> Principal:
    """The caller's principal when its role is one of `roles`, else 403 (JSON)."""
    p = principal(request)
    if p.role not in roles:
        raise web.HTTPForbidden(
            text=json.dumps(
                {"error": "forbidden", "message": f"role {p.role} may not do this (needs one of {list(roles)})"}
            ),
            content_type="application/json",
        )
    return p
