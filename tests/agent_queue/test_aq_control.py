"""Agent state, the control loop's decisions, call-backs, the simulator, persistence."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from agent_queue.callbacks import CallbackKind
from agent_queue.control import (
    AddMember,
    ControlPolicy,
    OfferCallback,
    PlaceCallback,
    QueueCore,
    SetPenalty,
    overflow_tiers,
)
from agent_queue.events import (
    AgentCompletedEvent,
    AgentConnectedEvent,
    CallerAbandonedEvent,
    CallerJoinedEvent,
    EntryReportedEvent,
    MemberAddedEvent,
    MemberPausedEvent,
    MemberReportedEvent,
    MemberStatus,
    QueueSnapshotEvent,
)
from agent_queue.exceptions import IllegalAgentTransition, ProfileInvalid
from agent_queue.simulator import load_profile, simulate
from agent_queue.sla import CallOutcome, Result, SlaTracker
from agent_queue.state import AgentSpec, AgentState, Board

Q = "hotline-general"
SPECS = [
    AgentSpec("agent01", frozenset({Q}), home=Q, wrapup_s=10),
    AgentSpec("agent02", frozenset({"hotline-social", Q}), home="hotline-social"),
    AgentSpec("agent03", frozenset({"hotline-2253337"}), home="hotline-2253337"),
    AgentSpec("agent04", frozenset({"hotline-social"}), home="hotline-social", expert=True),
]


def _member(cls, agent: str, queue: str = Q, *, paused: bool = False, penalty: int = 0):
    return cls(queue=queue, interface=f"PJSIP/{agent}", member_name=agent, status=MemberStatus.NOT_INUSE,
               paused=paused, penalty=penalty, in_call=False)


def _join(uid: str, queue: str = Q, number: str = "13800138000") -> CallerJoinedEvent:
    return CallerJoinedEvent(queue=queue, uniqueid=uid, channel=f"PJSIP/trunk-{uid}", caller_id=number,
                             position=1, count=1)


def _core(**policy) -> QueueCore:
    pol = ControlPolicy(parallel_queues=frozenset({"hotline-2253337"}), **policy)
    core = QueueCore(specs=SPECS, tracker=SlaTracker(), policy=pol)
    for a in SPECS:
        core.on_event(_member(MemberAddedEvent, a.id, a.home_queue), 0)
    return core


def test_agent_lifecycle_from_events_with_wrapup() -> None:
    b = Board(SPECS)
    b.apply(_member(MemberAddedEvent, "agent01"), 0)
    assert b.agent("agent01").state is AgentState.IDLE
    b.apply(_join("c1"), 1)
    b.apply(AgentConnectedEvent(queue=Q, uniqueid="c1", interface="PJSIP/agent01", member_name="agent01",
                                hold_time=4, ring_time=2), 5)
    assert b.agent("agent01").state is AgentState.TALKING and not b.waiting
    b.apply(AgentCompletedEvent(queue=Q, uniqueid="c1", interface="PJSIP/agent01", member_name="agent01",
                                hold_time=4, talk_time=100, reason="caller"), 105)
    assert b.agent("agent01").state is AgentState.WRAPUP
    assert b.free_agents(Q, now=110) == []  # wrap-up 10 s not over
    assert [a.spec.id for a in b.free_agents(Q, now=116)] == ["agent01"]
    b.apply(_member(MemberPausedEvent, "agent01", paused=True), 120)
    assert b.agent("agent01").state is AgentState.PAUSED


def test_api_refuses_illegal_transition() -> None:
    b = Board(SPECS)
    with pytest.raises(IllegalAgentTransition, match="agent02: logged_out -> paused"):
        b.agent("agent02").check(AgentState.PAUSED)


def test_snapshot_replaces_membership_and_waiting() -> None:
    b = Board(SPECS)
    b.apply(_member(MemberAddedEvent, "agent01"), 0)
    b.apply(_join("gone"), 1)  # left while we were disconnected
    snap = QueueSnapshotEvent(
        members=(dataclasses.replace(_member(MemberReportedEvent, "agent02"), paused=True),),
        entries=(EntryReportedEvent(queue=Q, uniqueid="w1", channel="c", caller_id="", position=1, wait=30),),
        queues=frozenset({Q}),
    )
    b.apply(snap, 100)
    assert b.agent("agent01").state is AgentState.LOGGED_OUT
    assert b.agent("agent02").state is AgentState.PAUSED
    assert list(b.waiting) == ["w1"] and b.waiting["w1"].joined_at == 70


def test_overflow_tiers_order() -> None:
    tiers = overflow_tiers(Q, SPECS, ControlPolicy(parallel_queues=frozenset({"hotline-2253337"})))
    assert tiers == [["agent02"], [], ["agent03"], ["agent04"]]


def test_widens_tier_by_tier_with_reasons_then_lowers_penalties() -> None:
    core = _core(step_s=30)
    for i in range(6):
        core.on_event(_join(f"c{i}"), 0)
    first = core.tick(1)
    adds = [d for d in first if isinstance(d, AddMember) and d.queue == Q]
    assert [(d.agent_id, d.penalty) for d in adds] == [("agent02", 1)]
    assert "projected" in adds[0].reason and "skilled" in adds[0].reason
    assert not [d for d in core.tick(10) if isinstance(d, AddMember) and d.queue == Q]  # step_s not over
    assert [d.agent_id for d in core.tick(31) if isinstance(d, AddMember) and d.queue == Q] == ["agent03"]
    assert [d.agent_id for d in core.tick(62) if isinstance(d, AddMember) and d.queue == Q] == ["agent04"]
    pens = [d for d in core.tick(93) if isinstance(d, SetPenalty)]
    assert {d.agent_id for d in pens} == {"agent02", "agent03", "agent04"} and all(d.penalty == 0 for d in pens)


def test_no_widening_when_the_target_is_safe() -> None:
    core = _core()
    for i in range(50):
        core.tracker.record(CallOutcome(Q, f"h{i}", 0, 1, 2, Result.ANSWERED))
    core.on_event(_join("c1"), 0)
    assert not [d for d in core.tick(1) if isinstance(d, AddMember) and d.queue == Q]  # agent01 free: no wait


def test_callback_offer_keeps_place_and_is_placed_before_later_callers() -> None:
    core = _core(offer_callback_after_s=100, aht_s=300, step_s=1e9)
    core.on_event(_member(MemberPausedEvent, "agent01", paused=True), 0)  # nobody free in Q
    core.on_event(_join("early", number="13800138001"), 0)
    core.on_event(_join("later", number="13800138002"), 50)
    offers = [d for d in core.tick(60) if isinstance(d, OfferCallback)]
    assert [d.uniqueid for d in offers] == ["early", "later"]  # 300 s and 600 s expected
    req = core.accept_callback("early", 61)
    assert req is not None and req.kind is CallbackKind.KEEP_PLACE and req.joined_at == 0
    core.board.waiting.pop("early")  # it left the queue through the exit context
    core.on_event(_member(MemberPausedEvent, "agent01", paused=False), 70)
    placed = [d for d in core.tick(71) if isinstance(d, PlaceCallback)]
    assert [(d.request.uniqueid, d.agent_id) for d in placed] == [("early", "agent01")]
    outcome = core.callback_finished(req, reached=True, now=300, agent_id="agent01")
    assert outcome is not None and outcome.result is Result.CALLBACK_ANSWERED
    assert core.board.agent("agent01").state is AgentState.WRAPUP


def test_callback_waits_while_an_earlier_caller_is_still_queued() -> None:
    core = _core(step_s=1e9)
    core.on_event(_member(MemberPausedEvent, "agent01", paused=True), 0)
    core.on_event(_join("first"), 0)
    core.on_event(_join("second"), 10)
    core.accept_callback("second", 20)
    core.board.waiting.pop("second")
    core.on_event(_member(MemberPausedEvent, "agent01", paused=False), 30)
    assert not [d for d in core.tick(31) if isinstance(d, PlaceCallback)]


def _answered(core: QueueCore, n: int) -> None:
    for i in range(n):
        core.tracker.record(CallOutcome(Q, f"h{i}", 0, 1, 2, Result.ANSWERED))


def test_abandoned_callback_waits_while_the_rate_is_near_target() -> None:
    core = _core(callback_when_calm=True)
    core.on_event(_join("a1"), 0)
    core.on_event(CallerAbandonedEvent(queue=Q, uniqueid="a1", caller_id="13800138000", hold_time=40,
                                       position=1, original_position=1), 40)
    assert not [d for d in core.tick(60) if isinstance(d, PlaceCallback)]  # 0 of 1 answered so far
    _answered(core, 50)
    assert [d.request.uniqueid for d in core.tick(61) if isinstance(d, PlaceCallback)] == ["a1"]


def test_abandoned_callback_leaves_the_reserve_free() -> None:
    core = _core(callback_reserve=2)  # agent01 is the only free member of Q
    _answered(core, 50)
    core.on_event(_join("a1"), 0)
    core.on_event(CallerAbandonedEvent(queue=Q, uniqueid="a1", caller_id="13800138000", hold_time=40,
                                       position=1, original_position=1), 40)
    assert list(core.book.requests) == ["a1"]
    assert not [d for d in core.tick(60) if isinstance(d, PlaceCallback)]


def test_abandoned_caller_with_caller_id_is_owed_a_callback_but_not_a_short_one() -> None:
    core = _core()
    _answered(core, 50)  # the rate is comfortable: a past call may take an agent
    core.on_event(_join("a1"), 0)
    core.on_event(CallerAbandonedEvent(queue=Q, uniqueid="a1", caller_id="13800138000", hold_time=40,
                                       position=1, original_position=1), 40)
    core.on_event(_join("a2"), 50)
    core.on_event(CallerAbandonedEvent(queue=Q, uniqueid="a2", caller_id="13800138009", hold_time=2,
                                       position=1, original_position=1), 52)
    assert list(core.book.requests) == ["a1"]
    assert core.book.requests["a1"].kind is CallbackKind.ABANDONED
    placed = [d for d in core.tick(60) if isinstance(d, PlaceCallback)]
    assert [d.request.uniqueid for d in placed] == ["a1"]
    assert core.tracker.figures(60).abandoned == 1 and core.tracker.figures(60).short_abandoned == 1


def test_decisions_are_logged_with_masked_numbers(caplog: pytest.LogCaptureFixture) -> None:
    from infra.logs import MaskingFormatter

    core = _core()
    caplog.set_level("INFO")
    _answered(core, 50)
    core.on_event(_join("a1"), 0)
    core.on_event(CallerAbandonedEvent(queue=Q, uniqueid="a1", caller_id="13800138000", hold_time=40,
                                       position=1, original_position=1), 40)
    core.tick(41)
    lines = [MaskingFormatter().format(r) for r in caplog.records]
    assert any("PlaceCallback" in ln and "reason=" in ln for ln in lines)
    assert not any("13800138000" in ln for ln in lines) and any("138****8000" in ln for ln in lines)


# --- simulator ------------------------------------------------------------------------------

PROFILE = Path(__file__).resolve().parents[2] / "config" / "profiles" / "default.toml"


def test_simulation_is_deterministic_and_control_beats_plain_strategies() -> None:
    p = load_profile(PROFILE)
    a = simulate(p, policy="control", seed=7)
    b = simulate(p, policy="control", seed=7)
    assert a.as_dict() == b.as_dict()
    plain = simulate(p, policy="rrmemory", seed=7)
    assert plain.offered == pytest.approx(a.offered, rel=0.02)  # same callers (short abandons differ)
    assert a.answer_rate > plain.answer_rate
    assert a.callbacks_placed > 0 and a.overflow_adds > 0
    assert 0 < a.occupancy < 1


def test_simulator_matches_erlang_a_on_a_flat_day(tmp_path: Path) -> None:
    # One queue, 13 agents all day, 200 calls/h, AHT 180 s, patience 60 s: Erlang A says
    # 95.1% answered. 4,800 calls give a standard error of about 0.3 points.
    from agent_queue.staffing import erlang_a

    f = tmp_path / "flat.toml"
    f.write_text(
        "[day]\ncalls = 4800\naht_s = 180\npatience_s = 60\nshort_abandon_s = 0\nseed = 3\n"
        f"shape = [{', '.join(['1'] * 48)}]\n[[queues]]\nname = \"q\"\nshare = 1.0\n"
        "[[shifts]]\nstart = \"00:00\"\nend = \"00:00\"\nagents = 13\nhome = \"q\"\n"
    )
    r = simulate(load_profile(f), policy="rrmemory")
    assert r.answer_rate == pytest.approx(erlang_a(13, 200, 180, 60).answered, abs=0.015)


def test_profile_errors_name_file_and_field(tmp_path: Path) -> None:
    f = tmp_path / "bad.toml"
    f.write_text("[day]\ncalls = 10\naht_s = 100\npatience_s = 60\nshape = [1, 2]\n")
    with pytest.raises(ProfileInvalid, match=r"bad.toml: day.shape: need 48"):
        load_profile(f)
    f.write_text(f"[[queues]]\nname = 'q'\nshare = 1.0\n[day]\ncalls = 'x'\nshape = [{', '.join(['1'] * 48)}]\n")
    with pytest.raises(ProfileInvalid, match=r"day.calls: expected float"):
        load_profile(f)


def test_general_seats_stand_in_the_parallel_line_at_penalty_one() -> None:
    core = _core()
    adds = [d for d in core.tick(1) if isinstance(d, AddMember) and d.queue == "hotline-2253337"]
    # agent01 (home general) and agent02 (trained for general) are 12345 seats; agent04 is not.
    assert sorted((d.agent_id, d.penalty) for d in adds) == [("agent01", 1), ("agent02", 1)]
    assert "parallel line" in adds[0].reason
    assert not [d for d in core.tick(2) if isinstance(d, AddMember) and d.queue == "hotline-2253337"]


def test_parallel_line_overflows_in_the_simulator(tmp_path: Path) -> None:
    # The line's own seat is swamped; 12345 seats answer it in the control loop only.
    shape = ", ".join(["1"] * 48)
    f = tmp_path / "line.toml"
    f.write_text(
        f"[day]\ncalls = 2000\naht_s = 150\npatience_s = 60\nseed = 4\nshape = [{shape}]\n"
        'general_queues = ["gen"]\nparallel_queues = ["line"]\n'
        '[[queues]]\nname = "gen"\nshare = 0.6\n[[queues]]\nname = "line"\nshare = 0.4\n'
        '[[shifts]]\nstart = "00:00"\nend = "00:00"\nagents = 8\nhome = "gen"\n'
        '[[shifts]]\nstart = "00:00"\nend = "00:00"\nagents = 1\nhome = "line"\n'
    )
    p = load_profile(f)
    plain = simulate(p, policy="rrmemory", seed=1)
    ctl = simulate(p, policy="control", seed=1, virtual_hold=False, abandoned_callbacks=False)
    assert plain.per_queue["line"]["answer_rate"] < 0.6
    assert ctl.per_queue["line"]["answer_rate"] > 0.9
