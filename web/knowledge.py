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
from knowledge.state import Action, Actor, Status, available, may_edit
from web.auth import error, principal, require
from web.pages import render, require_page

KNOWLEDGE = web.AppKey("knowledge", KnowledgeService)
READERS = ("agent", "department", "supervisor", "admin")
WRITERS = ("department", "supervisor", "admin")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _status(error_id: str) -> int:
    from web.app import STATUS_FOR  # the one id -> status map

    return STATUS_FOR.get(error_id, 400)


def kb_errors(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except KnowledgeError as exc:
            extra: dict[str, Any] = {"errors": [{"field": exc.field, "message": exc.message}]} if exc.field else {}
            return error(_status(exc.error_id), exc.error_id, exc.message, **extra)

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
    setup_pages(app)


# ---------------------------------------------------------------- pages (知识库 for staff)

STATUS_NAMES = {"draft": "草稿", "department_review": "部门审核中", "hotline_review": "热线审核中",
                "published": "已发布", "expired": "已失效"}  # fmt: skip
ACTION_NAMES = {"submit": "提交部门审核", "department_approve": "部门审核通过", "hotline_approve": "热线审核通过并发布",
                "send_back": "退回修改", "expire": "设为失效"}  # fmt: skip
FORM_FIELDS = ("title", "body", "spoken", "category", "keywords", "valid_from", "valid_to", "review_due",
               "legal_basis", "source")  # fmt: skip


def _available(view, actor: Actor) -> list[tuple[str, str]]:  # noqa: ANN001
    actions = available(Status(view.status), actor=actor, department=view.department, author=view.author)
    return [(a.value, ACTION_NAMES[a.value]) for a in actions]


async def kb_page(request: web.Request) -> web.Response:
    p = require_page(request, *READERS)
    kb = request.app[KNOWLEDGE]
    q = request.query.get("q", "").strip()
    hits = await kb.search(q, limit=10) if q else []
    articles = [] if p.role == "agent" else await kb.list(department=p.department if p.role == "department" else None)
    flagged = [] if p.role == "agent" else [(v, why) for v, why in await kb.flagged()
                                             if p.role != "department" or v.department == p.department]  # fmt: skip
    return render(request, "kb.html", q=q, hits=hits, articles=articles, flagged=flagged, names=STATUS_NAMES,
                  writer=p.role in WRITERS)  # fmt: skip


async def kb_article_page(request: web.Request, *, message: str = "", status: int = 200) -> web.Response:
    require_page(request, *READERS)
    kb = request.app[KNOWLEDGE]
    slug = request.match_info["slug"]
    try:
        view = await kb.get(slug)
    except KnowledgeError as exc:
        raise web.HTTPNotFound(text="没有这个知识条目", content_type="text/plain") from exc
    actor = actor_of(request)
    return render(request, "kb_article.html", status=status, v=view, live=await kb.published(slug),
                  names=STATUS_NAMES, message=message or {"edit": "已保存为新版本（草稿）", "action": "已办理"}.get(
                      request.query.get("done", ""), ""),
                  can_edit=may_edit(actor, view.department) and view.status in ("draft", "published", "expired"),
                  actions=_available(view, actor), history=await kb.history(slug), audit=await kb.audit(slug),
                  keywords="、".join(view.keywords))  # fmt: skip


async def kb_edit_form(request: web.Request) -> web.Response:
    require_page(request, *WRITERS)
    form = await request.post()
    changes: dict[str, Any] = {}
    for name in FORM_FIELDS:
        if name in form:
            value = str(form[name]).strip()
            if name == "keywords":
                changes[name] = [k for k in value.replace("，", "、").replace(",", "、").split("、") if k.strip()]
            elif name in ("valid_from", "valid_to", "review_due"):
                changes[name] = value or None
            else:
                changes[name] = value
    slug = request.match_info["slug"]
    try:
        await request.app[KNOWLEDGE].edit(slug, changes, actor=actor_of(request), note=str(form.get("note", ""))[:500])
    except KnowledgeError as exc:
        return await kb_article_page(request, message="未能保存：" + exc.message,
                                     status=_status(exc.error_id))  # fmt: skip
    raise web.HTTPSeeOther(f"/kb/{slug}?done=edit")


async def kb_action_form(request: web.Request) -> web.Response:
    require_page(request, *WRITERS)
    form = await request.post()
    slug = request.match_info["slug"]
    try:
        action = Action(str(form.get("action", "")))
        await request.app[KNOWLEDGE].act(slug, action, actor=actor_of(request), note=str(form.get("note", ""))[:500])
    except ValueError:
        return await kb_article_page(request, message="未知操作", status=422)
    except KnowledgeError as exc:
        return await kb_article_page(request, message="未能办理：" + exc.message,
                                     status=_status(exc.error_id))  # fmt: skip
    raise web.HTTPSeeOther(f"/kb/{slug}?done=action")


def setup_pages(app: web.Application) -> None:
    r = app.router
    r.add_get("/kb", kb_page)
    r.add_get("/kb/{slug}", kb_article_page)
    r.add_post("/kb/{slug}/edit", kb_edit_form)
    r.add_post("/kb/{slug}/action", kb_action_form)
