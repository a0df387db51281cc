"""Supervisor wallboard (监控大屏): the page and its JSON snapshot, polled every second.

The snapshot comes from the composition root (`WallboardSource`), which reads the queue
tracker and board, the control loop, the IVR counters, the staffing plan and the ticket
store; this module only serves it to supervisors and admins.
"""

from __future__ import annotations

from typing import Any, Protocol

from aiohttp import web

from web.auth import require
from web.pages import render, require_page

BOARD_ROLES = ("supervisor", "admin")


class WallboardSource(Protocol):
    async def snapshot(self) -> dict[str, Any]: ...


WALLBOARD = web.AppKey("wallboard", WallboardSource)


async def wallboard_page(request: web.Request) -> web.Response:
    require_page(request, *BOARD_ROLES)
    return render(request, "wallboard.html")


async def wallboard_data(request: web.Request) -> web.Response:
    require(request, *BOARD_ROLES)
    snap = await request.app[WALLBOARD].snapshot()
    return web.json_response(snap, headers={"Cache-Control": "no-store"})
