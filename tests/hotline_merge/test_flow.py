"""The call-flow state machine, step by step (no PBX, no clock)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from hotline_merge.exceptions import IllegalFlowEvent, NoSuchLine
from hotline_merge.flow import (
    CallFlow,
    Collect,
    DigitsEntered,
    Finish,
    NoInput,
    Play,
    Played,
    SpeechHeard,
    Step,
)
from hotline_merge.loader import load_dialplan
from hotline_merge.models import Dialplan
from hotline_merge.simulate import dry_run
from tests.hotline_merge.conftest import NIGHT, NOON

Writer = Callable[..., Path]


def drain(flow: CallFlow, step: Step) -> Step:
    """Acknowledge Plays until the flow waits for input or finishes."""
    while isinstance(step, Play):
        step = flow.feed(Played())
    return step


def test_main_line_opens_with_its_menu(small: Dialplan) -> None:
    step = CallFlow(small, "12345", NOON).start()
    assert isinstance(step, Collect)
    assert (step.prompt_id, step.max_digits, step.speech) == ("menu.main", 1, True)
    assert step.text == small.menus[0].prompt


@pytest.mark.parametrize("keys", ["0", "30", "320"])
def test_zero_is_an_agent_from_any_menu(small: Dialplan, keys: str) -> None:
    d = dry_run(small, "12345", at=NOON, digits=keys).decision
    assert (d.action, d.queue, d.route) == ("queue", "general", "agent")
    assert d.prompts[-1] == small.settings.prompts.agent


def test_star_repeats_the_menu(small: Dialplan) -> None:
    flow = CallFlow(small, "12345", NOON)
    first = flow.start()
    again = flow.feed(DigitsEntered("*"))
    assert isinstance(again, Collect) and again == first


def test_hash_goes_back_to_the_previous_menu(small: Dialplan) -> None:
    flow = CallFlow(small, "12345", NOON)
    flow.start()
    sub = flow.feed(DigitsEntered("3"))
    assert isinstance(sub, Collect) and sub.prompt_id == "menu.more"
    back = flow.feed(DigitsEntered("#"))
    assert isinstance(back, Collect) and back.prompt_id == "menu.main"
    # And from there the main menu's options work again.
    assert drain(flow, flow.feed(DigitsEntered("1"))).decision.queue == "hrss"  # type: ignore[union-attr]


def test_invalid_key_plays_the_invalid_prompt_and_asks_again(small: Dialplan) -> None:
    flow = CallFlow(small, "12345", NOON)
    flow.start()
    flow.feed(DigitsEntered("3"))
    step = flow.feed(DigitsEntered("8"))
    assert isinstance(step, Play) and (step.prompt_id, step.text) == ("menu.more.invalid", "按键有误。")
    step = flow.feed(Played())
    assert isinstance(step, Collect) and step.prompt_id == "menu.more"


def test_timeouts_and_wrong_keys_end_with_an_agent_after_retries(small: Dialplan) -> None:
    retries = small.menus[0].retries
    flow = CallFlow(small, "12345", NOON)
    step = flow.start()
    collects = 0
    for n in range(retries + 1):
        assert isinstance(step, Collect)
        collects += 1
        step = drain(flow, flow.feed(NoInput() if n % 2 else DigitsEntered("8")))
    assert isinstance(step, Finish)
    assert collects == retries + 1
    assert (step.decision.action, step.decision.queue, step.decision.route) == (
        "queue",
        "general",
        "agent-after-retries",
    )


def test_speech_routes_by_department(small: Dialplan) -> None:
    flow = CallFlow(small, "12345", NOON)
    flow.start()
    step = drain(flow, flow.feed(SpeechHeard("department", "市人社局", None, 0.9, "我问社保", "hrss")))
    assert isinstance(step, Finish)
    assert (step.decision.department, step.decision.queue, step.decision.route) == (
        "市人社局",
        "hrss",
        "parallel",
    )


def test_unknown_speech_is_asked_again_once_then_an_agent_takes_it(small: Dialplan) -> None:
    flow = CallFlow(small, "12345", NOON)
    flow.start()
    step = flow.feed(SpeechHeard("unknown", text="嗯"))
    assert isinstance(step, Collect) and step.prompt_id == "prompt.reask" and step.speech
    step = drain(flow, flow.feed(SpeechHeard("unknown", text="那个那个")))
    assert isinstance(step, Finish)
    assert (step.decision.route, step.decision.queue) == ("agent-after-reask", "general")


def test_keys_still_work_after_the_reask(small: Dialplan) -> None:
    flow = CallFlow(small, "12345", NOON)
    flow.start()
    flow.feed(SpeechHeard("unknown", text="嗯"))
    step = drain(flow, flow.feed(DigitsEntered("0")))
    assert isinstance(step, Finish) and step.decision.route == "agent"


def _heard_halfway(department: str = "市人社局") -> SpeechHeard:
    return SpeechHeard("department", department, None, 0.4, "我那个失业的钱的事", "department:" + department,
                       confirm=True)


def test_middling_speech_is_confirmed_by_key_1_before_routing(small: Dialplan) -> None:
    flow = CallFlow(small, "12345", NOON)
    flow.start()
    ask = flow.feed(_heard_halfway())
    assert isinstance(ask, Collect) and ask.prompt_id.startswith("confirm.") and not ask.speech
    assert ask.text == "您要反映的是市人社局方面的问题吗？是请按1，不是请按2。"
    step = drain(flow, flow.feed(DigitsEntered("1")))
    assert isinstance(step, Finish) and step.decision.department == "市人社局"
    assert step.decision.queue == "hrss"


@pytest.mark.parametrize("answer", [DigitsEntered("2"), NoInput()])
def test_a_no_to_the_confirmation_reasks_once_then_agent(small: Dialplan, answer) -> None:
    flow = CallFlow(small, "12345", NOON)
    flow.start()
    flow.feed(_heard_halfway())
    again = flow.feed(answer)
    assert isinstance(again, Collect) and again.prompt_id == "prompt.reask"
    flow.feed(_heard_halfway())  # asked back a second time: still half sure
    step = drain(flow, flow.feed(DigitsEntered("2")))
    assert isinstance(step, Finish) and step.decision.route == "agent-after-reask"


@pytest.mark.parametrize("where", ["", "3"])
def test_emergency_speech_transfers_before_any_routing(small: Dialplan, where: str) -> None:
    flow = CallFlow(small, "12345", NOON)
    flow.start()
    for key in where:
        flow.feed(DigitsEntered(key))
    step = drain(flow, flow.feed(SpeechHeard("emergency", None, "119", 0.99, "着火了")))
    assert isinstance(step, Finish)
    d = step.decision
    assert (d.action, d.target, d.queue) == ("emergency", "119", None)
    assert "119" in d.prompts[-1]


def test_not_accepted_is_explained_then_an_agent_is_offered(small: Dialplan) -> None:
    flow = CallFlow(small, "12345", NOON)
    flow.start()
    step = flow.feed(SpeechHeard("not_accepted", None, "请向法院起诉。", 0.9, "我要起诉", "诉讼"))
    assert isinstance(step, Play) and step.prompt_id == "not_accepted.litigation"
    assert "诉讼事项不受理。" in step.text and "请向法院起诉。" in step.text
    offer = flow.feed(Played())
    assert isinstance(offer, Collect) and offer.text == small.settings.prompts.explain_offer
    # Silence: the call ends explained; the decision carries the explanation.
    done = flow.feed(NoInput())
    assert isinstance(done, Finish)
    assert (done.decision.action, done.decision.target, done.decision.ticket_type) == (
        "explain",
        "litigation",
        "not_accepted",
    )
    assert any("诉讼事项不受理。" in p for p in done.decision.prompts)


def test_not_accepted_then_zero_reaches_an_agent(small: Dialplan) -> None:
    flow = CallFlow(small, "12345", NOON)
    flow.start()
    drain(flow, flow.feed(SpeechHeard("not_accepted", name="诉讼")))
    d = drain(flow, flow.feed(DigitsEntered("0"))).decision  # type: ignore[union-attr]
    assert (d.action, d.queue, d.route) == ("queue", "general", "not-accepted-agent")


def test_selfservice_plays_the_answer_then_offers_an_agent(small: Dialplan) -> None:
    served = dry_run(small, "12345", at=NOON, digits="31")
    d = served.decision
    assert (d.action, d.selfservice_answer, d.queue) == ("selfservice", "answer", None)
    assert d.prompts[-2:] == ("这是自助答案。", small.settings.prompts.selfservice_offer)
    agent = dry_run(small, "12345", at=NOON, digits="310").decision
    assert (agent.action, agent.queue, agent.route) == ("queue", "general", "selfservice-agent")
    replay = dry_run(small, "12345", at=NOON, digits="31*").decision
    assert replay.prompts.count("这是自助答案。") == 2


def test_consultation_intent_with_an_answer_goes_to_selfservice(small: Dialplan) -> None:
    flow = CallFlow(small, "12345", NOON)
    flow.start()
    step = flow.feed(SpeechHeard("department", "市人社局", None, 0.9, "提取条件", "fund"))
    assert isinstance(step, Play) and step.prompt_id == "selfservice.answer"


def test_progress_collects_a_ticket_number(small: Dialplan) -> None:
    flow = CallFlow(small, "12345", NOON)
    flow.start()
    flow.feed(DigitsEntered("3"))
    step = flow.feed(DigitsEntered("2"))
    assert isinstance(step, Collect) and step.prompt_id == "prompt.progress_entry" and step.max_digits > 10
    done = flow.feed(DigitsEntered("2026112300017#"))
    assert isinstance(done, Finish)
    assert (done.decision.action, done.decision.route, done.decision.ticket_number) == (
        "selfservice",
        "progress",
        "2026112300017",
    )


def test_merged_line_skips_the_menu_with_department_preselected(small: Dialplan) -> None:
    flow = CallFlow(small, "12349", NOON)
    step = flow.start()
    assert isinstance(step, Play) and step.prompt_id == "line.12349.transition"
    assert step.text == "您拨打的养老服务热线已并入12345。"  # {name} filled in
    done = flow.feed(Played())
    assert isinstance(done, Finish)
    assert (done.decision.queue, done.decision.department, done.decision.mode) == (
        "general",
        "市民政局",
        "merged",
    )


def test_transition_announcement_stops_after_its_end_date(small: Dialplan) -> None:
    last_day = dt.datetime(2026, 12, 31, 23, 59, tzinfo=NOON.tzinfo)
    assert dry_run(small, "12349", at=last_day).decision.prompts
    next_day = dt.datetime(2027, 1, 1, 0, 1, tzinfo=NOON.tzinfo)
    assert dry_run(small, "12349", at=next_day).decision.prompts == ()


def test_at_is_read_in_asia_shanghai(small: Dialplan) -> None:
    # 2026-12-31T16:30Z is already 2027-01-01 in Shanghai: the transition is over.
    utc = dt.datetime(2026, 12, 31, 16, 30, tzinfo=dt.UTC)
    assert dry_run(small, "12349", at=utc).decision.prompts == ()


def test_subcenter_handoff_by_trunk_carries_the_ticket_variable(write_yaml: Writer, small_text: str) -> None:
    text = small_text.replace(
        "handoff: {queue: tax}", "handoff: {trunk: PJSIP/12366@tax-trunk, ticket_variable: HOTLINE_TICKET}"
    )
    plan = load_dialplan(write_yaml(text))
    d = dry_run(plan, "12345", at=NOON, digits="2").decision
    assert (d.action, d.target, d.queue, d.ticket_variable) == (
        "transfer",
        "PJSIP/12366@tax-trunk",
        None,
        "HOTLINE_TICKET",
    )
    # Its own number still goes to its own seats.
    own = dry_run(plan, "12366", at=NOON).decision
    assert (own.action, own.queue) == ("queue", "tax")


def _seven_by_twelve(small_text: str, holidays: str = "open") -> str:
    return small_text.replace("    menu: main\n", "    menu: main\n    hours: day\n", 1).replace(
        '    open: ["08:00-20:00"]\n', f'    open: ["08:00-20:00"]\n    holidays: {holidays}\n'
    )


def test_after_hours_on_a_7x12_line_is_voicemail(write_yaml: Writer, small_text: str) -> None:
    plan = load_dialplan(write_yaml(_seven_by_twelve(small_text)))
    night = dry_run(plan, "12345", at=NIGHT).decision
    assert (night.action, night.queue, night.prompts) == ("voicemail", None, ("现在是非工作时间，请留言。",))
    day = CallFlow(plan, "12345", NOON).start()
    assert isinstance(day, Collect) and day.prompt_id == "menu.main"
    # 20:00 is closed (the range ends there), 19:59 is open.
    evening = NOON.replace(hour=20, minute=0)
    assert dry_run(plan, "12345", at=evening).decision.action == "voicemail"
    assert isinstance(CallFlow(plan, "12345", evening.replace(hour=19, minute=59)).start(), Collect)


def test_holiday_closes_a_profile_that_says_so(write_yaml: Writer, small_text: str) -> None:
    text = (
        _seven_by_twelve(small_text, holidays="closed")
        + "holidays:\n  - {date: 2026-10-01, until: 2026-10-07, name: 国庆}\n"
    )
    plan = load_dialplan(write_yaml(text))
    national_day = dt.datetime(2026, 10, 3, 10, 0, tzinfo=NOON.tzinfo)
    assert dry_run(plan, "12345", at=national_day).decision.action == "voicemail"
    assert isinstance(CallFlow(plan, "12345", national_day.replace(day=8)).start(), Collect)


def test_shipped_7x12_profile_is_voicemail_at_night(wuwei: Dialplan) -> None:
    profile = next(h for h in wuwei.hours if h.id == "7x12")
    assert not profile.always_open and profile.after_hours == "voicemail"


def test_parallel_line_short_menu(small: Dialplan) -> None:
    expert = dry_run(small, "12333", at=NOON, digits="1").decision
    assert (expert.queue, expert.route, expert.mode) == ("hrss-expert", "expert", "parallel")
    agent = dry_run(small, "12333", at=NOON, digits="0").decision
    assert agent.queue == "hrss"


def test_shared_number_asks_which_service(wuwei: Dialplan) -> None:
    flow = CallFlow(wuwei, "2253337", NIGHT)
    step = drain(flow, flow.start())
    assert isinstance(step, Collect) and step.prompt_id == "menu.finance-2253337"
    step = drain(flow, flow.feed(DigitsEntered("3")))
    assert isinstance(step, Finish)
    assert step.decision.line_name == "市财政局财政和国有资产群众咨询服务电话"
    assert flow.line.id == "finance-assets"


def test_unknown_number_is_a_domain_error(small: Dialplan) -> None:
    with pytest.raises(NoSuchLine) as info:
        CallFlow(small, "99999", NOON)
    assert info.value.error_id == "no-such-line"


def test_illegal_events_are_refused(small: Dialplan) -> None:
    flow = CallFlow(small, "12349", NOON)
    with pytest.raises(IllegalFlowEvent):
        flow.feed(Played())
    flow.start()
    with pytest.raises(IllegalFlowEvent):
        flow.feed(DigitsEntered("1"))  # still playing the announcement
    flow.feed(Played())
    with pytest.raises(IllegalFlowEvent):
        flow.feed(NoInput())  # finished
    with pytest.raises(IllegalFlowEvent):
        flow.start()


def test_same_inputs_same_decision(small: Dialplan) -> None:
    # No hidden clock or randomness: two runs with the same `at` and keys agree exactly.
    runs = [dry_run(small, "12345", at=NOON, digits="38*0") for _ in range(2)]
    assert runs[0].decision == runs[1].decision and runs[0].steps == runs[1].steps
