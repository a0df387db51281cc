"""The citizens' web channel over HTTP: verification code, rate limits, same workflow, progress
lookup by number + last four digits, public KB search over published articles only."""

from __future__ import annotations

import logging
import re

import aiohttp
import pytest

from infra.phone import canonical_number
from knowledge.services import ArticleInput
from knowledge.state import Action, Actor
from tests.support.browser import WebServer
from tickets.exceptions import InvalidInput
from tickets.intake import CitizenIntake, Limits, LogSmsGateway
from web.knowledge import KNOWLEDGE
from web.public import INTAKE

PHONE = "13912345678"


def _code(server: WebServer, phone: str = PHONE) -> str:
    sms = server.app[INTAKE].sms
    assert isinstance(sms, LogSmsGateway)
    text = [t for p, t in sms.sent if p == phone][-1]
    return re.search(r"验证码是(\d{6})", text).group(1)


async def _submit(http, base: str, server: WebServer, **over) -> tuple[int, dict]:  # noqa: ANN001
    async with http.post(base + "/api/public/code", json={"phone": over.get("phone", PHONE)}) as r:
        assert r.status == 200, await r.text()
    body = {"phone": PHONE, "code": _code(server, over.get("phone", PHONE)), "type": "投诉",
            "content": "小区门口的路灯坏了一个多月，晚上很不安全。", "place": "凉州区东大街", **over}
    async with http.post(base + "/api/public/requests", json=body) as r:
        return r.status, await r.json()


async def test_submit_needs_a_code_and_opens_a_web_ticket(web_server: WebServer, caplog) -> None:  # noqa: ANN001
    caplog.set_level(logging.INFO, logger="tickets.intake")
    base = web_server.base_url
    async with aiohttp.ClientSession() as http:
        async with http.post(base + "/api/public/requests", json={"phone": PHONE, "code": "123456", "type": "投诉",
                                                                  "content": "没有验证码的提交应当被拒绝。"}) as r:
            assert r.status == 422 and (await r.json())["error"] == "bad-code"
        status, data = await _submit(http, base, web_server)
        assert status == 201
        view = await web_server.tickets.get_by_number(data["number"])
        assert view.channel == "web" and view.status == "accepted" and view.caller == canonical_number(PHONE)
        assert "凉州区东大街" in view.text and [e.action for e in view.history] == ["create"]
        # The code is single use.
        body = {"phone": PHONE, "code": _code(web_server), "type": "投诉", "content": "同一个验证码第二次提交。"}
        async with http.post(base + "/api/public/requests", json=body) as r:
            assert r.status == 422
    logged = "\n".join(r.getMessage() + str(getattr(r, "fields", "")) for r in caplog.records)
    assert "139****5678" in logged and PHONE not in logged


async def test_progress_needs_the_right_last_four_digits(web_server: WebServer) -> None:
    base = web_server.base_url
    async with aiohttp.ClientSession() as http:
        _, data = await _submit(http, base, web_server)
        async with http.get(base + "/api/public/progress", params={"number": data["number"], "last4": "5678"}) as r:
            assert r.status == 200
            found = await r.json()
        assert found["status"] == "accepted" and data["number"] in found["sentence"]
        for number, last4 in ((data["number"], "0000"), ("20261123-999999", "5678")):
            async with http.get(base + "/api/public/progress", params={"number": number, "last4": last4}) as r:
                assert r.status == 404  # wrong digits and unknown numbers look the same
        # Guessing the last four digits is cut off.
        for _ in range(5):
            async with http.get(base + "/api/public/progress", params={"number": data["number"], "last4": "1111"}) as r:
                pass
        async with http.get(base + "/api/public/progress", params={"number": data["number"], "last4": "5678"}) as r:
            assert r.status == 429 and "Retry-After" in r.headers


async def test_code_requests_are_rate_limited_per_phone_and_per_address(web_server: WebServer) -> None:
    limits = Limits()  # what the app runs with: 3 codes per phone per 10 min, 10 per address per hour
    base = web_server.base_url
    async with aiohttp.ClientSession() as http:
        statuses = []
        for _ in range(limits.codes_per_phone + 1):
            async with http.post(base + "/api/public/code", json={"phone": PHONE}) as r:
                statuses.append(r.status)
        assert statuses == [200] * limits.codes_per_phone + [429]
        for i in range(limits.codes_per_address - limits.codes_per_phone):
            async with http.post(base + "/api/public/code", json={"phone": f"138000011{i:02d}"}) as r:
                assert r.status == 200
        async with http.post(base + "/api/public/code", json={"phone": "13800002222"}) as r:
            assert r.status == 429 and (await r.json())["errors"][0]["field"] == "address"
        async with http.post(base + "/api/public/code", json={"phone": "12345"}) as r:
            assert r.status in (422, 429)
    with pytest.raises(InvalidInput) as bad:
        await CitizenIntake(tickets=web_server.tickets, sms=LogSmsGateway()).request_code(phone="12345", address="x")
    assert bad.value.field == "phone"


@pytest.mark.parametrize("published", [True, False])
async def test_public_search_reads_published_articles_only(web_server: WebServer, published: bool) -> None:
    kb = web_server.app[KNOWLEDGE]
    ed, rev, hot = Actor("a", "department", "市水务局"), Actor("b", "department", "市水务局"), Actor("c", "admin")
    await kb.create(ArticleInput(id="water-bill", title="水费缴纳方式", body="水费可以在营业厅、手机银行或供水公司公众号缴纳。",
                                 department="市水务局", keywords=["水费"]), actor=ed)  # fmt: skip
    if published:
        await kb.act("water-bill", Action.SUBMIT, actor=ed)
        await kb.act("water-bill", Action.DEPARTMENT_APPROVE, actor=rev)
        await kb.act("water-bill", Action.HOTLINE_APPROVE, actor=hot)
    async with aiohttp.ClientSession() as http, http.get(web_server.base_url + "/api/public/kb", params={"q": "水费怎么交"}) as r:
        assert r.status == 200
        ids = [h["id"] for h in (await r.json())["items"]]
    assert ids == (["water-bill"] if published else [])
