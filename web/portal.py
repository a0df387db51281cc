"""The department portal (承办单位) and the supervisors' view (督办 and 考核).

Departments see only tickets they lead or co-handle, with sign/reply due dates coloured by
urgency, and act on them: sign, return with a reason (the state machine refuses it outside the
policy window), start handling, request an extension, reply with attachments. Supervisors see
overdue and supervised tickets across departments and the departments ranked by on-time rate
and satisfaction, drawn as server-rendered SVG (no script, no CDN).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from urllib.parse import quote
from xml.sax.saxutils import escape

from aiohttp import web
from markupsafe import Markup

from tickets.attachments import MAX_BYTES, AttachmentStore, Upload
from tickets.exceptions import InvalidInput, TicketError
from tickets.reports import DepartmentRow, build_report, month_bounds
from tickets.repository import TicketFilter
from tickets.state import (
    OPEN_STATUSES,
    ApproveExtension,
    RejectExtension,
    Reply,
    RequestExtension,
    Return,
    Sign,
    StartHandling,
    Status,
)
from tickets.views import TicketView
from web.auth import error
from web.pages import render, require_page

ATTACHMENTS = web.AppKey("attachments", AttachmentStore)
DEPARTMENT = ("department",)
SUPERVISORS = ("supervisor", "admin")
MAX_FILES = 5
MAX_UPLOAD = MAX_FILES * MAX_BYTES + 64 * 1024  # the whole multipart body of one reply
_UPLOAD = re.compile(r"^/portal/tickets/\d{1,10}/reply$")
STATUS_NAMES = {
    "accepted": "已受理", "abandoned": "未完成", "not_accepted": "不予受理", "dispatched": "待签收",
    "signed": "已签收", "returned": "已退回", "handling": "办理中", "extension_requested": "延期申请中",
    "replied": "已答复", "visiting": "回访中", "closed": "已办结", "archived": "已归档",
}  # fmt: skip
SIGN_PHASE = {Status.DISPATCHED}
HANDLE_PHASE = {Status.SIGNED, Status.HANDLING, Status.EXTENSION_REQUESTED}


def is_upload(request: web.Request) -> bool:
    return request.method == "POST" and _UPLOAD.match(request.path) is not None


def _tickets(request: web.Request):  # noqa: ANN202 - the TicketService on the app
    from web.app import TICKETS

    return request.app[TICKETS]


def due_of(view: TicketView) -> tuple[str, datetime | None]:
    """Which deadline runs now: 签收 while dispatched (when the policy sets one), else 办结."""
    status = Status(view.status)
    if status in SIGN_PHASE and view.sign_due is not None and (view.handle_due is None or view.sign_due < view.handle_due):
        return "签收", view.sign_due
    if status in SIGN_PHASE or status in HANDLE_PHASE:
        return "办结", view.handle_due
    return "", None


def urgency(view: TicketView, now: datetime) -> str:
    _label, due = due_of(view)
    if due is None:
        return "normal"
    if due < now:
        return "overdue"
    if due.date() == now.date():
        return "due-today"
    return "normal"


def _row(view: TicketView, now: datetime) -> dict[str, object]:
    label, due = due_of(view)
    return {"v": view, "status": STATUS_NAMES.get(view.status, view.status), "due_label": label,
            "due": due.strftime("%m-%d %H:%M") if due else "", "urgency": urgency(view, now),
            "supervised": view.supervision_count > 0}  # fmt: skip


def _visible(department: str | None, view: TicketView) -> bool:
    return department is not None and (view.lead_department == department or department in view.co_departments)


async def _load(request: web.Request) -> TicketView:
    p = require_page(request, *DEPARTMENT, *SUPERVISORS)
    raw = request.match_info["ticket_id"]
    try:
        view = await _tickets(request).get(int(raw)) if raw.isdigit() else None
    except TicketError:
        view = None
    if view is None or (p.role == "department" and not _visible(p.department, view)):
        raise web.HTTPNotFound(text="没有这个工单", content_type="text/plain")
    return view


# ---------------------------------------------------------------- department pages


async def portal(request: web.Request) -> web.Response:
    p = require_page(request, *DEPARTMENT)
    svc = _tickets(request)
    now = svc.now()
    views = await svc.search(TicketFilter(department=p.department, status=tuple(s.value for s in OPEN_STATUSES),
                                          limit=500))  # fmt: skip
    order = {"overdue": 0, "due-today": 1, "normal": 2}
    rows = sorted((_row(v, now) for v in views), key=lambda r: (order[str(r["urgency"])], not r["supervised"], r["due"]))
    return render(request, "portal.html", rows=rows, now=now.strftime("%Y-%m-%d %H:%M"),
                  counts={k: sum(r["urgency"] == k for r in rows) for k in order},
                  supervised=sum(bool(r["supervised"]) for r in rows))  # fmt: skip


def _attachments(request: web.Request, view: TicketView) -> list[dict[str, str]]:
    store = request.app[ATTACHMENTS]
    out = []
    for stored in view.recordings:
        path = store.resolve(stored)
        if path is not None:
            out.append({"name": path.name, "href": f"/portal/tickets/{view.id}/attachments/{quote(path.name)}"})
    return out


async def ticket_page(request: web.Request, *, message: str = "", status: int = 200) -> web.Response:
    view = await _load(request)
    p = require_page(request, *DEPARTMENT, *SUPERVISORS)
    svc = _tickets(request)
    now = svc.now()
    s = Status(view.status)
    lead = p.role == "department" and view.lead_department == p.department
    actions = {
        "sign": lead and s == Status.DISPATCHED,
        "return": lead and s in (Status.DISPATCHED, Status.SIGNED),
        "start": lead and s == Status.SIGNED,
        "extend": lead and s in (Status.SIGNED, Status.HANDLING),
        "reply": lead and s in (Status.SIGNED, Status.HANDLING),
        "approve": p.role in SUPERVISORS and s == Status.EXTENSION_REQUESTED,
    }
    window_open = view.return_due is None or now <= view.return_due
    return render(request, "portal_ticket.html", status=status, row=_row(view, now), v=view, actions=actions,
                  return_due=view.return_due.strftime("%Y-%m-%d %H:%M") if view.return_due else "",
                  return_open=window_open, message=message, files=_attachments(request, view),
                  history=[(e.at.strftime("%m-%d %H:%M"), e.actor, e.action, STATUS_NAMES.get(e.to_status, e.to_status),
                            e.note) for e in view.history],
                  co_handling=p.role == "department" and not lead)  # fmt: skip


async def ticket(request: web.Request) -> web.Response:
    done = request.query.get("done", "")
    return await ticket_page(request, message={"sign": "已签收", "return": "已退回", "start": "已开始办理",
                                               "extend": "延期申请已提交，等待审批", "reply": "已答复",
                                               "approve": "已同意延期", "reject": "已驳回延期"}.get(done, ""))


async def act(request: web.Request) -> web.Response:
    """Form posts: sign, return (reason), start, extend (days, reason). Errors re-render the page."""
    view = await _load(request)
    what = request.match_info["action"]
    p = require_page(request, *(SUPERVISORS if what in ("approve", "reject") else DEPARTMENT))
    form = await request.post()
    reason = str(form.get("reason", "")).strip()
    try:
        if what == "approve":
            action: object = ApproveExtension()
        elif what == "reject":
            action = RejectExtension(reason=reason or "延期理由不充分")
        elif what == "sign":
            action = Sign(actor_department=p.department)
        elif what == "return":
            if not reason:
                raise InvalidInput("请填写退回理由", field="reason")
            action = Return(reason=reason, actor_department=p.department)
        elif what == "start":
            action = StartHandling(actor_department=p.department)
        elif what == "extend":
            days = str(form.get("working_days", ""))
            if not days.isdigit() or not reason:
                raise InvalidInput("请填写延期工作日数和理由", field="working_days")
            action = RequestExtension(working_days=int(days), reason=reason, actor_department=p.department)
        else:
            raise web.HTTPNotFound()
        await _tickets(request).act(view.id, action, actor=p.actor)  # type: ignore[arg-type]
    except TicketError as exc:
        return await ticket_page(request, message="未能办理：" + exc.message, status=409 if exc.error_id != "invalid-input" else 422)
    raise web.HTTPSeeOther(f"/portal/tickets/{view.id}?done={what}")


async def reply(request: web.Request) -> web.Response:
    """Multipart (fetch with X-CSRF-Token): text + up to MAX_FILES files, each checked before anything
    is stored; the files are written, then the reply is recorded, then the files are attached."""
    view = await _load(request)
    p = require_page(request, *DEPARTMENT)
    store = request.app[ATTACHMENTS]
    text, uploads = "", []
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if part.name == "text":
            text = (await part.text())[:4000].strip()
        elif part.name == "files" and part.filename:
            if len(uploads) >= MAX_FILES:
                return error(422, "invalid-input", f"at most {MAX_FILES} files", errors=[{"field": "files", "message": "too many"}])
            data = bytearray()
            while chunk := await part.read_chunk(64 * 1024):
                data += chunk
                if len(data) > store.max_bytes:
                    return error(422, "invalid-input", f"{part.filename}: larger than {store.max_bytes // (1024 * 1024)} MB",
                                 errors=[{"field": f"attachments[{part.filename}]", "message": "too large"}])  # fmt: skip
            uploads.append(Upload(part.filename, bytes(data)))
    if not text:
        return error(422, "invalid-input", "答复内容不能为空", errors=[{"field": "text", "message": "empty"}])
    try:
        store.check_all(uploads)
    except InvalidInput as exc:
        return error(422, exc.error_id, exc.message, errors=[{"field": exc.field, "message": exc.message}])
    saved: list[Path] = [await store.save(view.number, u) for u in uploads]
    svc = _tickets(request)
    try:
        await svc.act(view.id, Reply(text=text, actor_department=p.department), actor=p.actor)
    except TicketError as exc:
        for path in saved:
            path.unlink(missing_ok=True)
        return error(409, exc.error_id, exc.message)
    for path in saved:
        await svc.attach_recording(view.id, path=str(path), kind="attachment", actor=p.actor)
    return web.json_response({"ok": True, "attachments": [p.name for p in saved],
                              "location": f"/portal/tickets/{view.id}?done=reply"},
                             dumps=lambda o: json.dumps(o, ensure_ascii=False))  # fmt: skip


async def attachment(request: web.Request) -> web.StreamResponse:
    view = await _load(request)
    name = request.match_info["name"]
    for f in view.recordings:
        path = request.app[ATTACHMENTS].resolve(f)
        if path is not None and path.name == name:
            resp = web.FileResponse(path)
            resp.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(path.name)}"
            resp.headers["X-Content-Type-Options"] = "nosniff"
            return resp
    raise web.HTTPNotFound(text="没有这个附件", content_type="text/plain")


# ---------------------------------------------------------------- supervisors


def bar_chart(rows: list[DepartmentRow], *, title: str, attr: str, colour: str) -> Markup:
    """Horizontal bars, one per department, value 0..1 labelled in percent (server-rendered SVG)."""
    bar_h, gap, left, width = 22, 8, 150, 300
    height = 30 + len(rows) * (bar_h + gap)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="{escape(title)}" '
             f'width="{left + width + 70}" height="{height}" viewBox="0 0 {left + width + 70} {height}">',
             f'<text x="0" y="16" class="chart-title">{escape(title)}</text>']  # fmt: skip
    for i, r in enumerate(rows):
        y = 28 + i * (bar_h + gap)
        value = getattr(r, attr)
        w = 0 if value is None else round(width * value)
        label = "—" if value is None else f"{value * 100:.1f}%"
        parts.append(f'<text x="{left - 8}" y="{y + 16}" text-anchor="end">{escape(r.department)}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{width}" height="{bar_h}" fill="#eef1f5"/>')
        parts.append(f'<rect x="{left}" y="{y}" width="{w}" height="{bar_h}" fill="{colour}" data-dept="{escape(r.department)}" data-value="{label}"/>')
        parts.append(f'<text x="{left + width + 6}" y="{y + 16}">{label}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above is escaped


async def supervision(request: web.Request) -> web.Response:
    require_page(request, *SUPERVISORS)
    svc = _tickets(request)
    now = svc.now()
    open_views = await svc.search(TicketFilter(status=tuple(s.value for s in OPEN_STATUSES), limit=500))
    overdue = [_row(v, now) for v in open_views if urgency(v, now) == "overdue"]
    supervised = [_row(v, now) for v in open_views if v.supervision_count > 0]
    month = request.query.get("month") or now.strftime("%Y-%m")
    try:
        start, end = month_bounds(month)
    except ValueError:
        month = now.strftime("%Y-%m")
        start, end = month_bounds(month)
    rep = await build_report(svc.sessionmaker, start, end, terms=False)
    return render(request, "portal_supervision.html", overdue=overdue, supervised=supervised, ranking=rep.ranking,
                  month=month, now=now.strftime("%Y-%m-%d %H:%M"),
                  on_time_chart=bar_chart(rep.ranking, title="按时办结率", attr="on_time_rate", colour="#1d4e89"),
                  satisfaction_chart=bar_chart(rep.ranking, title="满意率", attr="satisfaction_rate", colour="#2f855a"))  # fmt: skip


def setup(app: web.Application, *, attachments: AttachmentStore) -> None:
    app[ATTACHMENTS] = attachments
    r = app.router
    r.add_get("/portal", portal)
    r.add_get("/portal/supervision", supervision)
    r.add_get("/portal/tickets/{ticket_id}", ticket)
    r.add_post("/portal/tickets/{ticket_id}/reply", reply)
    r.add_get("/portal/tickets/{ticket_id}/attachments/{name}", attachment)
    r.add_post("/portal/tickets/{ticket_id}/{action:sign|return|start|extend|approve|reject}", act)
