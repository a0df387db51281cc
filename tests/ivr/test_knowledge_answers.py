"""The IVR reads self-service answers from the knowledge base at call time (pure unit test;
the real-PBX proof is tests/e2e/test_knowledge_selfservice.py)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from hotline_merge.flow import Play
from ivr.services import CallService


@dataclass
class _Spoken:
    prompt_id: str
    text: str


class _Answers:
    def __init__(self, published: dict[str, _Spoken], delay: float = 0.0) -> None:
        self.published = published
        self.delay = delay

    async def spoken(self, article_id: str) -> _Spoken | None:
        await asyncio.sleep(self.delay)
        return self.published.get(article_id)


def _service(answers: _Answers | None) -> CallService:
    return CallService(dialplan=None, prompts=None, tickets=None, answers=answers, db_timeout=0.2)  # type: ignore[arg-type]


async def test_published_article_replaces_the_fallback() -> None:
    svc = _service(_Answers({"a": _Spoken("kb.a.v3", "文章第三版")}))
    assert await svc._what_to_play(Play("selfservice.x", "兜底", article="a")) == ("kb.a.v3", "文章第三版")


async def test_unpublished_slow_or_absent_knowledge_plays_the_fallback() -> None:
    step = Play("selfservice.x", "兜底", article="a")
    assert await _service(_Answers({}))._what_to_play(step) == ("selfservice.x", "兜底")
    assert await _service(_Answers({"a": _Spoken("kb.a.v1", "t")}, delay=1))._what_to_play(step) == (
        "selfservice.x", "兜底")
    assert await _service(None)._what_to_play(step) == ("selfservice.x", "兜底")
    assert await _service(_Answers({}))._what_to_play(Play("menu.main", "菜单")) == ("menu.main", "菜单")
