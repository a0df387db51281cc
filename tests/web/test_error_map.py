"""One error shape: every package's errors subclass infra.errors.DomainError with their own
error_id, and the web layer maps each id to a status."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from agent_queue.exceptions import NoSuchAgent
from hotline_merge.exceptions import DialplanInvalid, DialplanIssue
from infra.errors import DomainError
from tickets.exceptions import InvalidInput
from web.app import STATUS_FOR, errors_middleware

PACKAGES = ("infra", "config", "tickets", "agent_queue", "asr", "hotline_merge", "ivr", "web", "hotline")


def _every_error() -> list[type[DomainError]]:
    for name in PACKAGES:
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, f"{name}."):
            importlib.import_module(info.name)
    found: list[type[DomainError]] = []
    todo = [DomainError]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__module__.split(".")[0] in PACKAGES:
                found.append(sub)
            todo.append(sub)
    return found


def test_every_domain_error_has_its_own_id_and_a_status() -> None:
    errors = _every_error()
    assert len(errors) > 30
    assert [e.__qualname__ for e in errors if "error_id" not in vars(e)] == []
    ids = [e.error_id for e in errors]
    assert len(ids) == len(set(ids)), "two error classes share an error_id"
    assert sorted(set(ids) - set(STATUS_FOR)) == []
    assert sorted(set(STATUS_FOR) - set(ids)) == [], "STATUS_FOR maps an id no error has"


@pytest.mark.parametrize(("exc", "status", "field"), [
    (NoSuchAgent("agent 'a9': not in the roster"), 404, None),
    (InvalidInput("phone: not a number", field="phone"), 422, "phone"),
    (DialplanInvalid([DialplanIssue("40-menus.yaml", 3, 5, "unknown menu")]), 422, "40-menus.yaml"),
])
async def test_the_web_layer_answers_each_package_error_by_its_id(exc: DomainError, status: int,
                                                                    field: str | None) -> None:
    async def handler(_request: web.Request) -> web.Response:
        raise exc

    app = web.Application(middlewares=[errors_middleware])
    app.router.add_get("/x", handler)
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/x")
        body = await resp.json()
    assert resp.status == status
    assert body["error"] == exc.error_id and body["message"] == exc.message
    assert body.get("errors", [{}])[0].get("field") == field
