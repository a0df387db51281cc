"""GET /healthz (the process answers) and GET /readyz (it can take calls: database, AMI, FastAGI).

/readyz runs every named check the composition root passes in; each returns None when fine or
a sentence saying what is wrong. 200 when all pass, 503 otherwise, always with a JSON body
naming each check, so a service manager or a load balancer sees why.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

Check = Callable[[], Awaitable[str | None]]
READINESS = web.AppKey("readiness", Mapping)
CHECK_TIMEOUT_S = 2.0


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def _run(check: Check) -> dict[str, object]:
    started = time.perf_counter()
    try:
        problem = await asyncio.wait_for(check(), CHECK_TIMEOUT_S)
    except TimeoutError:
        problem = f"no answer within {CHECK_TIMEOUT_S:.0f} s"
    except Exception as exc:  # noqa: BLE001 - reported, not raised: that is the point of the check
        problem = f"{type(exc).__name__}: {exc}"
    out: dict[str, object] = {"ok": problem is None, "ms": round((time.perf_counter() - started) * 1000, 1)}
    if problem is not None:
        out["error"] = problem
    return out


async def readyz(request: web.Request) -> web.Response:
    checks: Mapping[str, Check] = request.app.get(READINESS) or {}
    names = list(checks)
    results = dict(zip(names, await asyncio.gather(*(_run(checks[n]) for n in names)), strict=True))
    ok = bool(results) and all(r["ok"] for r in results.values())
    return web.json_response({"ok": ok, "checks": results}, status=200 if ok else 503)
