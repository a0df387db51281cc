"""Knowledge-base handlers: search (staff, and the public through web/public.py), writing and the
review workflow. The domain (knowledge/) decides who may do what; this module maps its errors."""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from knowledge.exceptions import KnowledgeError
from knowledge.services import ArticleInput, KnowledgeService
from knowledge.state import Action, Actor
from web.auth import error, principal, require

KNOWLEDGE = web.AppKey("knowledge", KnowledgeService)
STATUS_FOR = {"no-such-article": 404, "illegal-transition": 409, "forbidden": 403, "invalid-input": 422}
READERS = ("agent", "department", "supervisor", "admin")
WRITERS = ("department", "supervisor", "admin")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def kb_errors(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except KnowledgeError as exc:
            extra: dict[str, Any] = {"errors": [{"field": exc.field, "message": exc.message}]} if exc.field else {}
            return error(STATUS_FOR.get(exc.error_id, 400), exc.error_id, exc.message, **extra)

    return wrapped


def _json(obj: object, status: int = 200) -> web.Response:
    return web.json_response(obj, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False, default=str))


def actor_of(request: web.Request) -> Actor:
    p = principal(request)
    return Actor(p.name, p.role, p.department)


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        data = json.loads(raw) if raw.strip() else {}
    except ValueError as exc:
        raise KnowledgeError(f"body: not JSON ({exc})", field="body") from exc
    if not isinstance(data, dict):
        raise KnowledgeError("body: expected a JSON object", field="body")
    return data


class ActionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Action
    note: str = Field("", max_length=2000)


async def search_hits(kb: KnowledgeService, query: str, limit: int) -> list[dict[str, Any]]:
    return [asdict(h) for h in await kb.search(query, limit=limit)]


@kb_errors
async def search(request: web.Request) -> web.Response:
    require(request, *READERS)
    q = request.query.get("q", "")
    try:
        limit = max(1, min(int(request.query.get("limit", "5")), 20))
    except ValueError:
        return error(422, "invalid-input", "limit: expected an integer 1..20",
                     errors=[{"field": "limit", "message": "expected an integer"}])  # fmt: skip
    return _json({"items": await search_hits(request.app[KNOWLEDGE], q, limit)})


@kb_errors
async def list_articles(request: web.Request) -> web.Response:
    p = require(request, *READERS)
    status = tuple(s for s in request.query.get("status", "").split(",") if s)
    department = p.department if p.role == "department" else request.query.get("department") or None
    views = await request.app[KNOWLEDGE].list(department=department, status=status)
    return _json({"items": [v.as_dict() for v in views], "count": len(views)})


@kb_errors
async def create_article(request: web.Request) -> web.Response:
    require(request, *WRITERS)
    data = await _body(request)
    data.pop("status", None)
    try:
        item = ArticleInput.model_validate(data)
    except ValueError as exc:
        errors = [{"field": ".".join(str(x) for x in e["loc"]) or "body", "message": e["msg"]}
                  for e in exc.errors()]  # type: ignore[attr-defined]  # fmt: skip
        return error(422, "invalid-input", "invalid fields", errors=errors)
    view = await request.app[KNOWLEDGE].create(item, actor=actor_of(request))
    return _json(view.as_dict(), 201)


@kb_errors
async def get_article(request: web.Request) -> web.Response:
    require(request, *READERS)
    kb = request.app[KNOWLEDGE]
    slug = request.match_info["slug"]
    view = await kb.get(slug)
    live = await kb.published(slug)
    return _json({**view.as_dict(), "published": live.as_dict() if live else None})


@kb_errors
async def edit_article(request: web.Request) -> web.Response:
    require(request, *WRITERS)
    data = await _body(request)
    note = str(data.pop("note", ""))[:2000]
    view = await request.app[KNOWLEDGE].edit(request.match_info["slug"], data, actor=actor_of(request), note=note)
    return _json(view.as_dict())


@kb_errors
async def act(request: web.Request) -> web.Response:
    require(request, *WRITERS)
    try:
        b = ActionBody.model_validate(await _body(request))
    except ValueError as exc:
        return error(422, "invalid-input", f"action: {exc}", errors=[{"field": "action", "message": "unknown"}])
    view = await request.app[KNOWLEDGE].act(request.match_info["slug"], b.action, actor=actor_of(request),
                                            note=b.note)  # fmt: skip
    return _json(view.as_dict())


@kb_errors
async def history(request: web.Request) -> web.Response:
    require(request, *READERS)
    kb = request.app[KNOWLEDGE]
    slug = request.match_info["slug"]
    return _json({"versions": [v.as_dict() for v in await kb.history(slug)], "audit": await kb.audit(slug)})


@kb_errors
async def flagged(request: web.Request) -> web.Response:
    p = require(request, *WRITERS)
    items = [{**v.as_dict(), "reason": why} for v, why in await request.app[KNOWLEDGE].flagged()
             if p.role != "department" or v.department == p.department]  # fmt: skip
    return _json({"items": items})


def setup(app: web.Application, *, knowledge: KnowledgeService) -> None:
    app[KNOWLEDGE] = knowledge
    r = app.router
    r.add_get("/api/kb/search", search)
    r.add_get("/api/kb/articles", list_articles)
    r.add_post("/api/kb/articles", create_article)
    r.add_get("/api/kb/flagged", flagged)
    r.add_get("/api/kb/articles/{slug}", get_article)
    r.add_patch("/api/kb/articles/{slug}", edit_article)
    r.add_post("/api/kb/articles/{slug}/actions", act)
    r.add_get("/api/kb/articles/{slug}/history", history)
