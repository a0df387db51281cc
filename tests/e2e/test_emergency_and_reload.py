"""Issue 4 item 3 and issue 3 item 5 through the real PBX.

Emergency: a caller says an emergency word at the main menu; the engine transfers at once and
Asterisk dials the emergency gateway for that number (a SIPp UAS on the gateway's contact).
Hot reload: a new line added to the running dialplan answers after `reload_dialplan()`; an
invalid file is refused and leaves routing untouched.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.e2e.test_ivr_calls import prompt_ms
from tests.support.audio import rtp_pcap

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "asr"))
from asr_fakes import korean_model_path, silence, synthesize  # noqa: E402

pytestmark = pytest.mark.pbx
KOREAN_EMERGENCY = "병원 예약"  # test-only word for 120: the Korean model cannot hear Chinese


async def test_an_emergency_word_transfers_the_caller_to_the_emergency_number(engine, ami_watch, sipp, tmp_path):
    if engine.speech is None or not engine.speech.available:
        pytest.skip("speech is off for this session")
    korean = engine.speech.pool.info.path == korean_model_path()
    original = engine.dialplan.current
    plan, phrase, lang = original, "救护车", "zh"
    if korean:
        data = original.model_dump()
        for emergency in data["emergencies"]:
            if emergency["number"] == "120":
                emergency["words"].append(KOREAN_EMERGENCY)
        plan, phrase, lang = type(original).model_validate(data), KOREAN_EMERGENCY, "ko"

    lead = prompt_ms(engine, "menu.main") / 1000 + 2.0
    pcap = tmp_path / "emergency.pcap"
    pcap.write_bytes(rtp_pcap(silence(lead) + synthesize(phrase, lang) + silence(2.0)))
    gateway_port = int(engine.settings.pbx.emergency_contact.rsplit(":", 1)[1])
    gateway = await sipp.uas(gateway_port, calls=1, hold_ms=120_000)  # the caller hangs up first
    engine.dialplan.current = plan
    try:
        mark = ami_watch.mark()
        hold = int((lead + 12) * 1000)
        result = await sipp.call("12345", steps=[("audio", pcap), ("pause", hold)], timeout_s=hold // 1000 + 30)
        assert result.failed == 0, result.stderr[-1500:]
        dial = (await ami_watch.wait_for("DialBegin", since=mark, timeout=30))[0]
    finally:
        engine.dialplan.current = original
        answered = await gateway.stop()
    assert dial["DialString"] == "120@emergency"
    assert answered.successful == 1  # the gateway (SIPp) really took the transferred call
    channel = dial["Channel"]
    variables = {e["Variable"]: e["Value"] for e in ami_watch.since(mark, "VarSet", Channel=channel)}
    assert variables["IVR_ROUTE"] == "emergency"
    assert variables["IVR_TARGET"] == "120"
    assert not ami_watch.since(mark, "QueueCallerJoin", Channel=channel)  # no menu, no queue: at once
    assert engine.calls.stats.emergencies >= 1


NEW_LINE = """
lines:
  - {number: "88880099", name: 测试热加载热线, department: 市民政局, mode: merged}
"""


async def test_a_changed_dialplan_is_hot_reloaded_and_an_invalid_one_is_refused(engine, ami_watch, sipp):
    folder = engine.dialplan.path
    added = folder / "95-hot-reload.yaml"
    version = engine.dialplan.version
    try:
        added.write_text(NEW_LINE, encoding="utf-8")
        assert await engine.reload_dialplan()
        assert engine.dialplan.version == version + 1
        mark = ami_watch.mark()
        result = await sipp.call("88880099", steps=[("pause", 4000)])
        assert result.failed == 0, result.stderr[-1500:]
        join = (await ami_watch.wait_for("QueueCallerJoin", since=mark, timeout=20))[0]
        assert join["Queue"] == "hotline-general"

        broken = engine.dialplan.current
        added.write_text(NEW_LINE.replace("mode: merged", "mode: sideways"), encoding="utf-8")
        assert not await engine.reload_dialplan()
        assert engine.dialplan.current is broken  # the running plan is untouched
        mark = ami_watch.mark()
        result = await sipp.call("88880099", steps=[("pause", 4000)])
        assert result.failed == 0
        await ami_watch.wait_for("QueueCallerJoin", since=mark, timeout=20, Queue="hotline-general")
    finally:
        added.unlink(missing_ok=True)
        await engine.reload_dialplan()
