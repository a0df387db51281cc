"""Bearer-token authentication middleware and role checks."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Protocol

from aiohttp import web

from tickets.tokens import Principal

PRINCIPAL = web.AppKey("principal_resolver", object)
# RFC 6750 b64token: anything else (bytes \xff\xfe, spaces, controls) is not a token, and is refused
# before it reaches a hash or a database
_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]{1,512}=*")
CURRENT = web.RequestKey("principal", Principal)
PUBLIC_PATHS = frozenset({"/api/openapi.json", "/healthz"})
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
    if request.path in PUBLIC_PATHS:
        return await handler(request)
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not _TOKEN.fullmatch(token):
        return error(401, "unauthorized", "Authorization: expected 'Bearer <token>'",
                     errors=[{"field": "Authorization", "message": "expected 'Bearer <token>' (RFC 6750 token characters)"}])
    principal = await request.app[PRINCIPAL].resolve(token)
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
