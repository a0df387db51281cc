"""What a caller meets in the flow: silence, speech off, a shared number's service chosen."""

from __future__ import annotations

from hotline_merge.flow import CallFlow, Collect, DigitsEntered, Finish, NoInput, Play, Played, Step
from hotline_merge.models import Dialplan
from hotline_merge.prompts import prompt_catalog
from hotline_merge.simulate import dry_run
from tests.hotline_merge.conftest import NOON


def _drain(flow: CallFlow, step: Step, heard: list[str]) -> Step:
    while isinstance(step, Play):
        heard.append(step.prompt_id)
        step = flow.feed(Played())
    return step


def test_a_silent_caller_hears_the_menu_once_a_short_reprompt_then_an_agent(wuwei: Dialplan) -> None:
    flow = CallFlow(wuwei, "12348", NOON)
    heard: list[str] = []
    step = _drain(flow, flow.start(), heard)
    collects = []
    while not isinstance(step, Finish):
        assert isinstance(step, Collect)
        collects.append(step.prompt_id)
        step = _drain(flow, flow.feed(NoInput()), heard)
    assert collects == ["menu.legal-12348", "prompt.timeout"]
    assert step.decision.route == "agent-after-silence"
    assert step.decision.action == "queue" and step.decision.queue == "legal-12348"
    assert heard[-1] == "transfer.agent"


def test_a_key_after_the_reprompt_still_chooses_from_the_menu(wuwei: Dialplan) -> None:
    silent_then_agent = dry_run(wuwei, "12345", at=NOON, digits="").decision
    assert silent_then_agent.route == "agent-after-silence"
    flow = CallFlow(wuwei, "12345", NOON)
    step = _drain(flow, flow.start(), [])
    step = _drain(flow, flow.feed(NoInput()), [])
    assert isinstance(step, Collect) and step.prompt_id == "prompt.timeout"
    step = _drain(flow, flow.feed(DigitsEntered("2")), [])  # 社保医保公积金 -> its sub-menu
    assert isinstance(step, Collect) and step.prompt_id.startswith("menu.")
    step = _drain(flow, flow.feed(DigitsEntered("1")), [])
    assert isinstance(step, Finish) and step.decision.queue == "hrss-12333"


def test_with_speech_off_the_greeting_does_not_invite_callers_to_speak(wuwei: Dialplan) -> None:
    spoken = CallFlow(wuwei, "12345", NOON).start()
    keypad = CallFlow(wuwei, "12345", NOON, speech=False).start()
    assert isinstance(spoken, Collect) and isinstance(keypad, Collect)
    assert "说" in spoken.text and spoken.speech
    assert "说" not in keypad.text and not keypad.speech
    assert keypad.text in spoken.text  # the same menu, keys unchanged
    assert prompt_catalog(wuwei)[keypad.prompt_id] == keypad.text  # rendered ahead of calls


def test_choosing_a_service_on_2253337_says_the_call_is_put_through(wuwei: Dialplan) -> None:
    d = dry_run(wuwei, "2253337", at=NOON, digits="2").decision
    assert d.action == "queue" and d.route == "merged"
    assert d.prompts[-1] == wuwei.settings.prompts.agent == "正在为您转接人工服务，请稍候。"
