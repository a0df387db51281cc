"""OpenAPI 3.1 description of the tickets API, built from the request schemas so it cannot drift."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel, TypeAdapter

from tickets.reports import Report
from web import schemas

_ERR = {"$ref": "#/components/schemas/Error"}
_TICKET = {"$ref": "#/components/schemas/Ticket"}
_SUCCESS = {"/api/tickets get": {"$ref": "#/components/schemas/TicketList"},
            "/api/reports get": {"$ref": "#/components/schemas/Report"}}
_REF = "#/components/schemas/{model}"

# (method, path, summary, roles, body model or None, success status)
ROUTES: list[tuple[str, str, str, str, type[BaseModel] | None, int]] = [
    ("get", "/api/tickets", "List tickets (departments see only their own)", "all", None, 200),
    ("post", "/api/tickets", "Create a ticket", "agent, supervisor, admin", schemas.CreateTicket, 201),
    ("get", "/api/tickets/{ticket_id}", "A ticket with its full history", "all", None, 200),
    ("patch", "/api/tickets/{ticket_id}", "Edit type, category, title, text", "agent, supervisor, admin",
     schemas.UpdateTicket, 200),
    ("post", "/api/tickets/{ticket_id}/dispatch", "Dispatch to a lead (and co-handling) department",
     "agent, supervisor, admin", schemas.DispatchBody, 200),
    ("post", "/api/tickets/{ticket_id}/sign", "Sign (签收)", "department, supervisor, admin", schemas.EmptyBody, 200),
    ("post", "/api/tickets/{ticket_id}/return", "Return as not this department's duty (退单), within the window",
     "department, supervisor, admin", schemas.ReasonBody, 200),
    ("post", "/api/tickets/{ticket_id}/start", "Start handling", "department, supervisor, admin", schemas.EmptyBody, 200),
    ("post", "/api/tickets/{ticket_id}/extend", "Request an extension (延期)", "department, supervisor, admin",
     schemas.ExtendBody, 200),
    ("post", "/api/tickets/{ticket_id}/extension/approve", "Approve the pending extension", "supervisor, admin",
     schemas.EmptyBody, 200),
    ("post", "/api/tickets/{ticket_id}/extension/reject", "Reject the pending extension", "supervisor, admin",
     schemas.OptionalReasonBody, 200),
    ("post", "/api/tickets/{ticket_id}/reply", "Reply (答复)", "department, supervisor, admin", schemas.ReplyBody, 200),
    ("post", "/api/tickets/{ticket_id}/visit", "Record a return-visit result taken by phone",
     "agent, supervisor, admin", schemas.VisitBody, 200),
    ("post", "/api/tickets/{ticket_id}/close", "Close: direct answer (agent) or lawful reply (supervisor)",
     "agent, supervisor, admin", schemas.CloseBody, 200),
    ("post", "/api/tickets/{ticket_id}/archive", "Archive a closed ticket", "supervisor, admin", schemas.EmptyBody, 200),
    ("post", "/api/tickets/{ticket_id}/comments", "Add a note to the history", "all", schemas.CommentBody, 200),
    ("get", "/api/reports", "Monthly report (query month=YYYY-MM)", "supervisor, admin", None, 200),
]  # fmt: skip


@cache
def build_openapi() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    components: dict[str, Any] = {
        "Error": {
            "type": "object",
            "required": ["error", "message"],
            "properties": {
                "error": {
                    "type": "string",
                    "description": "stable id, e.g. illegal-transition, no-such-ticket",
                },
                "message": {"type": "string"},
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                    },
                },
            },
        },
    }
    for name, model in (("Ticket", schemas.Ticket), ("TicketList", schemas.TicketList)):
        schema = model.model_json_schema(ref_template=_REF, by_alias=True)
        components.update(schema.pop("$defs", {}))
        components[name] = schema
    report = TypeAdapter(Report).json_schema(ref_template=_REF)
    components.update(report.pop("$defs", {}))
    components["Report"] = report
    for method, path, summary, roles, model, status in ROUTES:
        op: dict[str, Any] = {
            "summary": summary,
            "description": f"Roles: {roles}.",
            "security": [{"bearer": []}],
            "responses": {
                str(status): {"description": "ok", "content": {"application/json": {
                    "schema": _SUCCESS.get(f"{path} {method}", _TICKET)}}},
                **{code: {"description": why, "content": {"application/json": {"schema": _ERR}}} for code, why in (
                    ("401", "no, unknown, expired or revoked token"), ("403", "role not allowed"),
                    ("404", "no such ticket (or not this department's)"),
                    ("409", "illegal transition or guard failed; nothing changed"),
                    ("422", "invalid fields or query parameters, listed by name"))
                    if code != "404" or "{ticket_id}" in path},
            },
        }  # fmt: skip
        if model is not None:
            op["responses"]["400"] = {"description": "invalid-json: the body is not UTF-8 JSON or nests too deep",
                                      "content": {"application/json": {"schema": _ERR}}}
            op["responses"]["413"] = {"description": "body-too-large: over 256 KiB (answered before the body is read)",
                                      "content": {"application/json": {"schema": _ERR}}}
        if "{ticket_id}" in path:
            op["parameters"] = [
                {"name": "ticket_id", "in": "path", "required": True,
                 "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}
            ]
        if path == "/api/tickets" and method == "get":
            text = {"type": "string", "maxLength": 200}
            op["parameters"] = [
                {"name": n, "in": "query", "required": False, "schema": schema, "description": d}
                for n, schema, d in (
                    ("status", text, "comma-separated statuses"), ("type", text, "ticket type"),
                    ("category", text, "category (exact)"),
                    ("department", text, "lead or co-handling department, exact (ignored for department role)"),
                    ("caller", text, "caller number written any way (agent and department roles; 403 for others)"),
                    ("from", {"type": "string", "format": "date-time"}, "accepted at or after, ISO 8601"),
                    ("to", {"type": "string", "format": "date-time"}, "accepted before, ISO 8601"),
                    ("supervised", {"type": "string", "enum": ["true", "false"]}, "with or without 督办"),
                    ("limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}, "page size"),
                    ("offset", {"type": "integer", "minimum": 0, "maximum": 10_000_000, "default": 0}, "skip"),
                )
            ]  # fmt: skip
        if path == "/api/reports":
            op["parameters"] = [{"name": "month", "in": "query", "required": False,
                                 "schema": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
                                 "description": "YYYY-MM (default: this month)"}]
        if model is not None:
            schema = model.model_json_schema(ref_template=_REF)
            components.update(schema.pop("$defs", {}))
            components[model.__name__] = schema
            op["requestBody"] = {
                "required": model is not schemas.EmptyBody,
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
                },
            }
        paths.setdefault(path, {})[method] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "12345 hotline tickets API", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
