"""One source of answers, through the real PBX: a SIPp caller in the self-service menu hears the
published knowledge-base article; an edit approved by the department and the hotline changes the
prompt (new prompt id, new audio file) on the next call, with no dialplan reload."""

from __future__ import annotations

import wave
from datetime import datetime
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from hotline_merge import simulate
from ivr.prompts import file_stem
from tests.e2e.test_ivr_calls import _keys
from tickets.tokens import TokenStore

pytestmark = pytest.mark.pbx

OWNER = "市政务服务中心"


def _digits_for(plan, answer_id: str) -> str:
    """The keys that reach the answer in the shipped menus (menus may be reworded or reordered)."""
    for first in "123456789":
        for second in "123456789":
            d = simulate.dry_run(plan, "12345", at=datetime.now(ZoneInfo("Asia/Shanghai")), digits=first + second).decision
            if d.action == "selfservice" and d.selfservice_answer == answer_id:
                return first + second
    raise AssertionError(f"no two-key path to self-service answer {answer_id}")


async def _played(engine, ami_watch, sipp, digits: str) -> list[str]:
    mark = ami_watch.mark()
    result = await sipp.call("12345", steps=_keys(digits, hold_ms=6000))
    assert result.failed == 0, result.stderr[-1500:]
    hangup = (await ami_watch.wait_for("Hangup", since=mark, timeout=40))[0]
    return [e["Command"] for e in ami_watch.since(mark, "AGIExecStart", Channel=hangup["Channel"])]


def _frames(engine, prompt_id: str) -> bytes:
    with wave.open(str(engine.prompts.host_dir / f"{file_stem(prompt_id)}.wav")) as w:
        return w.readframes(w.getnframes())


async def test_an_approved_edit_changes_what_the_caller_hears(engine, ami_watch, sipp):
    kb = engine.knowledge
    answer = next(a for a in engine.dialplan.current.selfservice if a.article == "hotline-scope")
    digits = _digits_for(engine.dialplan.current, answer.id)
    before = await kb.spoken("hotline-scope")
    assert before is not None
    plan_version = engine.dialplan.version

    played = await _played(engine, ami_watch, sipp, digits)
    assert any(file_stem(before.prompt_id) in c for c in played), played

    # The department's editor and reviewer and a hotline supervisor, over the engine's REST API.
    store = TokenStore(engine.tickets.sessionmaker)
    now = engine.tickets.now()
    editor = await store.issue(name="kb-editor", role="department", department=OWNER, now=now)
    reviewer = await store.issue(name="kb-reviewer", role="department", department=OWNER, now=now)
    hotline = await store.issue(name="kb-hotline", role="supervisor", department=None, now=now)
    base = f"http://127.0.0.1:{engine.settings.engine.web_port}/api/kb/articles/hotline-scope"

    async def call(method: str, path: str, token: str, body: dict) -> dict:
        async with aiohttp.ClientSession() as http, http.request(
            method, base + path, json=body, headers={"Authorization": f"Bearer {token}"}
        ) as r:
            assert r.status == 200, await r.text()
            return await r.json()

    new_body = "12345热线受理企业和群众的非紧急诉求。遇到紧急情况，请直接拨打110、119、120或122。"
    await call("PATCH", "", editor, {"body": new_body, "note": "缩短语音"})
    await call("POST", "/actions", editor, {"action": "submit"})
    # Under review the caller still hears the published version.
    assert (await kb.spoken("hotline-scope")).prompt_id == before.prompt_id
    await call("POST", "/actions", reviewer, {"action": "department_approve"})
    assert (await call("POST", "/actions", hotline, {"action": "hotline_approve"}))["status"] == "published"
    after = await kb.spoken("hotline-scope")
    assert after is not None and after.prompt_id != before.prompt_id and after.version == before.version + 1
    assert after.text == new_body

    played = await _played(engine, ami_watch, sipp, digits)
    assert any(file_stem(after.prompt_id) in c for c in played), played
    assert not any(file_stem(before.prompt_id) in c for c in played)
    assert engine.dialplan.version == plan_version  # no reload happened
    assert _frames(engine, after.prompt_id) != _frames(engine, before.prompt_id)
