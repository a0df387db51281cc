"""Admin console: the running dialplan, the numbers it serves, check / diff / reload of a
candidate folder (reload audited by the composition root), users and roles.

The work is done by the composition root through `AdminPort`; the root also decides which
folders may be named (never an arbitrary path from a request body).
"""

from __future__ import annotations

from typing import Any, Protocol

from aiohttp import web
from pydantic import BaseModel, Field

from web.auth import error, require
from web.pages import render, require_page

ADMIN_ROLES = ("admin",)
READ_ROLES = ("admin", "supervisor")


class AdminRefused(Exception):
    """A request the console refuses (a folder outside the allowed ones); message names why."""

    def __init__(self, message: str, field: str = "path") -> None:
        super().__init__(message)
        self.message, self.field = message, field


class AdminPort(Protocol):
    def dialplan_info(self) -> dict[str, Any]: ...
    async def check(self, path: str) -> dict[str, Any]: ...
    async def diff(self, path: str) -> dict[str, Any]: ...
    async def reload(self, path: str, *, actor: str) -> dict[str, Any]: ...
    async def users(self) -> list[dict[str, Any]]: ...


ADMIN = web.AppKey("admin", AdminPort)


class CandidateBody(BaseModel):
    path: str = Field("", max_length=1000, description="candidate folder; empty: the running dialplan's")


async def _candidate(request: web.Request) -> str:
    from web.app import body  # the shared JSON body parser (422 names each bad field)

    return (await body(request, CandidateBody)).path


def _refused(exc: AdminRefused) -> web.Response:
    return error(422, "invalid-input", exc.message, errors=[{"field": exc.field, "message": exc.message}])


async def admin_page(request: web.Request) -> web.Response:
    require_page(request, *ADMIN_ROLES)
    return render(request, "admin.html")


async def dialplan_info(request: web.Request) -> web.Response:
    require(request, *READ_ROLES)
    return web.json_response(request.app[ADMIN].dialplan_info())


async def dialplan_check(request: web.Request) -> web.Response:
    require(request, *ADMIN_ROLES)
    try:
        return web.json_response(await request.app[ADMIN].check(await _candidate(request)))
    except AdminRefused as exc:
        return _refused(exc)


async def dialplan_diff(request: web.Request) -> web.Response:
    require(request, *ADMIN_ROLES)
    try:
        return web.json_response(await request.app[ADMIN].diff(await _candidate(request)))
    except AdminRefused as exc:
        return _refused(exc)


async def dialplan_reload(request: web.Request) -> web.Response:
    p = require(request, *ADMIN_ROLES)
    try:
        result = await request.app[ADMIN].reload(await _candidate(request), actor=p.actor)
    except AdminRefused as exc:
        return _refused(exc)
    return web.json_response(result, status=200 if result.get("ok") else 422)


async def users(request: web.Request) -> web.Response:
    require(request, *ADMIN_ROLES)
    return web.json_response({"items": await request.app[ADMIN].users()})
