"""Hostile and careless input to the REST API, replayed on SQLite and PostgreSQL (the `backend`
fixture): every case of the robustness probe answers a 4xx naming the field, stores nothing
half-way, and shows a masked role no phone number in any field."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp.test_utils import TestClient, TestServer

from infra.db import make_engine
from infra.phone import find_phones
from tests.tickets.conftest import make_service
from tickets.services import TicketService
from tickets.tokens import StaticTokens
from web.app import create_app

from .conftest import TOKENS, auth

# The probe's ten ways of writing a number, as a citizen leaves them in free text.
TEN = ["13812345678", "138-1234-5678", "+86-138-1234-5678", "008613812345678", "86 138 1234 5678",
       "１３８１２３４５６７８", "0935-2253337", "(0935)2253337", "0935 2253337", "sip:13812345678@host"]
NATIONAL = ("13812345678", "09352253337", "9352253337")


async def _create(client: TestClient, **fields: object) -> dict:
    payload = {"caller": "13812345678", "type": "投诉", "text": "噪音扰民", **fields}
    r = await client.post("/api/tickets", json=payload, headers=auth("agent-token"))
    assert r.status == 201, await r.text()
    return await r.json()


def _fields(body: dict) -> set[str]:
    return {e["field"] for e in body.get("errors", [])}


def _no_number_in(doc: object) -> None:
    text = json.dumps(doc, ensure_ascii=False)
    assert find_phones(text) == [], find_phones(text)
    digits = "".join(str(int(c)) if c.isdecimal() else c for c in text)
    for n in NATIONAL:
        assert n not in digits.replace("-", "").replace(" ", "")


async def _raw(client: TestClient, request: bytes, timeout: float = 5.0) -> tuple[int, bytes]:
    """Bytes a client library would refuse to send, straight onto the socket."""
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    try:
        writer.write(request)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        length = int(next((ln.split(b":")[1] for ln in head.split(b"\r\n") if ln.lower().startswith(b"content-length:")), b"0"))
        payload = await asyncio.wait_for(reader.readexactly(length), timeout)
        return int(head.split(b" ")[1]), payload
    finally:
        writer.close()


# ------------------------------------------------------------------ item 1: numbers leak


async def test_every_text_field_and_report_is_masked_for_supervisors(client: TestClient) -> None:
    text = "；".join(f"回电{n}" for n in TEN)
    t = await _create(client, text=text, title=f"来电 {TEN[1]}", category=f"回拨{TEN[7]}", caller=TEN[2])
    await client.post(f"/api/tickets/{t['id']}/comments", json={"note": f"已回拨 {TEN[4]}"},
                      headers=auth("agent-token"))
    for token in ("sup-token", "admin-token"):
        body = await (await client.get(f"/api/tickets/{t['id']}", headers=auth(token))).json()
        assert body["caller"] == "138****5678"
        _no_number_in(body)
        listing = await (await client.get("/api/tickets", headers=auth(token))).json()
        _no_number_in(listing)
    report = await (await client.get("/api/reports?month=2026-11", headers=auth("sup-token"))).json()
    assert report["hot_categories"] and report["hot_categories"][0][0] == "回拨0935****3337"
    _no_number_in(report)
    # the agent, who calls back, keeps everything
    body = await (await client.get(f"/api/tickets/{t['id']}", headers=auth("agent-token"))).json()
    assert body["caller"] == "+8613812345678" and body["text"] == text


@pytest.mark.parametrize("written", TEN)
async def test_caller_written_any_way_is_stored_canonical(client: TestClient, written: str) -> None:
    t = await _create(client, caller=written)
    assert t["caller"] in ("+8613812345678", "+869352253337")
    r = await client.get(f"/api/tickets?caller={written}", headers=auth("agent-token"))
    assert t["id"] in [i["id"] for i in (await r.json())["items"]]


async def test_caller_filter_refused_for_masked_roles_not_ignored(client: TestClient) -> None:
    await _create(client)
    r = await client.get("/api/tickets?caller=13812345678", headers=auth("sup-token"))
    assert r.status == 403 and _fields(await r.json()) == {"caller"}
    r = await client.get("/api/tickets?caller=call-me", headers=auth("agent-token"))
    assert r.status == 422 and _fields(await r.json()) == {"caller"}


# ------------------------------------------------------------------ item 2: co-departments on PostgreSQL


async def test_co_department_with_a_chinese_name_sees_its_ticket(service: TicketService) -> None:
    tokens = StaticTokens({**TOKENS, "ga-token": TOKENS["zj-token"].__class__("ga", "department", "市公安局")})
    async with TestClient(TestServer(create_app(tickets=service, tokens=tokens))) as c:
        t = await _create(c)
        r = await c.post(f"/api/tickets/{t['id']}/dispatch",
                         json={"department": "市住建局", "co_departments": ["市公安局"]}, headers=auth("agent-token"))
        assert r.status == 200, await r.text()
        listing = await (await c.get("/api/tickets", headers=auth("ga-token"))).json()
        assert [i["id"] for i in listing["items"]] == [t["id"]]
        assert (await c.get(f"/api/tickets/{t['id']}", headers=auth("ga-token"))).status == 200
        # LIKE wildcards are plain characters
        listing = await (await c.get("/api/tickets?department=%25", headers=auth("sup-token"))).json()
        assert listing["items"] == []
        listing = await (await c.get("/api/tickets?department=%E5%B8%82%25", headers=auth("sup-token"))).json()
        assert listing["items"] == []


# ------------------------------------------------------------------ item 3: no 500s


async def test_deep_json_is_a_400_naming_the_body(client: TestClient) -> None:
    for depth in (40, 1000, 100_000):
        r = await client.post("/api/tickets", data=("[" * depth + "]" * depth).encode(),
                              headers=auth("agent-token"))
        assert r.status == 400, depth
        body = await r.json()
        assert body["error"] == "invalid-json" and _fields(body) == {"body"}
    r = await client.post("/api/tickets", data=b'{"text": "\xff\xfe"}', headers=auth("agent-token"))
    assert r.status == 400 and (await r.json())["error"] == "invalid-json"


@pytest.mark.parametrize("ticket_id", ["²", "①", "١", "１", "1.0", "-1", "0x1", str(2**31), str(2**63), "9" * 30])
async def test_odd_ticket_ids_are_a_uniform_404(client: TestClient, ticket_id: str) -> None:
    await _create(client)  # ticket 1 exists: none of these may alias it
    r = await client.get(f"/api/tickets/{ticket_id}", headers=auth("agent-token"))
    assert r.status == 404
    body = await r.json()
    assert body["error"] == "no-such-ticket" and _fields(body) == {"ticket_id"}
    r = await client.post(f"/api/tickets/{ticket_id}/comments", json={"note": "x"}, headers=auth("agent-token"))
    assert r.status == 404


async def test_missing_and_foreign_tickets_answer_the_same_shape(client: TestClient) -> None:
    t = await _create(client)
    await client.post(f"/api/tickets/{t['id']}/dispatch", json={"department": "水务局"}, headers=auth("agent-token"))
    foreign = await (await client.get(f"/api/tickets/{t['id']}", headers=auth("zj-token"))).json()
    missing = await (await client.get("/api/tickets/424242", headers=auth("zj-token"))).json()
    assert json.dumps(foreign).replace(str(t["id"]), "N") == json.dumps(missing).replace("424242", "N")


@pytest.mark.parametrize(("query", "field"), [
    ("from=0001-01-01T00:00%2B14:00", "from"), ("to=9999-12-31T23:59-14:00", "to"),
    ("limit=0", "limit"), ("limit=%D9%A1%D9%A0", "limit"), ("offset=99999999999999999999", "offset"),
    ("category=a%00b", "category"), ("type=" + "x" * 500, "type"),
])
async def test_bad_query_parameters_name_the_field(client: TestClient, query: str, field: str) -> None:
    r = await client.get(f"/api/tickets?{query}", headers=auth("sup-token"))
    assert r.status == 422 and field in _fields(await r.json())


@pytest.mark.parametrize("header", [b"Bearer \xff\xfe", b"Bearer \x00", b"Bearer a b", b"Bearer " + b"a" * 5000,
                                    b"\xff\xfe", b"Basic dXNlcjpwYXNz"])
async def test_bad_authorization_bytes_are_a_401(client: TestClient, header: bytes) -> None:
    status, payload = await _raw(client, b"GET /api/tickets HTTP/1.1\r\nHost: x\r\nAuthorization: " + header
                                 + b"\r\nConnection: close\r\n\r\n")
    assert status in (400, 401), payload
    if status == 401:
        assert json.loads(payload)["errors"][0]["field"] == "Authorization"


async def test_nul_and_control_characters_are_refused_and_nothing_is_stored(client: TestClient,
                                                                           service: TicketService) -> None:
    for field in ("text", "title", "category"):
        payload = {"text": "正常", field: "噪音\x00扰民"}
        r = await client.post("/api/tickets", json=payload, headers=auth("agent-token"))
        assert r.status == 422 and field in _fields(await r.json()), field
    t = await _create(client)
    r = await client.post(f"/api/tickets/{t['id']}/comments", json={"note": "a\x00"}, headers=auth("agent-token"))
    assert r.status == 422 and _fields(await r.json()) == {"note"}
    r = await client.post(f"/api/tickets/{t['id']}/dispatch", json={"department": "住建局", "co_departments": ["x\x07"]},
                          headers=auth("agent-token"))
    assert r.status == 422 and _fields(await r.json()) == {"co_departments"}
    listing = await (await client.get("/api/tickets", headers=auth("agent-token"))).json()
    assert listing["count"] == 1
    view = await service.get(t["id"])
    assert view.status == "accepted" and [h.action for h in view.history] == ["create"]


async def test_service_refuses_nul_itself(service: TicketService) -> None:
    from tickets.exceptions import InvalidInput

    with pytest.raises(InvalidInput) as exc:
        await service.create(channel="phone", text="a\x00b")
    assert exc.value.field == "text"


async def test_huge_content_length_is_a_413_at_once(client: TestClient) -> None:
    status, payload = await _raw(
        client, b"POST /api/tickets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 99999999999\r\nConnection: close\r\n\r\n{", timeout=5.0)
    assert status == 413 and json.loads(payload)["errors"][0]["field"] == "Content-Length"


async def test_sql_errors_never_carry_parameter_values(db_url_for_backend: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    engine = make_engine(db_url_for_backend)
    try:
        async with engine.connect() as conn:
            with pytest.raises(DBAPIError) as exc:
                await conn.execute(text("INSERT INTO no_such_table (a) VALUES (:a)"), {"a": "13812345678 投诉内容"})
        assert "13812345678" not in str(exc.value) and "投诉内容" not in str(exc.value)
        assert "hidden" in str(exc.value)
    finally:
        await engine.dispose()


# ------------------------------------------------------------------ item 6: workflow


async def test_dispatch_to_an_unknown_department_is_refused(service: TicketService, clock) -> None:  # noqa: ANN001
    svc = make_service(service.sessionmaker.kw["bind"], clock)
    svc._departments = lambda: ["市住建局", "市公安局"]
    async with TestClient(TestServer(create_app(tickets=svc, tokens=StaticTokens(TOKENS)))) as c:
        t = await _create(c)
        r = await c.post(f"/api/tickets/{t['id']}/dispatch", json={"department": "市不存在局"},
                         headers=auth("agent-token"))
        assert r.status == 422 and _fields(await r.json()) == {"department"}
        r = await c.post(f"/api/tickets/{t['id']}/dispatch",
                         json={"department": "市住建局", "co_departments": ["市公安局", "火星局"]},
                         headers=auth("agent-token"))
        assert r.status == 422 and _fields(await r.json()) == {"co_departments.1"}
        assert (await svc.get(t["id"])).status == "accepted"
        r = await c.post(f"/api/tickets/{t['id']}/dispatch", json={"department": "市住建局"},
                         headers=auth("agent-token"))
        assert r.status == 200


GARBAGE = [b"null", b"[]", b'"text"', b"1e400", b'{"text": ' + b"9" * 5000 + b"}", b'{"reason": "\\u0000"}',
           b'{"department": {"$ne": null}}', b'{"working_days": 99999999999999999999, "reason": "x"}',
           b'{"text": "\\ud800"}', b"{" * 50 + b"}" * 50, b"\xef\xbb\xbf{}", b'{"mode": "direct", "text": "' + b"x" * 6000 + b'"}']


async def test_every_route_answers_garbage_with_a_4xx(client: TestClient) -> None:
    """Every documented route, as every role, with bodies no form would send: never a 500."""
    from web.openapi import ROUTES

    t = await _create(client)
    statuses = set()
    for method, path, _summary, _roles, _model, _ok in ROUTES:
        url = path.replace("{ticket_id}", str(t["id"]))
        for token in ("agent-token", "zj-token", "sup-token"):
            for payload in (GARBAGE if method != "get" else [b""]):
                r = await client.request(method.upper(), url, data=payload, headers=auth(token))
                assert r.status < 500, (method, url, token, payload[:60], await r.text())
                statuses.add(r.status)
    assert statuses >= {400, 403, 422}
