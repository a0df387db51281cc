"""The REST API: roles, department isolation, field-level errors, masking, OpenAPI."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tickets.services import TicketService
from tickets.tokens import TokenStore

from .conftest import auth

CALLER = "13812345678"
CANONICAL = "+8613812345678"  # how the API stores and shows it to agents and departments


async def _create(client: TestClient, **fields: object) -> dict:
    payload = {
        "caller": CALLER,
        "type": "投诉",
        "text": f"噪音扰民，回电{CALLER}",
        "category": "环境噪声",
        **fields,
    }
    resp = await client.post("/api/tickets", json=payload, headers=auth("agent-token"))
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def test_requires_a_known_bearer_token(client: TestClient) -> None:
    assert (await client.get("/api/tickets")).status == 401
    resp = await client.get("/api/tickets", headers=auth("nope"))
    assert resp.status == 401 and (await resp.json())["error"] == "unauthorized"


async def test_full_flow_over_http(client: TestClient) -> None:
    t = await _create(client)
    tid = t["id"]
    assert t["status"] == "accepted" and t["caller"] == CANONICAL  # agents see the number
    r = await client.post(
        f"/api/tickets/{tid}/dispatch", json={"department": "住建局"}, headers=auth("agent-token")
    )
    assert r.status == 200 and (await r.json())["status"] == "dispatched"
    for step, payload in (("sign", None), ("start", None), ("reply", {"text": "已处理"})):
        r = await client.post(f"/api/tickets/{tid}/{step}", json=payload, headers=auth("zj-token"))
        assert r.status == 200, await r.text()
    r = await client.post(
        f"/api/tickets/{tid}/visit", json={"result": "satisfied"}, headers=auth("agent-token")
    )
    body = await r.json()
    assert (body["status"], body["closure"]) == ("closed", "satisfied")
    assert [h["action"] for h in body["history"]] == [
        "create", "dispatch", "sign", "start_handling", "reply", "visit_result",
    ]  # fmt: skip
    assert body["history"][2]["actor"] == "department:zj"


async def test_department_sees_only_its_own_tickets(client: TestClient) -> None:
    mine = await _create(client)
    theirs = await _create(client, text="自来水发黄")
    co = await _create(client, text="道路积水")
    await client.post(
        f"/api/tickets/{mine['id']}/dispatch", json={"department": "住建局"}, headers=auth("agent-token")
    )
    await client.post(
        f"/api/tickets/{theirs['id']}/dispatch", json={"department": "水务局"}, headers=auth("agent-token")
    )
    await client.post(
        f"/api/tickets/{co['id']}/dispatch",
        json={"department": "水务局", "co_departments": ["住建局"]},
        headers=auth("agent-token"),
    )
    listing = await (await client.get("/api/tickets", headers=auth("zj-token"))).json()
    assert sorted(i["id"] for i in listing["items"]) == sorted([mine["id"], co["id"]])
    # Asking for another department's data is ignored, not honoured.
    listing = await (await client.get("/api/tickets?department=水务局", headers=auth("zj-token"))).json()
    assert theirs["id"] not in [i["id"] for i in listing["items"]]
    assert (await client.get(f"/api/tickets/{theirs['id']}", headers=auth("zj-token"))).status == 404
    # A co-handling department may read but not sign for the lead.
    r = await client.post(f"/api/tickets/{co['id']}/sign", headers=auth("zj-token"))
    assert r.status == 409 and (await r.json())["errors"][0]["field"] == "department"
    r = await client.post(f"/api/tickets/{theirs['id']}/sign", headers=auth("zj-token"))
    assert r.status == 404
    assert (await client.get(f"/api/tickets/{theirs['id']}", headers=auth("sw-token"))).status == 200


async def test_phone_numbers_masked_for_supervisor_and_admin(client: TestClient) -> None:
    t = await _create(client)
    for token in ("sup-token", "admin-token"):
        body = await (await client.get(f"/api/tickets/{t['id']}", headers=auth(token))).json()
        assert body["caller"] == "138****5678"
        assert CALLER not in body["text"] and CALLER not in str(body)
    await client.post(
        f"/api/tickets/{t['id']}/dispatch", json={"department": "住建局"}, headers=auth("agent-token")
    )
    body = await (await client.get(f"/api/tickets/{t['id']}", headers=auth("zj-token"))).json()
    assert body["caller"] == CANONICAL  # the department must call the citizen back


async def test_field_level_validation_errors(client: TestClient) -> None:
    r = await client.post(
        "/api/tickets",
        json={"type": "闲聊", "caller": "abc", "text": "", "extra": 1},
        headers=auth("agent-token"),
    )
    assert r.status == 422
    fields = {e["field"] for e in (await r.json())["errors"]}
    assert fields == {"type", "caller", "text", "extra"}
    r = await client.post("/api/tickets", data=b"{not json", headers=auth("agent-token"))
    assert r.status == 400 and (await r.json())["error"] == "invalid-json"
    t = await _create(client)
    r = await client.post(
        f"/api/tickets/{t['id']}/extend", json={"working_days": 0, "reason": "x"}, headers=auth("sup-token")
    )
    assert r.status == 422 and (await r.json())["errors"][0]["field"] == "working_days"
    r = await client.get("/api/tickets?from=yesterday&limit=-1", headers=auth("agent-token"))
    assert {e["field"] for e in (await r.json())["errors"]} == {"from", "limit"}


async def test_roles_and_illegal_transitions(client: TestClient, service: TicketService) -> None:
    t = await _create(client)
    r = await client.post(
        f"/api/tickets/{t['id']}/dispatch", json={"department": "住建局"}, headers=auth("zj-token")
    )
    assert r.status == 403
    r = await client.post(f"/api/tickets/{t['id']}/sign", headers=auth("sup-token"))
    assert r.status == 409 and (await r.json())["error"] == "illegal-transition"
    assert (await service.get(t["id"])).status == "accepted"
    r = await client.post("/api/tickets", json={"text": "x"}, headers=auth("zj-token"))
    assert r.status == 403
    r = await client.post(
        f"/api/tickets/{t['id']}/close",
        json={"mode": "lawful", "text": "依法答复"},
        headers=auth("agent-token"),
    )
    assert r.status == 403
    assert (await client.get("/api/tickets/999999", headers=auth("agent-token"))).status == 404


async def test_report_includes_answer_rate_from_tracker(client: TestClient) -> None:
    t = await _create(client)
    await client.post(
        f"/api/tickets/{t['id']}/close",
        json={"mode": "direct", "text": "已解答"},
        headers=auth("agent-token"),
    )
    r = await client.get("/api/reports?month=2026-11", headers=auth("sup-token"))
    body = await r.json()
    assert (body["answer_rate"], body["valid"], body["closure_rate"]) == (0.9612, 1, 1.0)
    assert (await client.get("/api/reports?month=2026-13", headers=auth("sup-token"))).status == 422
    assert (await client.get("/api/reports", headers=auth("agent-token"))).status == 403


async def test_openapi_is_public_and_lists_every_route(client: TestClient) -> None:
    r = await client.get("/api/openapi.json")
    doc = await r.json()
    assert doc["openapi"].startswith("3.")
    routes = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    registered = {
        (res.method, res.resource.canonical)
        for res in client.app.router.routes()
        if res.resource.canonical.startswith("/api/") and res.method != "HEAD"
    }
    assert registered - {("GET", "/api/openapi.json")} == routes
    assert "CreateTicket" in doc["components"]["schemas"]
    # the documented shapes are the real ones
    from web.schemas import Ticket, TicketList

    t = await _create(client)
    for token in ("agent-token", "sup-token"):
        Ticket.model_validate(await (await client.get(f"/api/tickets/{t['id']}", headers=auth(token))).json())
        TicketList.model_validate(await (await client.get("/api/tickets", headers=auth(token))).json())
    report = await (await client.get("/api/reports?month=2026-11", headers=auth("sup-token"))).json()
    assert set(report) == set(doc["components"]["schemas"]["Report"]["properties"])
    assert set(doc["components"]["schemas"]["Ticket"]["properties"]) == set(t)
    limit = next(p for p in doc["paths"]["/api/tickets"]["get"]["parameters"] if p["name"] == "limit")
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 500)
    post = doc["paths"]["/api/tickets"]["post"]["responses"]
    assert {"400", "413", "422"} <= set(post) and "404" not in post


async def test_database_tokens(service: TicketService) -> None:
    store = TokenStore(service.sessionmaker)
    token = await store.issue(name="zj", role="department", department="住建局", now=service.now())
    p = await store.resolve(token)
    assert p is not None and (p.role, p.department) == ("department", "住建局")
    assert await store.resolve(token + "x") is None


async def test_tokens_expire_and_revoke(service: TicketService, client: TestClient) -> None:
    from datetime import timedelta

    now = service.now()
    clock = [now]
    store = TokenStore(service.sessionmaker, clock=lambda: clock[0])
    short = await store.issue(name="tmp", role="agent", department=None, now=now, days=1)
    forever = await store.issue(name="ops", role="admin", department=None, now=now, days=0)
    assert await store.resolve(short) is not None
    clock[0] = now + timedelta(days=1, seconds=1)
    assert await store.resolve(short) is None  # expired
    assert await store.resolve(forever) is not None
    assert await store.revoke(token=forever, now=clock[0]) == 1
    assert await store.resolve(forever) is None  # revoked at once
    assert await store.revoke(name="ops", now=clock[0]) == 0
