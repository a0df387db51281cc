"""Dispatch suggestion: the keyword fallback, the metrics, and the trained model on real data."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from asr_fakes import DATA_DIR, run_cli

from asr.dispatch import (
    DispatchSuggester,
    NgramClassifier,
    evaluate,
    load_topic_messages,
    load_typed_tickets,
    stratified_split,
)

TOPICS = DATA_DIR / "tipdm2020c" / "messages_labeled.csv"
TICKETS = DATA_DIR / "fuzhou12345" / "tickets.csv"
needs_data = pytest.mark.skipif(
    not (TOPICS.exists() and TICKETS.exists()), reason=f"real data not found under {DATA_DIR} (see its README)"
)


def test_keyword_prior_suggests_obvious_cases() -> None:
    suggester = DispatchSuggester.keywords_only()
    s = suggester.suggest("我要投诉小区物业乱收费")
    assert (s.topic, s.department, s.ticket_type, s.source) == ("城乡建设", "市住房和城乡建设局", "投诉", "keywords")
    s = suggester.suggest("请问公积金怎么办理提取？")
    assert (s.topic, s.ticket_type) == ("劳动和社会保障", "咨询")
    s = suggester.suggest("你好")
    assert s.topic is None and s.topic_confidence == 0.0
    assert s.ticket_type == "咨询" and s.type_confidence < 0.5  # the default, said weakly


def test_evaluate_counts_per_class() -> None:
    ev = evaluate(["a", "a", "b", "c"], ["a", "b", "b", None])
    assert ev.accuracy == 0.5
    by = {s.label: s for s in ev.classes}
    assert (by["a"].precision, by["a"].recall) == (1.0, 0.5)
    assert (by["b"].precision, by["b"].recall) == (0.5, 1.0)
    assert (by["c"].f1, by["c"].support) == (0.0, 1)
    assert ev.macro_f1 == pytest.approx((2 / 3 + 2 / 3 + 0) / 3)


def test_split_is_stratified_disjoint_and_repeatable() -> None:
    rows = [(f"t{i}", "x") for i in range(50)] + [(f"u{i}", "y") for i in range(10)] + [("lone", "z")]
    train, test = stratified_split(rows, seed=1)
    assert Counter(label for _, label in test) == {"x": 10, "y": 2}
    assert not set(train) & set(test) and len(train) + len(test) == len(rows)
    assert stratified_split(rows, seed=1) == (train, test)


def test_loaders_name_the_bad_line(tmp_path: Path) -> None:
    bad = tmp_path / "topics.csv"
    bad.write_text("城乡建设,路灯坏了\n只有标签\n", encoding="utf-8")
    with pytest.raises(ValueError, match=f"{bad}:2: expected `label,text`"):
        load_topic_messages(bad)
    tickets = tmp_path / "tickets.csv"
    tickets.write_text("id,标题\n1,x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="missing column"):
        load_typed_tickets(tickets)


def test_trained_on_a_file_the_suggester_uses_the_model(tmp_path: Path) -> None:
    topics = tmp_path / "topics.csv"
    lines = ["交通运输,公交车晚点太久"] * 3 + ["卫生计生,医院挂号排队太长"] * 3 + ["交通运输,地铁末班车太早"] * 2
    topics.write_text("\n".join(lines) + "\n", encoding="utf-8")
    suggester = DispatchSuggester.from_files(topics=topics)
    s = suggester.suggest("公交车又晚点了")
    assert (s.source, s.topic, s.department) == ("model", "交通运输", "市交通运输局")
    assert 0.5 < s.topic_confidence <= 1.0


@needs_data
def test_topic_model_beats_majority_and_keywords_on_held_out_messages() -> None:
    train, test = stratified_split(load_topic_messages(TOPICS))
    model = NgramClassifier().fit([t for t, _ in train], [label for _, label in train])
    truth = [label for _, label in test]
    ev = evaluate(truth, model.predict_many([t for t, _ in test]))
    majority = Counter(label for _, label in train).most_common(1)[0][0]
    base = evaluate(truth, [majority] * len(truth))
    keywords = DispatchSuggester.keywords_only()
    prior = evaluate(truth, [keywords.topics.predict(t)[0] for t, _ in test])
    assert ev.accuracy > 0.8 > prior.accuracy > base.accuracy
    assert min(s.f1 for s in ev.classes) > 0.6  # every department, not just the big ones


@needs_data
def test_ticket_type_model_beats_majority_where_it_matters() -> None:
    train, test = stratified_split(load_typed_tickets(TICKETS))
    assert {label for _, label in train} <= {"咨询", "求助", "投诉", "举报", "建议"}
    model = NgramClassifier().fit([t for t, _ in train], [label for _, label in train])
    truth = [label for _, label in test]
    ev = evaluate(truth, model.predict_many([t for t, _ in test]))
    base = evaluate(truth, ["投诉"] * len(truth))  # 82% of real tickets are complaints
    assert ev.accuracy >= base.accuracy
    assert ev.macro_f1 > 1.5 * base.macro_f1  # it also finds the consultations and suggestions
    by = {s.label: s for s in ev.classes}
    assert by["咨询"].recall > 0.3


@needs_data
def test_cli_suggest(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["suggest", "孩子所在的中学周末违规组织补课并收取费用", "--topics", str(TOPICS)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["topic"] == "教育文体" and data["source"] == "model"
    assert set(data) == {"topic", "department", "topic_confidence", "ticket_type", "type_confidence", "source"}


def test_suggestions_speak_the_dialplan_department_names() -> None:
    from hotline_merge.loader import load_dialplan

    plan = load_dialplan(Path(__file__).resolve().parents[2] / "dialplans")
    names = {d.name for d in plan.departments}
    suggester = DispatchSuggester.keywords_only().for_dialplan(plan)
    s = suggester.suggest("我要投诉小区物业乱收费")
    assert (s.topic, s.department) == ("城乡建设", "市住建局")
    assert suggester.suggest("我们单位拖欠工资").department == "市人社局"
    assert suggester.suggest("医院的医生态度很差").department is None  # 武威's dialplan has no 卫健委
    assert set(suggester.topic_departments.values()) <= names
