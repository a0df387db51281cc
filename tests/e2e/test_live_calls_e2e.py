"""Issue 18 through the real PBX: what a caller hears and gets on the paths that were broken.

SIPp callers (and SIPp agents / a SIPp citizen gateway) against the dev Asterisk; AMI events
and Asterisk's own log of every file it played are the oracle. A temporary log channel at
verbose level 3 records Asterisk's "<channel> Playing 'file' (language 'xx')" lines; every file
played to a caller must resolve outside Asterisk's English sound set.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hotline import pbx as pbx_mod
from hotline_merge.compiler import FIRST_ANNOUNCEMENT_S
from tests.e2e.test_ivr_calls import prompt_ms
from tests.e2e.test_queue_e2e import _port_of, _until
from tests.support.queues import hang_up_waiting_callers
from tests.support.sipp import free_udp_port

pytestmark = pytest.mark.pbx

QUEUE = "hotline-general"
# file.c (Playback, queue sounds, GET DATA) and res_agi.c (STREAM FILE, with its escape digits).
PLAYING = re.compile(r"<(?P<chan>[^>]+)> Playing '(?P<file>[^']+)'(?: \([^)]*\))* \(language '(?P<lang>[^']*)'\)")
SOUND_LOG = "sounds-e2e.log"
TZ = ZoneInfo("Asia/Shanghai")
NOON = datetime(2026, 11, 23, 12, 0, tzinfo=TZ)  # a Monday


@pytest.fixture(scope="module")
def played(pbx):
    """Asterisk's playback lines for this module's calls (log channel added for the module)."""
    layout = pbx_mod.layout_for(pbx)
    path = layout.host(f"{layout.log_dir}/{SOUND_LOG}")
    path.unlink(missing_ok=True)
    pbx_mod.rx(pbx, f"logger add channel {SOUND_LOG} verbose(3)")
    yield SoundLog(path, layout)
    pbx_mod.rx(pbx, f"logger remove channel {SOUND_LOG}")


class SoundLog:
    def __init__(self, path: Path, layout: pbx_mod.Layout) -> None:
        self.path, self.layout = path, layout
        self.checked: list[tuple[str, str, str]] = []

    def files(self, channel: str) -> list[tuple[str, str]]:
        text = self.path.read_text(errors="replace") if self.path.exists() else ""
        return [(m["file"], m["lang"]) for m in PLAYING.finditer(text) if m["chan"] == channel]

    def source(self, file: str, lang: str) -> str:
        """The sound set Asterisk takes `file` from (its lookup: language dir, then none, then en).

        The log names the format ('x.slin'), not the file's extension: any x.* counts."""
        name = file.rsplit(".", 1)[0]
        sounds = self.layout.host(f"{self.layout.data_dir}/sounds")

        def exists(base: Path) -> bool:
            return any(base.parent.glob(base.name + ".*"))

        if name.startswith("/"):
            path = self.layout.host(name)
            if not exists(path):
                return "missing"
            return "en" if sounds / "en" in path.parents else str(path.parent)
        for candidate, where in ((sounds / lang / name, lang), (sounds / name, "none"), (sounds / "en" / name, "en")):
            if lang and exists(candidate):
                return where
        return "missing"

    def assert_mandarin(self, channel: str) -> list[str]:
        files = self.files(channel)
        assert files, f"no playback of {channel} in {self.path}"
        english = [(f, lang) for f, lang in files if self.source(f, lang) in ("en", "missing")]
        assert not english, f"{channel} heard English (or missing) sounds: {english}"
        self.checked += [(channel, f, lang) for f, lang in files]
        return [f.rsplit(".", 1)[0] for f, _lang in files]


def _vars(ami_watch, mark: int, channel: str) -> dict[str, str]:
    return {e["Variable"]: e["Value"] for e in ami_watch.since(mark, "VarSet", Channel=channel)}


async def _agent(sipp, settings, name: str, ami_watch, **uas):
    passwords = json.loads(settings.pbx_secrets_file.read_text())["agents"]
    port = free_udp_port()
    mark = ami_watch.mark()
    reg = await sipp.register(port, user=name, password=passwords[name])
    assert (reg.successful, reg.failed) == (1, 0), reg.stderr[-1500:]
    run = await sipp.uas(port, name=f"uas-{name}", **uas)
    await ami_watch.wait_for("QueueMemberStatus", since=mark, timeout=15, Queue=QUEUE, MemberName=name, Status="1")

    async def leave() -> None:
        await run.stop()
        await sipp.register(port, user=name, password=passwords[name], expires=0)

    return run, leave


async def _reset_queue(engine, ami_watch) -> dict:
    """Earlier callers gone and settled; call-backs they are owed put aside (restored by caller)."""
    core = engine.queue_manager.core
    await hang_up_waiting_callers(ami_watch)
    await _until("earlier queue calls to settle", lambda: not core.board.waiting, timeout=30)
    stashed = {uid: r for uid, r in core.book.requests.items() if not r.in_progress}
    for uid in stashed:
        del core.book.requests[uid]
    return stashed


def _hold_ms(engine) -> int:
    return prompt_ms(engine, "menu.main") + prompt_ms(engine, "transfer.agent")


async def test_engine_down_the_pbx_answers_says_please_hold_and_an_agent_answers(
    engine, ami_watch, sipp, settings, played
):
    stashed = await _reset_queue(engine, ami_watch)
    layout = pbx_mod.layout_for(settings)
    dns_before = _resolver_errors(layout)
    await engine.stop_agi()
    run = leave = None
    try:
        run, leave = await _agent(sipp, settings, "agent01", ami_watch, calls=1, answer_after_ms=500,
                                  hold_ms=60_000, timeout_s=90)
        mark = ami_watch.mark()
        result = await sipp.call("12345", steps=[("pause", prompt_ms(engine, "pbx.hold") + 8000)],
                                 caller="13700000031", timeout_s=60, name="uac-engine-down")
        assert result.failed == 0 and result.successful == 1, result.stderr[-1500:]
        join = (await ami_watch.wait_for("QueueCallerJoin", since=mark, timeout=20))[0]
        channel = join["Channel"]
        assert join["Queue"] == QUEUE and join["ChannelStateDesc"] == "Up"  # answered before queueing
        assert _vars(ami_watch, mark, channel)["IVR_ROUTE"] == "fallback:engine-unreachable"
        connect = await ami_watch.wait_for("AgentConnect", since=mark, timeout=30, Channel=channel)
        assert connect[0]["MemberName"] == "agent01"
        answered = await run.wait(timeout=30)
        assert answered.successful == 1
    finally:
        if leave is not None:
            await leave()
        await engine.start_agi()
        engine.queue_manager.core.book.requests.update(stashed)
    assert "hotline/pbx_hold" in played.assert_mandarin(channel)
    # The chroot names its host: Asterisk resolved its own name without DNS for this call.
    assert _resolver_errors(layout) == dns_before


def _resolver_errors(layout: pbx_mod.Layout) -> int:
    text = layout.log_file.read_text(errors="replace") if layout.log_file.exists() else ""
    return sum("getaddrinfo" in line or "A.ROOT-SERVERS" in line for line in text.splitlines())


async def test_pressing_1_in_the_queue_books_a_call_back_that_keeps_the_place_and_is_placed(
    engine, ami_watch, sipp, settings, played
):
    core = engine.queue_manager.core
    stashed = await _reset_queue(engine, ami_watch)
    citizen = leave = None
    number = "13700000042"
    reached_before, placed_before = core.book.reached, core.book.placed
    try:
        mark = ami_watch.mark()
        # Nobody is logged in: the caller waits, hears the offer, presses 1, hears the confirmation
        # and the PBX hangs up.
        offer_heard = FIRST_ANNOUNCEMENT_S * 1000 + prompt_ms(engine, "queue.hold") + 1500
        steps = [("pause", 1500), ("dtmf", "0"), ("pause", prompt_ms(engine, "transfer.agent") + offer_heard),
                 ("dtmf", "1")]
        result = await sipp.call("12345", steps=steps, caller=number, timeout_s=80, hangup=False,
                                 name="uac-press-1")
        assert result.failed == 0 and result.successful == 1, result.stderr[-1500:]
        join = (await ami_watch.wait_for("QueueCallerJoin", since=mark, timeout=10, Queue=QUEUE))[0]
        channel, uid = join["Channel"], join["Uniqueid"]
        v = _vars(ami_watch, mark, channel)
        assert v["HOTLINE_CALLBACK_OK"] == "1" and v["HOTLINE_CALLBACK"] == "1"
        await _until("the call-back to be booked", lambda: uid in core.book.requests, timeout=10)
        assert core.book.requests[uid].number == "+86" + number  # canonical_number's form
        assert not ami_watch.since(mark, "QueueCallerAbandon", Uniqueid=uid)  # left by the key, not given up
        answered_before = core.tracker.figures(time.time()).answered

        # An agent becomes free: the engine rings the agent, then the citizen's gateway answers.
        citizen = await sipp.uas(_port_of(settings.pbx.outbound_contact), calls=1, answer_after_ms=500,
                                 hold_ms=2000, timeout_s=120, name="uas-callback-citizen")
        agent, leave = await _agent(sipp, settings, "agent02", ami_watch, calls=1, answer_after_ms=300,
                                    hold_ms=60_000, timeout_s=120)
        called_back = await citizen.wait(timeout=60)
        assert called_back.successful == 1
        await _until("the call-back attempt to end", lambda: core.book.reached - reached_before == 1, timeout=30)
    finally:
        if leave is not None:
            await leave()
        if citizen is not None:
            await citizen.stop()
        core.book.requests.update(stashed)
    assert core.book.placed - placed_before == 1
    assert core.tracker.figures(time.time()).answered - answered_before == 1  # counted as answered by call-back
    assert uid not in core.book.requests
    assert {e["Value"] for e in ami_watch.since(mark, "VarSet", Variable="CALLBACK_CALL")} == {uid}
    dials = [e for e in ami_watch.since(mark, "DialEnd", DialStatus="ANSWER")
             if e.get("DestChannel", "").startswith("PJSIP/outbound-")]
    assert len(dials) == 1
    files = played.assert_mandarin(channel)
    assert files.index("hotline/queue_hold") < files.index("hotline/callback_accepted")


@pytest.mark.parametrize("caller", ["anonymous", "sipp"])
async def test_a_withheld_caller_who_presses_1_stays_in_line_and_is_never_called_back(
    engine, ami_watch, sipp, played, caller
):
    core = engine.queue_manager.core
    stashed = await _reset_queue(engine, ami_watch)
    try:
        mark = ami_watch.mark()
        steps = [("pause", 1500), ("dtmf", "0"), ("pause", prompt_ms(engine, "transfer.agent") + 3000),
                 ("dtmf", "1"), ("pause", prompt_ms(engine, "callback.unavailable") + 12_000)]
        result = await sipp.call("12345", steps=steps, caller=caller, timeout_s=90, name="uac-withheld")
        assert result.failed == 0, result.stderr[-1500:]
        joins = await ami_watch.wait_for("QueueCallerJoin", since=mark, count=2, timeout=10, Queue=QUEUE)
        channel, uid = joins[0]["Channel"], joins[0]["Uniqueid"]
        assert joins[1]["Channel"] == channel  # back in the same queue...
        assert joins[1]["Position"] == joins[0]["Position"]  # ...at the place it had
        abandon = await ami_watch.wait_for("QueueCallerAbandon", since=mark, timeout=20, Uniqueid=uid)
        assert int(abandon[0]["HoldTime"]) >= core.tracker.short_abandon_s  # long enough to be owed one
        await asyncio.sleep(1)
        v = _vars(ami_watch, mark, channel)
        assert "HOTLINE_CALLBACK_OK" not in v and "HOTLINE_CALLBACK" not in v
        assert uid not in core.book.requests
        assert not any(r.number == caller for r in core.book.requests.values())
    finally:
        core.book.requests.update(stashed)
    assert "hotline/callback_unavailable" in played.assert_mandarin(channel)


@pytest.fixture
def at_noon(engine):
    """Office hours for lines that close at night (the clock the call flow reads)."""
    engine.calls.clock = lambda: NOON
    yield
    engine.calls.clock = lambda: datetime.now(TZ)


async def test_a_silent_caller_hears_the_menu_once_a_short_reprompt_and_reaches_an_agent(
    engine, ami_watch, sipp, played, at_noon
):
    hold = (prompt_ms(engine, "menu.legal-12348") + prompt_ms(engine, "prompt.timeout")
            + prompt_ms(engine, "transfer.agent") + 2 * 6000 + 10_000)
    mark = ami_watch.mark()
    result = await sipp.call("12348", steps=[("pause", hold)], timeout_s=hold // 1000 + 60, name="uac-silent")
    assert result.failed == 0, result.stderr[-1500:]
    join = (await ami_watch.wait_for("QueueCallerJoin", since=mark, timeout=20))[0]
    assert join["Queue"] == "legal-12348"
    assert _vars(ami_watch, mark, join["Channel"])["IVR_ROUTE"] == "agent-after-silence"
    commands = [e["Command"] for e in ami_watch.since(mark, "AGIExecStart", Channel=join["Channel"])]
    assert sum("menu_legal-12348" in c for c in commands) == 1  # the long menu once, not three times
    assert any("prompt_timeout" in c for c in commands)
    played.assert_mandarin(join["Channel"])


async def test_2253337_says_it_is_putting_the_call_through_after_the_choice(
    engine, ami_watch, sipp, played, at_noon
):
    mark = ami_watch.mark()
    steps = [("pause", 1500), ("dtmf", "2"), ("pause", prompt_ms(engine, "transfer.agent") + 4000)]
    result = await sipp.call("2253337", steps=steps, timeout_s=60, name="uac-2253337")
    assert result.failed == 0, result.stderr[-1500:]
    join = (await ami_watch.wait_for("QueueCallerJoin", since=mark, timeout=20))[0]
    commands = [e["Command"] for e in ami_watch.since(mark, "AGIExecStart", Channel=join["Channel"])]
    assert any("transfer_agent" in c for c in commands)
    assert "transfer_agent" in " ".join(played.assert_mandarin(join["Channel"]))


async def test_a_queued_call_costs_one_info_line(engine, ami_watch, sipp, caplog):
    caplog.set_level(logging.INFO)
    mark = ami_watch.mark()
    result = await sipp.call("12345", steps=[("pause", 1500), ("dtmf", "0"), ("pause", 12_000)],
                             caller="13700000077", timeout_s=60, name="uac-one-line")
    assert result.failed == 0, result.stderr[-1500:]
    join = (await ami_watch.wait_for("QueueCallerJoin", since=mark, timeout=10))[0]
    await ami_watch.wait_for("QueueCallerAbandon", since=mark, timeout=20, Uniqueid=join["Uniqueid"])
    await asyncio.sleep(engine.queue_manager.tick_s + 1)  # a control tick sees the waiting / gone caller
    about = [r for r in caplog.records if r.levelno == logging.INFO
             and join["Uniqueid"] in " ".join(str(v) for v in getattr(r, "fields", {}).values())]
    assert [r.getMessage() for r in about] == ["routing decision"]


async def test_the_after_hours_beep_is_not_from_the_english_sound_set(engine, ami_watch, sipp, played):
    night = datetime(2026, 11, 24, 3, 0, tzinfo=TZ)
    engine.calls.clock = lambda: night
    try:
        mark = ami_watch.mark()
        hold = prompt_ms(engine, "hours.7x12.after_hours") + 4000
        result = await sipp.call("88880712", steps=[("pause", hold)], timeout_s=60, name="uac-after-hours")
        assert result.failed == 0, result.stderr[-1500:]
    finally:
        engine.calls.clock = lambda: datetime.now(TZ)
    channel = (await ami_watch.wait_for("Newchannel", since=mark, timeout=10))[0]["Channel"]
    await ami_watch.wait_for("Hangup", since=mark, timeout=20, Channel=channel)
    files = played.assert_mandarin(channel)
    assert "beep" in files and played.source("beep.slin", "zh") == "zh"
