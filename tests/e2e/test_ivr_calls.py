"""Issue 4 through the real PBX: SIPp callers key RFC 2833 digits; AMI shows what Asterisk did.

The live decision is compared with a dry run of the same CallFlow (what `hotline route`
prints), so the two code paths cannot drift apart.
"""

from __future__ import annotations

import asyncio
import wave
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from hotline_merge import simulate
from ivr.prompts import file_stem
from tests.support.audio import rtp_pcap, speech_pcm

pytestmark = pytest.mark.pbx
TZ = ZoneInfo("Asia/Shanghai")


def dry_run(plan, dnis: str, digits: str, at: datetime | None = None):
    return simulate.dry_run(plan, dnis, at=at or datetime.now(TZ), digits=digits).decision


def _keys(digits: str, hold_ms: int = 8000) -> list[tuple[str, object]]:
    steps: list[tuple[str, object]] = [("pause", 1200)]
    for d in digits:
        steps += [("dtmf", d), ("pause", 700)]
    return steps + [("pause", hold_ms)]


def prompt_ms(engine, prompt_id: str) -> int:
    """How long a rendered prompt plays, so a silent caller stays on the line until it ends."""
    with wave.open(str(engine.prompts.host_dir / f"{file_stem(prompt_id)}.wav")) as w:
        return int(1000 * w.getnframes() / w.getframerate())


async def _one_call(sipp, ami_watch, number: str, digits: str, hold_ms: int = 8000, **kw):
    mark = ami_watch.mark()
    result = await sipp.call(number, steps=_keys(digits, hold_ms), **kw)
    assert result.failed == 0, result.stderr[-1500:]
    return mark, result


async def ticket_of_call(engine, uniqueid: str):
    from tickets import repository
    from tickets.views import TicketView

    async with engine.tickets.sessionmaker() as session:
        row = await repository.get_by_call_id(session, uniqueid)
        return None if row is None else TicketView.of(row)


def _vars(ami_watch, mark: int, channel: str) -> dict[str, str]:
    return {e["Variable"]: e["Value"] for e in ami_watch.since(mark, "VarSet", Channel=channel)}


@pytest.mark.parametrize(
    ("number", "digits"),
    [
        ("12345", "21"),  # 社保医保公积金 -> 人社: the parallel line's shared queue
        ("12345", "31"),  # 交通城管环境供热 -> 交通 (parallel 12328)
        ("12345", "42"),  # other departments -> 税务: handed to the sub-center's queue
        ("12348", "2"),  # parallel line -> expert seats
        ("2253337", "2"),  # shared number -> the procurement service (merged: 12345 seats)
        ("12366", ""),  # sub-center's own number -> its own queue
    ],
)
async def test_digits_reach_the_queue_the_dry_run_predicts(engine, ami_watch, sipp, number, digits):
    expected = dry_run(engine.dialplan.current, number, digits)
    assert expected.action == "queue"
    mark, _ = await _one_call(sipp, ami_watch, number, digits)
    join = (await ami_watch.wait_for("QueueCallerJoin", since=mark, timeout=20))[0]
    assert join["Queue"] == expected.queue
    v = _vars(ami_watch, mark, join["Channel"])
    assert v["IVR_ROUTE"] == expected.route
    assert v["IVR_DEPARTMENT"] == (expected.department or "")
    assert v["IVR_QUEUE"] == expected.queue
    ticket = await engine.tickets.get_by_number(v["TICKET_ID"])
    assert ticket.line_number == number


async def test_merged_number_announces_the_move_and_preselects_its_department(engine, ami_watch, sipp):
    mark, _ = await _one_call(sipp, ami_watch, "12349", "",
                              hold_ms=prompt_ms(engine, "line.12349.transition") + 6000)
    join = (await ami_watch.wait_for("QueueCallerJoin", since=mark, timeout=20))[0]
    played = [e["Command"] for e in ami_watch.since(mark, "AGIExecStart", Channel=join["Channel"])]
    assert any("line_12349_transition" in c for c in played)
    assert not any("menu_main" in c for c in played)  # the top menu is skipped
    v = _vars(ami_watch, mark, join["Channel"])
    assert join["Queue"] == "hotline-general"
    assert v["IVR_DEPARTMENT"] == "市民政局"
    assert v["IVR_ROUTE"] == "merged"


async def test_invalid_keys_are_retried_then_an_agent_takes_the_call(engine, ami_watch, sipp):
    mark, _ = await _one_call(sipp, ami_watch, "12345", "888", timeout_s=60)
    join = (await ami_watch.wait_for("QueueCallerJoin", since=mark, timeout=30))[0]
    played = [e["Command"] for e in ami_watch.since(mark, "AGIExecStart", Channel=join["Channel"])]
    assert sum("menu_main_invalid" in c for c in played) == 2  # retries: 2, then an agent
    assert _vars(ami_watch, mark, join["Channel"])["IVR_ROUTE"] == "agent-after-retries"
    assert join["Queue"] == "hotline-general"


async def test_hangup_in_the_menu_ends_cleanly_and_marks_the_ticket_abandoned(engine, ami_watch, sipp):
    failed_before = engine.agi.failed
    mark = ami_watch.mark()
    result = await sipp.call("12345", steps=[("pause", 1500)])
    assert result.failed == 0
    hangup = (await ami_watch.wait_for("Hangup", since=mark, timeout=20))[0]
    await ami_watch.wait_for("AGIExecEnd", since=mark, timeout=10, Channel=hangup["Channel"])
    await asyncio.sleep(0.5)
    assert engine.agi.failed == failed_before  # no traceback, no protocol error
    assert not ami_watch.since(mark, "QueueCallerJoin", Channel=hangup["Channel"])
    ticket = await ticket_of_call(engine, hangup["Uniqueid"])
    assert ticket is not None and ticket.status == "abandoned"


async def test_after_hours_the_caller_leaves_a_voice_message_that_becomes_a_ticket(engine, ami_watch, sipp, tmp_path):
    night = datetime(2026, 11, 24, 3, 0, tzinfo=TZ)
    expected = dry_run(engine.dialplan.current, "88880712", "", at=night)
    assert expected.action == "voicemail"
    engine.calls.clock = lambda: night
    try:
        mark = ami_watch.mark()
        # Silence through the after-hours message, then the caller speaks for a few seconds.
        lead = prompt_ms(engine, "hours.7x12.after_hours") / 1000 + 1.5
        message = tmp_path / "message.pcap"
        message.write_bytes(rtp_pcap(b"\0" * int(lead * 16000) + speech_pcm("我家楼下的路灯坏了三天了，请尽快修理。")))
        hold = int(lead * 1000) + 15_000
        result = await sipp.call("88880712", steps=[("audio", message), ("pause", hold)],
                                 timeout_s=hold // 1000 + 60)
        assert result.failed == 0, result.stderr[-1500:]
    finally:
        engine.calls.clock = lambda: datetime.now(TZ)
    newch = (await ami_watch.wait_for("Newchannel", since=mark, timeout=10))[0]
    await ami_watch.wait_for("AGIExecEnd", since=mark, timeout=20, Channel=newch["Channel"],
                             where=lambda e: e.get("Command", "").startswith("RECORD FILE"))
    await asyncio.sleep(0.5)
    found = await ticket_of_call(engine, newch["Uniqueid"])
    assert found is not None
    ticket = await engine.tickets.get(found.id)
    assert len(ticket.recordings) == 1
    with wave.open(ticket.recordings[0]) as w:  # the caller's words, not an empty file
        assert w.getnframes() / w.getframerate() > 1.0
    assert not ami_watch.since(mark, "QueueCallerJoin", Channel=newch["Channel"])  # 7x24 lines never do this


async def test_a_failing_database_still_leaves_the_caller_in_a_queue(engine, ami_watch, sipp, monkeypatch):
    async def broken(**_kw):
        raise OSError("database is gone")

    monkeypatch.setattr(engine.tickets, "open_from_call", broken)
    mark, _ = await _one_call(sipp, ami_watch, "12345", "0", hold_ms=prompt_ms(engine, "pbx.hold") + 8000)
    join = (await ami_watch.wait_for("QueueCallerJoin", since=mark, timeout=20))[0]
    assert join["Queue"] == "hotline-general"  # the line's compiled fallback queue
    assert _vars(ami_watch, mark, join["Channel"])["IVR_ROUTE"] == "fallback:no-decision"


async def test_engine_restart_mid_call_leaves_the_caller_in_the_fallback_queue(engine, ami_watch, sipp):
    mark = ami_watch.mark()
    call = asyncio.create_task(sipp.call("12345", steps=[("pause", 6000 + prompt_ms(engine, "pbx.hold"))]))
    await ami_watch.wait_for("AGIExecStart", since=mark, timeout=15,
                             where=lambda e: "menu_main" in e.get("Command", ""))
    await engine.stop_agi(grace=0)  # the engine dies mid-menu
    try:
        join = (await ami_watch.wait_for("QueueCallerJoin", since=mark, timeout=20))[0]
        assert _vars(ami_watch, mark, join["Channel"])["IVR_ROUTE"].startswith("fallback:")
    finally:
        await engine.start_agi()
        await call


async def test_two_hundred_concurrent_calls_through_menus_without_a_failure(engine, ami_watch, sipp):
    mark = ami_watch.mark()
    # 10 new calls a second, each on the line ~28 s: all 200 are up at once after 20 s.
    result = await sipp.call("12345", steps=_keys("21", hold_ms=20_000), calls=200, rate=10, limit=200,
                             timeout_s=240)
    assert result.failed == 0 and result.successful == 200, result.stderr[-2000:]
    joins = await ami_watch.wait_for("QueueCallerJoin", since=mark, count=200, timeout=60)
    routes = {e["Channel"]: e["Value"] for e in ami_watch.since(mark, "VarSet", Variable="IVR_ROUTE")}
    assert sum(routes.get(j["Channel"]) == "parallel" for j in joins) == 200
