"""Bearer-token authentication middleware and role checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from aiohttp import web

from tickets.tokens import Principal

PRINCIPAL = web.AppKey("principal_resolver", object)
CURRENT = web.RequestKey("principal", Principal)
# /metrics, /healthz and /readyz answer the scraper and the service manager, which hold no token.
PUBLIC_PATHS = frozenset({"/api/openapi.json", "/healthz", "/readyz", "/metrics", "/wallboard", "/admin"})
# Page shells and their scripts/styles hold no figures; the JSON they fetch needs a token.
PUBLIC_PREFIXES = ("/static/",)
# Roles that contact the citizen keep the number: agents call back; departments must reply to the
# citizen through the contact left (甘州区办法 第十三条). Supervisors and admins see it masked.
UNMASKED_ROLES = frozenset({"agent", "department"})


class TokenResolver(Protocol):
    async def resolve(self, token: str) -> Principal | None: ...


def error(status: int, error_id: str, message: str, **extra: object) -> web.Response:
    return web.json_response({"error": error_id, "message": message, **extra}, status=status)


@web.middleware
async def auth_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    if request.path in PUBLIC_PATHS or request.path.startswith(PUBLIC_PREFIXES):
        return await handler(request)
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return error(401, "unauthorized", "Authorization: expected 'Bearer <token>'")
    principal = await request.app[PRINCIPAL].resolve(token.strip())
    if principal is None:
        return error(401, "unauthorized", "Authorization: unknown token")
    request[CURRENT] = principal
    return await handler(request)


def principal(request: web.Request) -> Principal:
    return request[CURRENT]


def require(request: web.Request, *roles: str) -> Principal:
    p = principal(request)
    if p.role not in roles:
        raise web.HTTPForbidden(
            text=f'{{"error": "forbidden", "message": "role {p.role} may not do this (needs one of {list(roles)})"}}',
            content_type="application/json",
        )
    return p
