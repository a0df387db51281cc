"""The citizens' web channel, public and without sign-in: submit a request (with a verification
code), look up progress (ticket number + the phone's last four digits), search published articles.
The abuse rules live in tickets/intake.py; this module maps its errors to HTTP."""

from __future__ import annotations

import functools
import json
from dataclasses import asdict
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tickets.intake import CitizenIntake, RateLimited
from tickets.policy import TICKET_TYPES
from web.auth import error
from web.knowledge import KNOWLEDGE, Handler, search_hits
from web.pages import render
from web.session import remote

INTAKE = web.AppKey("citizen_intake", CitizenIntake)
PUBLIC_ROUTES = ("/public/", "/api/public/")


class CodeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: str = Field(max_length=20)


class SubmitBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: str = Field(max_length=20)
    code: str = Field(max_length=10)
    type: str = Field(max_length=8)
    content: str = Field(max_length=4000)
    place: str = Field("", max_length=400)
    name: str = Field("", max_length=80)


def _json(obj: object, status: int = 200) -> web.Response:
    return web.json_response(obj, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))


def intake_errors(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except RateLimited as exc:
            resp = error(429, exc.error_id, exc.message, errors=[{"field": exc.field, "message": exc.message}])
            resp.headers["Retry-After"] = str(int(exc.retry_after) + 1)
            return resp

    return wrapped


async def _parse(request: web.Request, model: type[BaseModel]) -> Any:
    try:
        return model.model_validate(json.loads(await request.read() or b"{}"))
    except (ValueError, ValidationError) as exc:
        errors = ([{"field": ".".join(str(x) for x in e["loc"]) or "body", "message": e["msg"]} for e in exc.errors()]
                  if isinstance(exc, ValidationError) else [{"field": "body", "message": "not JSON"}])  # fmt: skip
        raise web.HTTPUnprocessableEntity(
            text=json.dumps({"error": "invalid-input", "message": "invalid fields", "errors": errors}, ensure_ascii=False),
            content_type="application/json",
        ) from exc


async def page(request: web.Request) -> web.Response:
    return render(request, "public.html", types=TICKET_TYPES)


@intake_errors
async def request_code(request: web.Request) -> web.Response:
    b = await _parse(request, CodeBody)
    await request.app[INTAKE].request_code(phone=b.phone, address=remote(request))
    return _json({"sent": True})


@intake_errors
async def submit(request: web.Request) -> web.Response:
    b = await _parse(request, SubmitBody)
    done = await request.app[INTAKE].submit(phone=b.phone, code=b.code, address=remote(request), ticket_type=b.type,
                                            content=b.content, place=b.place, name=b.name)  # fmt: skip
    return _json({"number": done.number}, 201)


@intake_errors
async def progress(request: web.Request) -> web.Response:
    q = request.query
    found = await request.app[INTAKE].progress(number=q.get("number", ""), last4=q.get("last4", ""),
                                               address=remote(request))  # fmt: skip
    if found is None:
        return error(404, "not-found", "没有查到：请核对工单编号和手机号后四位")
    return _json(asdict(found))


async def kb_search(request: web.Request) -> web.Response:
    # Published, currently valid articles only: KnowledgeService.search never reads drafts.
    return _json({"items": await search_hits(request.app[KNOWLEDGE], request.query.get("q", "")[:100], 5)})


def setup(app: web.Application, *, intake: CitizenIntake) -> None:
    app[INTAKE] = intake
    r = app.router
    r.add_get("/public/", page)
    r.add_post("/api/public/code", request_code)
    r.add_post("/api/public/requests", submit)
    r.add_get("/api/public/progress", progress)
    r.add_get("/api/public/kb", kb_search)
