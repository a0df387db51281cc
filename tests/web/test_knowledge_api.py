"""Knowledge-base REST API: departments write only their own, reviews over HTTP, audit and search."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.web.conftest import auth

ARTICLE = {"id": "zj-elevator", "title": "加装电梯补助", "body": "既有住宅加装电梯经业主表决同意后可以申请补助。",
           "department": "住建局", "keywords": ["加装电梯"]}


async def test_department_writes_its_own_and_reviews_run_over_http(client: TestClient) -> None:
    r = await client.post("/api/kb/articles", json={**ARTICLE, "department": "水务局"}, headers=auth("zj-token"))
    assert r.status == 403 and (await r.json())["error"] == "article-forbidden"
    r = await client.post("/api/kb/articles", json={**ARTICLE, "title": ""}, headers=auth("zj-token"))
    assert r.status == 422 and (await r.json())["errors"][0]["field"] == "title"
    r = await client.post("/api/kb/articles", json=ARTICLE, headers=auth("zj-token"))
    assert r.status == 201 and (await r.json())["status"] == "draft"
    r = await client.patch("/api/kb/articles/zj-elevator", json={"body": "水务局想改住建局的条目，应被拒绝。"},
                           headers=auth("sw-token"))
    assert r.status == 403
    r = await client.post("/api/kb/articles/zj-elevator/actions", json={"action": "submit"}, headers=auth("zj-token"))
    assert (await r.json())["status"] == "department_review"
    # The same person may not approve their own version.
    r = await client.post("/api/kb/articles/zj-elevator/actions", json={"action": "department_approve"},
                          headers=auth("zj-token"))
    assert r.status == 403
    r = await client.post("/api/kb/articles/zj-elevator/actions", json={"action": "hotline_approve"},
                          headers=auth("sup-token"))
    assert r.status == 409 and (await r.json())["error"] == "article-transition-refused"
    r = await client.post("/api/kb/articles/zj-elevator/actions", json={"action": "fly"}, headers=auth("zj-token"))
    assert r.status == 422
    assert (await client.get("/api/kb/search?q=加装电梯", headers=auth("agent-token"))).status == 200
    assert (await (await client.get("/api/kb/search?q=加装电梯", headers=auth("agent-token"))).json())["items"] == []
    r = await client.get("/api/kb/articles/zj-elevator/history", headers=auth("agent-token"))
    audit = (await r.json())["audit"]
    assert [(a["action"], a["actor"]) for a in audit] == [("create", "department:zj"), ("submit", "department:zj")]
    r = await client.get("/api/kb/articles/nope", headers=auth("agent-token"))
    assert r.status == 404 and (await r.json())["error"] == "no-such-article"
    r = await client.get("/api/kb/articles", headers=auth("sw-token"))
    assert (await r.json())["count"] == 0  # departments list their own
