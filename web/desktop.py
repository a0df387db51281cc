"""The agent desktop (坐席工作台): the page, its live stream, agent state and the call's ticket.

Routes (agents with a seat; the hub in web/desktop_hub.py does the live work):
  GET  /desktop                      the page
  GET  /desktop/events               SSE: state, pop, ticket messages for this seat
  POST /desktop/state                {"action": login|logout|ready|pause, "reason": 休息|培训|会议}
  GET  /desktop/knowledge?q=         published knowledge-base articles matching q (the same
                                      search as /kb and the public page)
  POST /desktop/tickets/{id}/{act}   save | direct | dispatch | handoff | callback, with the form's fields
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from infra.logs import log_event
from tickets.exceptions import TicketError
from tickets.similarity import similarity
from tickets.state import CloseDirect, Dispatch
from web.desktop_hub import PAUSE_REASONS, DeskError, DesktopHub, _ticket
from web.knowledge import KNOWLEDGE
from web.pages import render, require_page
from web.session import signed_in

DESKTOP = web.AppKey("desktop", DesktopHub)
SIP_JS = Path(__file__).resolve().parent / "js" / "node_modules" / "sip.js" / "lib"
log = logging.getLogger("web.desktop")
HEARTBEAT_S = 15.0
SHORTCUTS = [
    ("F2", "就绪"), ("F3", "示忙·休息"), ("F4", "签入/签出"), ("Alt+1", "直办"), ("Alt+2", "派单"),
    ("Alt+3", "分中心转办"), ("Alt+4", "申请回拨"), ("Alt+S", "保存"), ("Alt+K", "知识搜索"),
    ("Alt+A", "接听"), ("Alt+H", "挂断"),
]  # fmt: skip


class TicketForm(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    version: int
    type: Literal["咨询", "求助", "投诉", "举报", "建议"] = "咨询"
    title: str = Field("", max_length=200)
    text: str = Field("", max_length=5000)
    address: str = Field("", max_length=200)
    category: str = Field("", max_length=64)
    department: str = Field("", max_length=64)
    co_departments: list[str] = Field(default_factory=list, max_length=20)
    answer: str = Field("", max_length=5000)
    note: str = Field("", max_length=2000)


def _seat(request: web.Request) -> str:
    s = signed_in(request)
    seat = s.account.seat if s else None
    if not seat:
        raise _json_error(409, "no-seat", "账号未绑定坐席（hotline users add --seat agentNN）")
    return seat


def _json_error(status: int, error_id: str, message: str, **extra: Any) -> web.HTTPException:
    cls = {400: web.HTTPBadRequest, 403: web.HTTPForbidden, 404: web.HTTPNotFound, 409: web.HTTPConflict,
           422: web.HTTPUnprocessableEntity, 503: web.HTTPServiceUnavailable}[status]  # fmt: skip
    return cls(text=json.dumps({"error": error_id, "message": message, **extra}, ensure_ascii=False),
               content_type="application/json")  # fmt: skip


def _dumps(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False)


async def desktop_page(request: web.Request) -> web.Response:
    require_page(request, "agent")
    s = signed_in(request)
    hub = request.app[DESKTOP]
    ref = hub.reference()
    return render(request, "desktop.html", seat=s.account.seat if s else None, reasons=PAUSE_REASONS,
                  departments=ref.departments, shortcuts=SHORTCUTS, acw_max_s=int(hub.acw_max_s),
                  softphone=bool(s and s.account.seat and hub.softphone(s.account.seat)))  # fmt: skip


async def events(request: web.Request) -> web.StreamResponse:
    require_page(request, "agent")
    seat = _seat(request)
    hub = request.app[DESKTOP]
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                       "X-Accel-Buffering": "no"})  # fmt: skip
    await resp.prepare(request)
    q = hub.subscribe(seat)
    try:
        await resp.write(b"retry: 2000\n\n")
        while True:
            try:
                kind, data = await asyncio.wait_for(q.get(), HEARTBEAT_S)
            except TimeoutError:
                await resp.write(b": keep-alive\n\n")
                continue
            if kind == "close":
                break
            await resp.write(f"event: {kind}\ndata: {_dumps(data)}\n\n".encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        hub.unsubscribe(seat, q)
    return resp


async def softphone(request: web.Request) -> web.Response:
    """The seat's WebRTC account (its own password only; the page needs it to register)."""
    require_page(request, "agent")
    seat = _seat(request)
    cfg = request.app[DESKTOP].softphone(seat)
    if not cfg:
        raise _json_error(404, "no-softphone", f"坐席 {seat} 没有网页软电话账号")
    resp = web.json_response(cfg, dumps=_dumps)
    resp.headers["Cache-Control"] = "no-store"
    return resp


async def set_state(request: web.Request) -> web.Response:
    require_page(request, "agent")
    seat = _seat(request)
    try:
        body = await request.json()
    except ValueError:
        raise _json_error(400, "invalid-json", "body: not JSON") from None
    hub = request.app[DESKTOP]
    try:
        await hub.set_state(seat, str(body.get("action", "")), str(body.get("reason", "")))
    except DeskError as exc:
        raise _json_error(exc.status, "desk", exc.message) from None
    except Exception as exc:  # the PBX refused or is unreachable: say so, nothing changed here
        log_event(log, "agent state change failed", logging.WARNING, seat=seat, error=repr(exc))
        raise _json_error(503, "pbx", f"排队系统未执行：{exc}") from None
    return web.json_response({"ok": True, "state": hub.state(seat)}, dumps=_dumps)


async def knowledge(request: web.Request) -> web.Response:
    require_page(request, "agent", "supervisor", "admin")
    q = request.query.get("q", "").strip()
    kb = request.app.get(KNOWLEDGE)
    if kb is not None and q:
        # One source of answers: the published articles the IVR and the public page read.
        items = []
        for hit in await kb.search(q, limit=5):
            view = await kb.published(hit.id)
            if view is not None:
                items.append({"id": hit.id, "title": view.title, "text": view.body, "department": view.department,
                              "version": view.version})
        if items:
            return web.json_response({"items": items, "source": "knowledge-base"}, dumps=_dumps)
    # Nothing published matches (an empty base, say): the dialplan's self-service answers.
    items = request.app[DESKTOP].reference().knowledge
    if q:
        scored = [(max(similarity(q, k["title"]), similarity(q, k["text"]) * 0.8,
                       1.0 if q in k["title"] or q in k["text"] else 0.0), k) for k in items]  # fmt: skip
        items = [k for score, k in sorted(scored, key=lambda x: -x[0]) if score > 0.05]
    return web.json_response({"items": items[:10], "source": "dialplan-selfservice"}, dumps=_dumps)


async def ticket_action(request: web.Request) -> web.Response:
    p = require_page(request, "agent")
    seat = _seat(request)
    hub = request.app[DESKTOP]
    act = request.match_info["act"]
    if act not in ("save", "direct", "dispatch", "handoff", "callback"):
        raise _json_error(404, "no-such-action", f"action {act!r}")
    raw = request.match_info["ticket_id"]
    if not raw.isdigit():
        raise _json_error(404, "no-such-ticket", f"ticket {raw!r}")
    ticket_id = int(raw)
    try:
        form = TicketForm.model_validate(await request.json())
    except (ValueError, ValidationError) as exc:
        errors = exc.errors() if isinstance(exc, ValidationError) else [{"loc": ["body"], "msg": "not JSON"}]
        raise _json_error(422, "invalid-input", "invalid fields",
                          errors=[{"field": ".".join(str(x) for x in e["loc"]), "message": e["msg"]}
                                  for e in errors]) from None  # fmt: skip
    svc = hub.tickets
    try:
        view = await svc.get(ticket_id)
        if view.version != form.version:
            # Another tab (or a colleague) acted first: never act twice on stale data.
            raise _json_error(409, "stale", "工单已在其他窗口更新，请核对后再提交", ticket=_ticket(view))
        text = form.text
        if form.address and "地址：" not in text:
            text = f"{text}\n地址：{form.address}".strip()
        changes = {k: v for k, v in {"ticket_type": form.type, "title": form.title, "text": text,
                                     "category": form.category}.items()
                   if v and v != getattr(view, k)}  # fmt: skip
        if changes:
            view = await svc.update(ticket_id, changes=changes, actor=p.actor)
        if act == "direct":
            if not form.answer:
                raise _json_error(422, "invalid-input", "直办须填写答复内容", errors=[{"field": "answer", "message": "empty"}])
            view = await svc.act(ticket_id, CloseDirect(answer=form.answer), actor=p.actor)
        elif act == "dispatch":
            if not form.department:
                raise _json_error(422, "invalid-input", "派单须选择承办单位",
                                  errors=[{"field": "department", "message": "empty"}])  # fmt: skip
            co = tuple(d for d in form.co_departments if d and d != form.department)
            view = await svc.act(ticket_id, Dispatch(department=form.department, co_departments=co), actor=p.actor)
        elif act == "handoff":
            line = hub.reference().lines.get(view.line_number, {})
            if line.get("mode") != "subcenter":
                raise _json_error(409, "not-subcenter", f"线路 {view.line_number or '未知'} 不是分中心线路")
            await svc.comment(ticket_id, note=f"转分中心：{line.get('name', '')}（{line.get('department', '')}）",
                              actor=p.actor)  # fmt: skip
            view = await svc.act(ticket_id, Dispatch(department=line["department"]), actor=p.actor)
        elif act == "callback":
            queued = hub.request_callback(ticket_id=ticket_id, number=view.caller,
                                          queue=(hub.pops.get(seat) or {}).get("queue", ""))  # fmt: skip
            view = await svc.comment(ticket_id, note="申请回拨" + (f"：{form.note}" if form.note else "") +
                                     ("（已排入回拨队列）" if queued else "（回拨队列未接受）"), actor=p.actor)  # fmt: skip
        view = await svc.get(ticket_id)
    except TicketError as exc:
        status = {"no-such-ticket": 404, "illegal-transition": 409, "guard-failed": 409, "invalid-input": 422,
                  "forbidden": 403}.get(exc.error_id, 400)  # fmt: skip
        raise _json_error(status, exc.error_id, exc.message) from None
    data = _ticket(view)
    hub.publish(seat, "ticket", data)
    log_event(log, "desk ticket action", seat=seat, ticket=view.number, action=act, status=view.status)
    return web.json_response({"ok": True, "ticket": data}, dumps=_dumps)


def setup(app: web.Application, *, hub: DesktopHub | None, tickets: Any) -> None:
    """Register the desktop's routes. Without a hub (no queue manager, e.g. the API alone) the
    page still works for tickets and says the queue system is not connected."""
    app[DESKTOP] = hub or DesktopHub(queue=None, tickets=tickets)

    async def end_streams(app: web.Application) -> None:
        app[DESKTOP].end_streams()  # open SSE streams would hold the server's shutdown

    app.on_shutdown.append(end_streams)
    r = app.router
    r.add_get("/desktop", desktop_page)
    r.add_get("/desktop/events", events)
    r.add_post("/desktop/state", set_state)
    r.add_get("/desktop/knowledge", knowledge)
    r.add_get("/desktop/softphone", softphone)
    if SIP_JS.is_dir():  # npm ci in web/js (make setup); the softphone stays off without it
        r.add_static("/static/vendor/sip.js", SIP_JS)
    r.add_post(r"/desktop/tickets/{ticket_id}/{act}", ticket_action)

