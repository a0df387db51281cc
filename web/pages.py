"""HTML pages: one Jinja2 environment (autoescaped) over web/templates, the page shell, role checks.

A page handler calls `require_page(request, *roles)` (403 page for a signed-in user of another
role; the auth middleware already sent signed-out visitors to /login) and returns
`render(request, "x.html", **context)`. Every page extends base.html, which carries the CSRF
token in `<meta name="csrf-token">` and the sign-out form.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
from aiohttp import web

from tickets.tokens import Principal
from web.auth import principal
from web.session import csrf_token, signed_in

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
ROLE_NAMES = {"agent": "话务员", "department": "承办单位", "supervisor": "班长", "admin": "管理员"}
# Where `/` sends a signed-in user of each role; roles not listed get the home page of links.
ROLE_HOME: dict[str, str] = {"department": "/portal", "agent": "/desktop"}
# The home page's links: (path, label, roles allowed).
NAV: list[tuple[str, str, tuple[str, ...]]] = [
    ("/portal/supervision", "督办与考核（承办单位排名）", ("supervisor", "admin")),
    ("/kb", "知识库（检索、编写、审核）", ("agent", "supervisor", "admin")),
    ("/public/", "市民网上诉求页面", ("agent", "supervisor", "admin")),
    ("/wallboard", "监控大屏", ("supervisor", "admin")),
    ("/admin", "管理控制台", ("admin",)),
]

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
)


def render(request: web.Request, template: str, *, status: int = 200, **context: object) -> web.Response:
    s = signed_in(request)
    html = _env.get_template(template).render(
        user=s.account if s else None, role_name=ROLE_NAMES.get(s.account.role, "") if s else "",
        csrf_token=csrf_token(request), **context,
    )  # fmt: skip
    resp = web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Frame-Options"] = "DENY"
    return resp


def require_page(request: web.Request, *roles: str) -> Principal:
    """The signed-in principal when its role is one of `roles`, else a 403 page."""
    p = principal(request)
    if p.role not in roles:
        raise web.HTTPForbidden(
            text=_env.get_template("forbidden.html").render(
                user=signed_in(request).account if signed_in(request) else None,
                role_name=ROLE_NAMES.get(p.role, p.role), csrf_token=csrf_token(request),
                needed=[ROLE_NAMES.get(r, r) for r in roles],
            ),
            content_type="text/html",  # aiohttp's HTTPException takes no charset; text is UTF-8
        )  # fmt: skip
    return p


async def home(request: web.Request) -> web.StreamResponse:
    p = principal(request)
    if p.role in ROLE_HOME:
        raise web.HTTPFound(ROLE_HOME[p.role])
    links = [(path, label) for path, label, roles in NAV if p.role in roles]
    return render(request, "home.html", links=links)
