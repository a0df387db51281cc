"""Self-service answers reference knowledge-base articles: exactly one source per answer."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from hotline_merge import simulate
from hotline_merge.loader import load_dialplan
from hotline_merge.models import SelfServiceAnswer

ROOT = Path(__file__).resolve().parents[2]


def test_an_answer_has_exactly_one_source() -> None:
    assert SelfServiceAnswer.model_validate({"id": "a1", "title": "标题", "article": "a1"}).text is None
    for bad in ({"id": "a1", "title": "标题"}, {"id": "a1", "title": "标题", "article": "a1", "text": "固定文本"}):
        with pytest.raises(ValidationError, match="exactly one"):
            SelfServiceAnswer.model_validate(bad)


def test_shipped_answers_play_articles_and_fall_back_when_unpublished() -> None:
    plan = load_dialplan(ROOT / "dialplans")
    assert all(a.article for a in plan.selfservice)
    at = datetime(2026, 12, 3, 10, 0)
    runs = [simulate.dry_run(plan, "12345", at=at, digits=a + b) for a in "123456789" for b in "123456789"]
    plays = [s for run in runs for s in run.steps if getattr(s, "article", None)]
    assert plays and plays[0].text == plan.settings.prompts.selfservice_unavailable
