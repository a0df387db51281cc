"""Review workflow (多方校核), ownership, audit, version history, review flags, import/export."""

from __future__ import annotations

import json
from datetime import date

import pytest

from knowledge.exceptions import Forbidden, IllegalTransition, InvalidArticle
from knowledge.services import ArticleInput, KnowledgeService
from knowledge.state import Action, Status
from tests.knowledge.conftest import ADMIN, GJJ_EDITOR, GJJ_REVIEWER, RS_EDITOR, SUPERVISOR


def _article(**over: object) -> ArticleInput:
    base = {"id": "gjj-rent", "title": "租房提取公积金", "body": "无房职工租房可以按月提取住房公积金支付房租。",
            "department": "市公积金中心", "keywords": ["租房提取"], "legal_basis": "《住房公积金管理条例》"}
    return ArticleInput.model_validate({**base, **over})


async def _publish(kb: KnowledgeService) -> None:
    await kb.create(_article(), actor=GJJ_EDITOR)
    await kb.act("gjj-rent", Action.SUBMIT, actor=GJJ_EDITOR)
    await kb.act("gjj-rent", Action.DEPARTMENT_APPROVE, actor=GJJ_REVIEWER)
    await kb.act("gjj-rent", Action.HOTLINE_APPROVE, actor=SUPERVISOR)


async def test_draft_to_published_through_both_reviews(kb: KnowledgeService) -> None:
    await _publish(kb)
    view = await kb.get("gjj-rent")
    assert (view.status, view.version, view.live_version) == ("published", 1, 1)
    actions = [(e["action"], e["from"], e["to"], e["actor"]) for e in await kb.audit("gjj-rent")]
    assert actions == [
        ("create", None, "draft", "department:wang"),
        ("submit", "draft", "department_review", "department:wang"),
        ("department_approve", "department_review", "hotline_review", "department:li"),
        ("hotline_approve", "hotline_review", "published", "supervisor:bob"),
    ]


async def test_a_department_edits_only_its_own(kb: KnowledgeService) -> None:
    with pytest.raises(Forbidden):
        await kb.create(_article(), actor=RS_EDITOR)
    await kb.create(_article(), actor=GJJ_EDITOR)
    with pytest.raises(Forbidden):
        await kb.edit("gjj-rent", {"body": "人社局改写的内容，应当被拒绝。"}, actor=RS_EDITOR)
    with pytest.raises(Forbidden):
        await kb.act("gjj-rent", Action.SUBMIT, actor=RS_EDITOR)
    with pytest.raises(Forbidden):  # a department may not move its article to another department
        await kb.edit("gjj-rent", {"department": "市人社局"}, actor=GJJ_EDITOR)
    assert (await kb.get("gjj-rent")).version == 1
    assert [e["action"] for e in await kb.audit("gjj-rent")] == ["create"]


async def test_nobody_approves_their_own_version(kb: KnowledgeService) -> None:
    await kb.create(_article(), actor=GJJ_EDITOR)
    await kb.act("gjj-rent", Action.SUBMIT, actor=GJJ_EDITOR)
    with pytest.raises(Forbidden, match="author"):
        await kb.act("gjj-rent", Action.DEPARTMENT_APPROVE, actor=GJJ_EDITOR)
    with pytest.raises(Forbidden):  # the hotline does not stand in for the department's check
        await kb.act("gjj-rent", Action.DEPARTMENT_APPROVE, actor=SUPERVISOR)
    with pytest.raises(IllegalTransition):
        await kb.act("gjj-rent", Action.HOTLINE_APPROVE, actor=SUPERVISOR)
    await kb.act("gjj-rent", Action.DEPARTMENT_APPROVE, actor=GJJ_REVIEWER)
    with pytest.raises(Forbidden):
        await kb.act("gjj-rent", Action.HOTLINE_APPROVE, actor=GJJ_REVIEWER)
    await kb.act("gjj-rent", Action.SEND_BACK, actor=SUPERVISOR, note="请补充办理渠道")
    view = await kb.get("gjj-rent")
    assert view.status == "draft" and view.live_version is None
    assert (await kb.audit("gjj-rent"))[-1]["note"] == "请补充办理渠道"


async def test_editing_a_published_article_keeps_the_live_version_until_approved(kb: KnowledgeService) -> None:
    await _publish(kb)
    await kb.edit("gjj-rent", {"body": "无房职工租房每季度可以提取一次住房公积金。"}, actor=GJJ_EDITOR, note="频次调整")
    assert (await kb.get("gjj-rent")).status == "draft"
    live = await kb.published("gjj-rent")
    assert live is not None and live.version == 1 and "按月" in live.body
    spoken = await kb.spoken("gjj-rent")
    assert spoken is not None and spoken.prompt_id == "kb.gjj-rent.v1"
    await kb.act("gjj-rent", Action.SUBMIT, actor=GJJ_EDITOR)
    await kb.act("gjj-rent", Action.DEPARTMENT_APPROVE, actor=GJJ_REVIEWER)
    await kb.act("gjj-rent", Action.HOTLINE_APPROVE, actor=ADMIN)
    spoken = await kb.spoken("gjj-rent")
    assert spoken is not None and spoken.prompt_id == "kb.gjj-rent.v2" and "每季度" in spoken.text
    history = await kb.history("gjj-rent")
    assert [h.version for h in history] == [1, 2] and "按月" in history[0].body
    edit = [e for e in await kb.audit("gjj-rent") if e["action"] == "edit"][0]
    assert edit["note"] == "频次调整; changed body" and edit["from"] == "published"


async def test_invalid_edit_names_the_field_and_changes_nothing(kb: KnowledgeService) -> None:
    await kb.create(_article(), actor=GJJ_EDITOR)
    with pytest.raises(InvalidArticle) as err:
        await kb.edit("gjj-rent", {"valid_from": "2027-01-01", "valid_to": "2026-01-01"}, actor=GJJ_EDITOR)
    assert "valid_to" in err.value.message
    with pytest.raises(InvalidArticle) as err:
        await kb.edit("gjj-rent", {"colour": "red"}, actor=GJJ_EDITOR)
    assert err.value.field == "colour"
    assert (await kb.get("gjj-rent")).version == 1


async def test_review_due_flagged_and_expired_validity_leaves_search(kb: KnowledgeService, kb_clock) -> None:  # noqa: ANN001
    await kb.create(_article(review_due=date(2026, 12, 1), valid_to=date(2026, 12, 31)), actor=GJJ_EDITOR)
    await kb.act("gjj-rent", Action.SUBMIT, actor=GJJ_EDITOR)
    await kb.act("gjj-rent", Action.DEPARTMENT_APPROVE, actor=GJJ_REVIEWER)
    await kb.act("gjj-rent", Action.HOTLINE_APPROVE, actor=SUPERVISOR)
    flagged = await kb.flagged()
    assert [(v.id, why) for v, why in flagged] == [("gjj-rent", "review due 2026-12-01")]
    assert [h.id for h in await kb.search("租房提取")] == ["gjj-rent"]
    kb_clock.set(kb_clock.now.replace(year=2027, month=1, day=2))
    assert await kb.search("租房提取") == []  # out of validity even before the sweep
    assert await kb.sweep() == ["gjj-rent"]
    view = await kb.get("gjj-rent")
    assert view.status == "expired" and view.live_version is None
    assert (await kb.audit("gjj-rent"))[-1]["actor"] == "admin:system"


async def test_import_refuses_a_bad_file_whole_and_names_each_line(kb: KnowledgeService) -> None:
    good = json.dumps(_article().model_dump(mode="json"), ensure_ascii=False)
    lines = [good, "{not json", json.dumps({"id": "x y", "title": "t"}), good]
    with pytest.raises(InvalidArticle) as err:
        await kb.import_lines(lines, actor=ADMIN, source="kb.jsonl")
    msg = err.value.message
    assert "kb.jsonl:2: not JSON" in msg and "kb.jsonl:3: id:" in msg and "kb.jsonl:4: id: 'gjj-rent' already on line 1" in msg
    assert await kb.list() == []
    with pytest.raises(Forbidden):
        await kb.import_lines([good], actor=GJJ_EDITOR)


async def test_export_then_import_round_trips(starter: KnowledgeService, kb: KnowledgeService) -> None:
    lines = await starter.export_lines()
    assert len(lines) >= 50
    again = await starter.import_lines(lines, actor=ADMIN)
    assert len(again.unchanged) == len(lines) and not again.created and not again.updated
    first = json.loads(lines[0])
    first["body"] += "（已更新）"
    report = await starter.import_lines([json.dumps(first, ensure_ascii=False)], actor=ADMIN)
    assert report.updated == [first["id"]]
    view = await starter.get(first["id"])
    assert view.version == 2 and view.status == Status.PUBLISHED and view.live_version == 2
