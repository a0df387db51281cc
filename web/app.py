"""aiohttp application factory: REST API for tickets. Handlers only; the domain lives in tickets/."""

from __future__ import annotations

import json
import logging
import re
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DBAPIError

from accounts.store import AccountStore
from infra.errors import DomainError
from infra.phone import canonical_number
from knowledge.services import KnowledgeService
from tickets.attachments import AttachmentStore
from tickets.deadlines import to_local
from tickets.exceptions import NoSuchTicket
from tickets.intake import CitizenIntake, LogSmsGateway
from tickets.reports import AnswerRate, build_report, month_bounds
from tickets.repository import TicketFilter
from tickets.services import TicketService
from tickets.state import (
    ApproveExtension,
    Archive,
    CloseDirect,
    CloseLawful,
    Dispatch,
    RejectExtension,
    Reply,
    RequestExtension,
    Return,
    Satisfaction,
    Sign,
    StartHandling,
    Status,
    VisitResult,
)
from tickets.tokens import Principal, TokenStore
from tickets.views import TicketView
from web import admin, health, login, portal, public, schemas, wallboard
from web import desktop as web_desktop
from web import knowledge as kb_web
from web.auth import PRINCIPAL, UNMASKED_ROLES, TokenResolver, auth_middleware, error, principal, require
from web.desktop_hub import DesktopHub
from web.metrics import METRICS, MetricsSource, metrics
from web.openapi import build_openapi

log = logging.getLogger("web.app")

TICKETS = web.AppKey("tickets", TicketService)
MAX_BODY = 256 * 1024
MAX_JSON_DEPTH = 32
MAX_QUERY_VALUE = 200
# ticket ids are ASCII digits only ('²', '①', '١' are not ids) and fit the INTEGER column on
# every database (PostgreSQL's is 32-bit)
_TICKET_ID = re.compile(r"[0-9]{1,10}")
MAX_TICKET_ID = 2**31 - 1
# C0 controls other than tab/newline/CR (NUL above all: PostgreSQL text cannot hold it)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
ANSWER_RATE = web.AppKey("answer_rate", object)
B = TypeVar("B", bound=BaseModel)

# Stable domain error ids (infra.errors.DomainError.error_id) -> HTTP status, for every
# package's errors; tests/web/test_error_map.py fails when an error id is missing here.
# The domain never imports HTTP.
STATUS_FOR = {
    # tickets
    "ticket-error": 400,
    "no-such-ticket": 404,
    "illegal-transition": 409,
    "guard-failed": 409,
    "invalid-input": 422,
    "forbidden": 403,
    "calendar-not-covered": 503,
    "policy-invalid": 500,
    # agent_queue: the PBX side failing is a bad gateway / unavailable, not the client's fault
    "queue-error": 500,
    "no-such-agent": 404,
    "no-such-queue": 404,
    "illegal-agent-transition": 409,
    "profile-invalid": 422,
    "roster-infeasible": 422,
    "ami-not-connected": 503,
    "ami-login-failed": 503,
    "ami-overloaded": 503,
    "ami-timeout": 504,
    "ami-protocol": 502,
    "ami-event-invalid": 502,
    "ami-action-failed": 502,
    "dial-failed": 502,
    # accounts
    "invalid-account": 422,
    # hotline_merge
    "dialplan-error": 400,
    "dialplan-invalid": 422,
    "no-such-line": 404,
    "illegal-call-flow-event": 409,
    # asr
    "asr-error": 500,
    "audiosocket-bad-frame": 502,
    "asr-model-unavailable": 503,
    "asr-model-fetch-failed": 502,
    "asr-overloaded": 503,
    # ivr (AGI session outcomes and prompt rendering)
    "agi-error": 502,
    "agi-hangup": 502,
    "agi-dead-channel": 502,
    "agi-invalid-command": 502,
    "agi-usage": 502,
    "agi-protocol": 502,
    "agi-header-timeout": 502,
    "agi-command-failed": 502,
    "prompt-render-failed": 500,
    # knowledge
    "knowledge-error": 400,
    "no-such-article": 404,
    "article-transition-refused": 409,
    "article-forbidden": 403,
    "article-invalid": 422,
    # tickets' web intake (citizens' channel)
    "rate-limited": 429,
    "bad-code": 422,
    # config and the composition root
    "config-invalid": 500,
    "pbx-failed": 503,
    "engine-start-failed": 500,
}
STAFF = ("agent", "supervisor", "admin")
DEPARTMENT_SIDE = ("department", "supervisor", "admin")


@web.middleware
async def errors_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    # Reply attachments stream through their own size checks (web/portal.py); every other body is small.
    limit = portal.MAX_UPLOAD if portal.is_upload(request) else MAX_BODY
    if request.content_length is not None and request.content_length > limit:
        # answer at once: do not wait for (or read) a body we will refuse anyway
        return error(413, "body-too-large", f"body: {request.content_length} bytes, at most {limit}",
                     errors=[{"field": "Content-Length", "message": f"at most {limit} bytes"}])
    bad = _bad_query(request)
    if bad:
        return error(422, "invalid-input", "invalid query parameters", errors=bad)
    try:
        return await handler(request)
    except DomainError as exc:
        body: dict[str, Any] = {}
        if exc.field:
            body["errors"] = [{"field": exc.field, "message": exc.message}]
        return error(STATUS_FOR.get(exc.error_id, 500), exc.error_id, exc.message, **body)
    except DBAPIError as exc:
        # Input the checks above let through and the database refused. The engine hides SQL
        # parameters (infra.db), so this line names the statement's error, never the caller's data.
        log.warning("database refused a request", extra={"fields": {
            "path": request.path, "error": type(exc.orig).__name__ if exc.orig else type(exc).__name__}})
        if isinstance(exc.orig, Exception) and _is_data_error(exc):
            return error(422, "invalid-input", "the database refused a value",
                         errors=[{"field": "body", "message": "a value is out of range or not storable"}])
        raise


def _is_data_error(exc: DBAPIError) -> bool:
    from sqlalchemy.exc import DataError

    return isinstance(exc, DataError)


def _bad_query(request: web.Request) -> list[dict[str, str]]:
    errors = []
    for name, value in request.query.items():
        if _CONTROL.search(value) or _CONTROL.search(name):
            errors.append({"field": name, "message": "control characters are not allowed"})
        elif len(value) > MAX_QUERY_VALUE:
            errors.append({"field": name, "message": f"at most {MAX_QUERY_VALUE} characters"})
    return errors


def _invalid_json(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(
        text=json.dumps({"error": "invalid-json", "message": f"body: {message}",
                         "errors": [{"field": "body", "message": message}]}, ensure_ascii=False),
        content_type="application/json",
    )


def _depth(value: object, limit: int) -> bool:
    """True when value nests deeper than limit (iterative: a hostile body cannot blow the stack)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


async def body(request: web.Request, model: type[B]) -> B:
    """Parse and validate a JSON body; 400 for what is not JSON, 422 lists every bad field by name."""
    raw = await request.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _invalid_json(f"not UTF-8 (byte {exc.start})") from exc
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError as exc:
        raise _invalid_json(f"not JSON ({exc})") from exc
    except RecursionError as exc:
        raise _invalid_json(f"nested deeper than {MAX_JSON_DEPTH} levels") from exc
    if _depth(data, MAX_JSON_DEPTH):
        raise _invalid_json(f"nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]} for e in exc.errors()
        ]
        raise web.HTTPUnprocessableEntity(
            text=json.dumps(
                {"error": "invalid-input", "message": "invalid fields", "errors": errors}, ensure_ascii=False
            ),
            content_type="application/json",
        ) from exc


def render(request: web.Request, view: TicketView, status: int = 200) -> web.Response:
    mask = principal(request).role not in UNMASKED_ROLES
    return web.json_response(view.as_dict(mask=mask), status=status, dumps=_dumps)


def _dumps(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _not_found(raw: object) -> web.HTTPNotFound:
    """One shape for a missing ticket and another department's: the answer leaks no existence."""
    return web.HTTPNotFound(
        text=json.dumps({"error": "no-such-ticket", "message": f"ticket {raw}: no such ticket",
                         "errors": [{"field": "ticket_id", "message": f"ticket {raw}: no such ticket"}]},
                        ensure_ascii=False),
        content_type="application/json",
    )


def _ticket_id(request: web.Request) -> int:
    raw = request.match_info["ticket_id"]
    if not _TICKET_ID.fullmatch(raw) or int(raw) > MAX_TICKET_ID:
        raise _not_found(json.dumps(raw, ensure_ascii=False)[:40])
    return int(raw)


def _visible(p: Principal, view: TicketView) -> bool:
    return (
        p.role != "department" or p.department == view.lead_department or p.department in view.co_departments
    )


async def _load(request: web.Request) -> TicketView:
    """The ticket, or 404 when it does not exist or is not this department's (no existence leak)."""
    ticket_id = _ticket_id(request)
    try:
        view = await request.app[TICKETS].get(ticket_id)
    except NoSuchTicket as exc:
        raise _not_found(ticket_id) from exc
    if not _visible(principal(request), view):
        raise _not_found(ticket_id)
    return view


# ---------------------------------------------------------------- handlers


async def list_tickets(request: web.Request) -> web.Response:
    p = principal(request)
    q = request.query
    errors = []

    def when(name: str) -> datetime | None:
        if name not in q:
            return None
        try:
            return to_local(datetime.fromisoformat(q[name]))
        except (ValueError, OverflowError):
            errors.append({"field": name, "message": "expected an ISO 8601 date or time (years 0002..9998)"})
            return None

    def integer(name: str, default: int, lo: int, hi: int) -> int:
        raw = q.get(name)
        if raw is None:
            return default
        if re.fullmatch(r"[0-9]{1,9}", raw) and lo <= int(raw) <= hi:
            return int(raw)
        errors.append({"field": name, "message": f"expected an integer {lo}..{hi}"})
        return default

    caller = q.get("caller") or None
    if caller is not None:
        if p.role not in UNMASKED_ROLES:
            # numbers are masked for this role; filtering by one would reveal who called
            return error(403, "forbidden", f"role {p.role} may not filter by caller",
                         errors=[{"field": "caller", "message": "not allowed for this role"}])
        caller = canonical_number(caller)
        if caller is None:
            errors.append({"field": "caller", "message": "not a dialable phone number"})
    statuses = tuple(s for s in q.get("status", "").split(",") if s)
    bad = [s for s in statuses if s not in Status.__members__.values()]
    if bad:
        errors.append({"field": "status", "message": f"unknown status {bad}"})
    f = TicketFilter(
        status=statuses,
        department=p.department if p.role == "department" else q.get("department") or None,
        ticket_type=q.get("type") or None,
        category=q.get("category") or None,
        caller=caller,
        accepted_from=when("from"),
        accepted_to=when("to"),
        supervised={"true": True, "false": False}.get(q.get("supervised", "")),
        limit=integer("limit", 50, 1, 500),
        offset=integer("offset", 0, 0, 10_000_000),
    )
    if errors:
        return error(422, "invalid-input", "invalid query parameters", errors=errors)
    views = await request.app[TICKETS].search(f)
    mask = p.role not in UNMASKED_ROLES
    return web.json_response(
        {"items": [v.as_dict(mask=mask) for v in views], "count": len(views)}, dumps=_dumps
    )


async def create_ticket(request: web.Request) -> web.Response:
    p = require(request, *STAFF)
    b = await body(request, schemas.CreateTicket)
    view = await request.app[TICKETS].create(
        channel=b.channel, caller=b.caller, ticket_type=b.type, text=b.text, title=b.title, category=b.category,
        line_number=b.line_number, actor=p.actor,
    )  # fmt: skip
    return render(request, await request.app[TICKETS].get(view.id), 201)


async def get_ticket(request: web.Request) -> web.Response:
    return render(request, await _load(request))


async def update_ticket(request: web.Request) -> web.Response:
    p = require(request, *STAFF)
    b = await body(request, schemas.UpdateTicket)
    await _load(request)
    changes = {("ticket_type" if k == "type" else k): v for k, v in b.model_dump(exclude_none=True).items()}
    if not changes:
        return error(
            422, "invalid-input", "no field to change", errors=[{"field": "body", "message": "empty"}]
        )
    view = await request.app[TICKETS].update(_ticket_id(request), changes=changes, actor=p.actor)
    return render(request, view)


def _action_handler(
    roles: tuple[str, ...], model: type[B], make: Callable[[B, Principal], object]
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        p = require(request, *roles)
        b = await body(request, model)
        await _load(request)
        action = make(b, p)
        svc = request.app[TICKETS]
        await svc.act(_ticket_id(request), action, actor=p.actor)  # type: ignore[arg-type]
        return render(request, await svc.get(_ticket_id(request)))

    return handler


def _dept(p: Principal) -> str | None:
    # A department acts as itself (the state machine checks it is the lead); staff act above it.
    return p.department if p.role == "department" else None


async def close_ticket(request: web.Request) -> web.Response:
    p = principal(request)
    b = await body(request, schemas.CloseBody)
    if b.mode == "direct":
        require(request, "agent", "supervisor", "admin")
        action: object = CloseDirect(answer=b.text)
    else:
        require(request, "supervisor", "admin")
        action = CloseLawful(note=b.text)
    await _load(request)
    svc = request.app[TICKETS]
    await svc.act(_ticket_id(request), action, actor=p.actor)  # type: ignore[arg-type]
    return render(request, await svc.get(_ticket_id(request)))


async def comment(request: web.Request) -> web.Response:
    p = principal(request)
    b = await body(request, schemas.CommentBody)
    await _load(request)
    view = await request.app[TICKETS].comment(_ticket_id(request), note=b.note, actor=p.actor)
    return render(request, view)


async def report(request: web.Request) -> web.Response:
    require(request, "supervisor", "admin")
    month = request.query.get("month") or request.app[TICKETS].now().strftime("%Y-%m")
    try:
        start, end = month_bounds(month)
    except ValueError as exc:
        return error(
            422, "invalid-input", str(exc), errors=[{"field": "month", "message": "expected YYYY-MM"}]
        )
    rep = await build_report(
        request.app[TICKETS].sessionmaker, start, end, answer_rate=request.app[ANSWER_RATE], terms=False
    )
    return web.json_response(rep.as_dict(), dumps=_dumps)


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(build_openapi(), dumps=_dumps)


def _attachment_root(settings: object | None) -> Path:
    # Reply attachments live on disk beside the database, never in it.
    var = getattr(settings, "var_dir", None)
    return Path(var) / "attachments" if var else Path(tempfile.mkdtemp(prefix="hotline-attachments-"))


def create_app(
    *,
    tickets: TicketService,
    settings: object | None = None,
    tokens: TokenResolver | None = None,
    answer_rate: AnswerRate | None = None,
    metrics_source: MetricsSource | None = None,
    readiness: Mapping[str, health.Check] | None = None,
    wallboard_source: wallboard.WallboardSource | None = None,
    admin_port: admin.AdminPort | None = None,
    accounts: AccountStore | None = None,
    knowledge: KnowledgeService | None = None,
    intake: CitizenIntake | None = None,
    attachments: AttachmentStore | None = None,
    desktop: DesktopHub | None = None,
) -> web.Application:
    """`tokens` defaults to the database token store (`hotline tickets token`); `answer_rate` is the
    queue tracker's 接通率 source for reports (None: reported as null); `accounts` (people who
    sign in at /login) defaults to the database account store; `desktop` is the live agent
    desktop hub (web/desktop_hub.py) the engine builds with its queue manager."""
    app = web.Application(middlewares=[errors_middleware, auth_middleware], client_max_size=MAX_BODY)
    app[TICKETS] = tickets
    app[PRINCIPAL] = tokens or TokenStore(tickets.sessionmaker)
    app[ANSWER_RATE] = answer_rate
    r = app.router
    login.setup(app, accounts=accounts or AccountStore(tickets.sessionmaker))
    kb_web.setup(app, knowledge=knowledge or KnowledgeService(sessionmaker=tickets.sessionmaker))
    public.setup(app, intake=intake or CitizenIntake(tickets=tickets, sms=LogSmsGateway()))
    portal.setup(app, attachments=attachments or AttachmentStore(_attachment_root(settings)))
    web_desktop.setup(app, hub=desktop, tickets=tickets)
    r.add_get("/healthz", health.healthz)
    app[health.READINESS] = readiness or {}
    r.add_get("/readyz", health.readyz)
    if metrics_source is not None:
        app[METRICS] = metrics_source
        r.add_get("/metrics", metrics)
    if wallboard_source is not None:
        app[wallboard.WALLBOARD] = wallboard_source
        r.add_get("/wallboard", wallboard.wallboard_page)
        r.add_get("/api/wallboard", wallboard.wallboard_data)
    if admin_port is not None:
        app[admin.ADMIN] = admin_port
        r.add_get("/admin", admin.admin_page)
        r.add_get("/api/admin/dialplan", admin.dialplan_info)
        r.add_post("/api/admin/dialplan/check", admin.dialplan_check)
        r.add_post("/api/admin/dialplan/diff", admin.dialplan_diff)
        r.add_post("/api/admin/dialplan/reload", admin.dialplan_reload)
        r.add_get("/api/admin/users", admin.users)
    r.add_get("/api/openapi.json", openapi)
    r.add_get("/api/tickets", list_tickets)
    r.add_post("/api/tickets", create_ticket)
    r.add_get("/api/tickets/{ticket_id}", get_ticket)
    r.add_patch("/api/tickets/{ticket_id}", update_ticket)
    r.add_post(
        "/api/tickets/{ticket_id}/dispatch",
        _action_handler(
            STAFF,
            schemas.DispatchBody,
            lambda b, p: Dispatch(
                department=b.department, co_departments=tuple(b.co_departments), level=b.level
            ),
        ),
    )
    r.add_post(
        "/api/tickets/{ticket_id}/sign",
        _action_handler(DEPARTMENT_SIDE, schemas.EmptyBody, lambda b, p: Sign(actor_department=_dept(p))),
    )
    r.add_post(
        "/api/tickets/{ticket_id}/return",
        _action_handler(
            DEPARTMENT_SIDE,
            schemas.ReasonBody,
            lambda b, p: Return(reason=b.reason, actor_department=_dept(p)),
        ),
    )
    r.add_post(
        "/api/tickets/{ticket_id}/start",
        _action_handler(
            DEPARTMENT_SIDE, schemas.EmptyBody, lambda b, p: StartHandling(actor_department=_dept(p))
        ),
    )
    r.add_post(
        "/api/tickets/{ticket_id}/extend",
        _action_handler(
            DEPARTMENT_SIDE,
            schemas.ExtendBody,
            lambda b, p: RequestExtension(
                working_days=b.working_days, reason=b.reason, actor_department=_dept(p)
            ),
        ),
    )
    r.add_post(
        "/api/tickets/{ticket_id}/extension/approve",
        _action_handler(("supervisor", "admin"), schemas.EmptyBody, lambda b, p: ApproveExtension()),
    )
    r.add_post(
        "/api/tickets/{ticket_id}/extension/reject",
        _action_handler(
            ("supervisor", "admin"), schemas.OptionalReasonBody, lambda b, p: RejectExtension(reason=b.reason)
        ),
    )
    r.add_post(
        "/api/tickets/{ticket_id}/reply",
        _action_handler(
            DEPARTMENT_SIDE, schemas.ReplyBody, lambda b, p: Reply(text=b.text, actor_department=_dept(p))
        ),
    )
    r.add_post(
        "/api/tickets/{ticket_id}/visit",
        _action_handler(
            STAFF, schemas.VisitBody, lambda b, p: VisitResult(satisfaction=Satisfaction(b.result))
        ),
    )
    r.add_post(
        "/api/tickets/{ticket_id}/archive",
        _action_handler(("supervisor", "admin"), schemas.EmptyBody, lambda b, p: Archive()),
    )
    r.add_post("/api/tickets/{ticket_id}/close", close_ticket)
    r.add_post("/api/tickets/{ticket_id}/comments", comment)
    r.add_get("/api/reports", report)  # fmt: skip
    return app
