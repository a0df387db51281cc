"""The intent matcher on Chinese text: homophone slips, priorities, thresholds, the CLI."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from asr import cli as asr_cli
from asr.intent import (
    IntentMatcher,
    IntentSpec,
    align_score,
    default_matcher,
    matcher_from_dialplan,
    sound_units,
)


def main(argv: list[str]) -> int:
    """`hotline` with only asr's commands (the other packages are not needed here)."""
    import argparse

    parser = argparse.ArgumentParser(prog="hotline")
    parser.add_argument("--config")
    asr_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


@pytest.fixture(scope="module")
def matcher() -> IntentMatcher:
    return default_matcher(0.6)


@pytest.mark.parametrize(
    ("text", "department", "matched"),
    [
        ("我想问一下社宝怎么交", "市人社局", "社保"),  # 宝 for 保: same sound, wrong character
        ("公基金怎么提取", "市住房公积金中心", "公积金"),  # 基 for 积
        ("社保怎么查询", "市人社局", "社保"),
        ("我想提取住房公积金", "市住房公积金中心", "住房公积金"),  # the longer phrase wins
        ("我们小区又停水了", "市自来水公司", "停水"),
        ("隔壁工地晚上噪音太大", "市生态环境局", "噪音"),
    ],
)
def test_department_intents_survive_homophone_slips(
    matcher: IntentMatcher, text: str, department: str, matched: str
) -> None:
    result = matcher.match(text)
    assert (result.kind, result.department, result.matched) == ("department", department, matched)
    assert result.confidence >= 0.9


def test_literal_hit_scores_above_sound_only_hit(matcher: IntentMatcher) -> None:
    assert matcher.match("社保").confidence == 1.0
    assert 0.6 <= matcher.match("社宝").confidence < 1.0


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("我家着火了快来人", "119"),
        ("楼下起火了", "119"),
        ("有人抢劫", "110"),
        ("我爸晕倒了", "120"),
        ("路口发生车祸", "122"),
        ("交通事故有人受伤", "122"),  # both words appear; the first listed emergency that matches wins
    ],
)
def test_emergencies(matcher: IntentMatcher, text: str, target: str) -> None:
    result = matcher.match(text)
    assert result.kind == "emergency"
    assert result.target in {target, "120"} if "受伤" in text else result.target == target


def test_emergency_beats_a_department_in_the_same_sentence(matcher: IntentMatcher) -> None:
    result = matcher.match("我想问社保的事情，哎呀厨房着火了")
    assert (result.kind, result.target) == ("emergency", "119")


def test_negated_trigger_does_not_call_119(matcher: IntentMatcher) -> None:
    result = matcher.match("不是着火，我问社保")
    assert (result.kind, result.department) == ("department", "市人社局")


@pytest.mark.parametrize(
    ("text", "name", "target"),
    [("我要起诉我的邻居", "涉法涉诉", "12368"), ("我要找纪委举报贪污", "纪检监察", "12388")],
)
def test_not_accepted_matters_come_before_departments(
    matcher: IntentMatcher, text: str, name: str, target: str
) -> None:
    result = matcher.match(text)
    assert (result.kind, result.name, result.target) == ("not_accepted", name, target)


def test_agent_and_progress(matcher: IntentMatcher) -> None:
    assert matcher.match("帮我转人工").kind == "agent"
    assert matcher.match("查询一下我的工单进度").kind == "progress"


@pytest.mark.parametrize("text", ["今天天气怎么样", "设备坏了", "", "，。！", "你好你好"])
def test_below_threshold_is_unknown(matcher: IntentMatcher, text: str) -> None:
    result = matcher.match(text)
    assert result.kind == "unknown"
    assert result.department is None and result.matched is None
    assert result.confidence < 0.6


def test_threshold_is_the_boundary() -> None:
    spec = [IntentSpec("ss", ("社保",), department="市人社局")]
    loose = IntentMatcher(spec, [], [], threshold=0.5)
    strict = IntentMatcher(spec, [], [], threshold=0.99)
    assert loose.match("社宝").kind == "department"
    assert strict.match("社宝").kind == "unknown"
    with pytest.raises(ValueError, match="threshold"):
        IntentMatcher(spec, [], [], threshold=1.5)


def test_near_syllables_fold_but_dropped_syllables_cost() -> None:
    # zh/z and ang/an are classic slips; 天气 is not a slip of 天然气.
    assert align_score(sound_units("找房"), sound_units("我要找房子"))[0] == 1.0
    assert align_score(sound_units("长江"), sound_units("参见"))[0] == pytest.approx(0.8)
    assert align_score(sound_units("天然气"), sound_units("天气"))[0] < 0.6


def test_non_han_text_matches_by_character() -> None:
    matcher = IntentMatcher([IntentSpec("bus", ("버스 노선 문의",), department="교통")], [], [], 0.6)
    assert matcher.match("버스 노선 문의").department == "교통"
    assert matcher.match("병원 버스 요금").kind == "unknown"


def test_phrases_feed_a_grammar(matcher: IntentMatcher) -> None:
    phrases = matcher.phrases()
    assert "着火" in phrases and "社保" in phrases and "转人工" in phrases
    assert len(phrases) == len(set(phrases))


def _fake_dialplan() -> SimpleNamespace:
    # The attributes hotline_merge.models.Dialplan exposes (duck-typed, so this test does not
    # depend on the dialplan loader being finished).
    return SimpleNamespace(
        intents=[
            SimpleNamespace(name="tax", kind="department", department="市税务局", phrases=["个税", "发票"]),
            SimpleNamespace(name="where", kind="progress", department=None, phrases=["进展到哪了"]),
        ],
        departments=[SimpleNamespace(name="市人社局", aliases=["人社局", "社保局"])],
        emergencies=[SimpleNamespace(number="119", name="火警", words=["火灾"])],
        not_accepted=[
            SimpleNamespace(id="court", name="涉诉", words=["打官司"], channel="12368", explanation="去法院")
        ],
    )


def test_matcher_from_dialplan_uses_its_sections() -> None:
    matcher = matcher_from_dialplan(_fake_dialplan())
    assert matcher.match("我要开发票").department == "市税务局"
    assert matcher.match("社保局电话多少").department == "市人社局"  # department aliases are phrases
    assert matcher.match("我的事情进展到哪了").kind == "progress"
    assert matcher.match("转人工").kind == "agent"  # default agent phrases fill the gap
    assert matcher.match("发生火灾").target == "119"
    assert matcher.match("着火了").kind != "emergency"  # the dialplan's own list replaced the defaults
    assert (matcher.match("我想打官司").kind, matcher.match("我想打官司").target) == ("not_accepted", "12368")


def test_matcher_from_real_dialplan_model_when_available() -> None:
    models = pytest.importorskip("hotline_merge.models", reason="hotline_merge.models not written yet")
    dialplan = models.Dialplan(
        departments=[{"name": "市人社局", "aliases": ["社保局"]}],
        intents=[{"name": "fund", "department": "市住房公积金中心", "phrases": ["公积金"]}],
    )
    matcher = matcher_from_dialplan(dialplan)
    assert matcher.match("公基金").department == "市住房公积金中心"
    assert matcher.match("着火了").target == "119"  # no emergencies section: defaults stay


def test_cli_intent_json(capsys: pytest.CaptureFixture[str], tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "none"
    empty.mkdir()
    code = main(["intent", "公基金怎么提取", "--json", "--dialplan", str(tmp_path / "none")])
    out = capsys.readouterr()
    assert code == 1 and "no dialplan" in out.err  # an explicit path that holds nothing is an error

    monkeypatch.setenv("HOTLINE_DIALPLAN_PATH", str(empty))  # no dialplan there: shipped defaults
    assert main(["intent", "公基金怎么提取", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert main(["intent", "我家着火了", "--json"]) == 0
    fire = json.loads(capsys.readouterr().out)
    assert set(data) == {"intent", "department", "target", "confidence", "matched", "confirm", "source"}
    assert (data["intent"], data["department"], data["matched"]) == ("department", "市住房公积金中心", "公积金")
    assert (fire["intent"], fire["target"]) == ("emergency", "119")
