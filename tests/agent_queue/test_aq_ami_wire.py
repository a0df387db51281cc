"""Pure AMI parsing: recorded wire bytes in, messages and typed events out (no sockets)."""

from __future__ import annotations

import aq_wire as wire
import pytest

from agent_queue.ami_framing import AmiFrameParser, format_action, parse_frame
from agent_queue.ami_protocol import PendingAction, snapshot_from
from agent_queue.events import (
    AgentConnectedEvent,
    AmiResponse,
    CallerJoinedEvent,
    MemberReportedEvent,
    MemberStatus,
    MemberStatusChangedEvent,
    OtherAmiEvent,
    parse_event,
)
from agent_queue.exceptions import AmiActionFailed, AmiEventInvalid, AmiProtocolError

STREAM = (
    wire.BANNER
    + wire.login_ok("a1")
    + wire.FULLY_BOOTED
    + wire.caller_join("1700000000.8")
    + wire.agent_connect("1700000000.8")
    + wire.queue_status("a2")
)


def _feed_in_chunks(data: bytes, size: int) -> tuple[AmiFrameParser, list]:
    parser = AmiFrameParser()
    out = []
    for i in range(0, len(data), size):
        out.extend(parser.feed(data[i : i + size]))
    return parser, out


def test_banner_and_frames_in_one_read() -> None:
    parser = AmiFrameParser()
    msgs = parser.feed(STREAM)
    assert parser.banner == "Asterisk Call Manager/9.0.0"
    assert [m.event_name or m.get("response") for m in msgs] == [
        "Success", "FullyBooted", "QueueCallerJoin", "AgentConnect",
        "Success", "QueueParams", "QueueMember", "QueueMember", "QueueEntry", "QueueStatusComplete",
    ]
    assert parser.pending_bytes() == 0


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 1000])
def test_any_chunking_gives_the_same_messages(size: int) -> None:
    whole = AmiFrameParser().feed(STREAM)
    parser, chunked = _feed_in_chunks(STREAM, size)
    assert chunked == whole
    assert parser.banner == "Asterisk Call Manager/9.0.0"


def test_utf8_name_split_across_reads_survives() -> None:
    # "李四" is 6 bytes; cut in the middle of the first character. panoramisk 1.4 decodes
    # each chunk with errors='ignore' and would lose it.
    data = wire.caller_join("1.1")
    cut = data.index("李".encode()) + 1
    parser = AmiFrameParser()
    parser.banner = ""
    msgs = parser.feed(data[:cut]) + parser.feed(data[cut:])
    assert msgs[0].get("CallerIDName") == "李四"


def test_empty_header_value_is_kept_not_dropped() -> None:
    msg = parse_frame(b"Event: QueueMemberStatus\r\nQueue: q\r\nPausedReason:\r\nAccountCode: \r\nInterface: PJSIP/a")
    assert msg is not None
    assert ("PausedReason", "") in msg.headers and ("AccountCode", "") in msg.headers
    assert msg.get("interface") == "PJSIP/a"


def test_legacy_follows_body_with_blank_line_is_one_message() -> None:
    parser = AmiFrameParser()
    parser.banner = ""
    msgs = parser.feed(wire.LEGACY_COMMAND_FOLLOWS + wire.FULLY_BOOTED)
    assert len(msgs) == 2
    assert msgs[0].get("Privilege") == "Command"  # panoramisk pops a line as body instead
    assert "agent01/agent01" in msgs[0].body and "Name/username" in msgs[0].body
    assert msgs[1].event_name == "FullyBooted"


def test_lf_only_line_ends_are_accepted() -> None:
    parser = AmiFrameParser()
    parser.banner = ""
    msgs = parser.feed(b"Event: FullyBooted\nStatus: Fully Booted\n\nEvent: Hangup\nUniqueid: 1.2\nCause: 16\n\n")
    assert [m.event_name for m in msgs] == ["FullyBooted", "Hangup"]


def test_oversized_frame_is_a_protocol_error_naming_the_offset() -> None:
    parser = AmiFrameParser(max_frame=100)
    parser.feed(wire.BANNER)
    with pytest.raises(AmiProtocolError, match="at byte 29"):
        parser.feed(b"Event: X\r\n" + b"A: " + b"x" * 200)


def test_unfinished_frame_is_reported_not_emitted() -> None:
    parser = AmiFrameParser()
    data = wire.BANNER + wire.FULLY_BOOTED + b"Event: QueueCallerJoin\r\nQueue: hot"
    msgs = parser.feed(data)
    assert len(msgs) == 1
    assert parser.pending_bytes() == len(b"Event: QueueCallerJoin\r\nQueue: hot")


# --- matching replies ---------------------------------------------------------------------


def _run(pending: PendingAction, data: bytes) -> bool:
    parser = AmiFrameParser()
    parser.banner = ""
    done = False
    for msg in parser.feed(data):
        done = pending.feed(msg)
    return done


def test_queue_add_completes_on_its_single_response() -> None:
    pending = PendingAction(name="QueueAdd", action_id="x1", payload={})
    assert _run(pending, wire.queue_add_ok("x1"))
    [resp] = pending.result()
    assert isinstance(resp, AmiResponse) and resp.success and resp.message == "Added interface to queue"


def test_queue_status_list_waits_for_complete_and_types_items() -> None:
    pending = PendingAction(name="QueueStatus", action_id="x2", payload={})
    data = wire.queue_status("x2")
    cut = data.index(b"Event: QueueStatusComplete")
    assert not _run(pending, data[:cut])
    assert _run(pending, data[cut:])
    snap = snapshot_from(pending.result())
    assert snap.queues == {"hotline-general"}
    assert [m.member_name for m in snap.members] == ["agent01", "agent02"]
    assert snap.members[1].paused and snap.members[1].paused_reason == "lunch"
    assert snap.members[0].interface == "PJSIP/agent01" and snap.members[0].wrapup_time == 10
    assert snap.entries[0].caller_id == "13800138000" and snap.entries[0].wait == 31


def test_error_response_raises_with_action_name() -> None:
    pending = PendingAction(name="QueueRemove", action_id="x3", payload={})
    err = wire.frame("Response: Error", "ActionID: x3", "Message: Unable to remove interface: Not there")
    assert _run(pending, err)
    with pytest.raises(AmiActionFailed, match="QueueRemove: Unable to remove interface"):
        pending.result()


def test_async_originate_waits_for_originate_response() -> None:
    pending = PendingAction(name="Originate", action_id="o1", payload={}, expects_originate=True)
    assert not _run(pending, wire.originate_queued("o1"))
    assert _run(pending, wire.originate_response("o1", ok=False))
    resp, finished = pending.result()
    assert not finished.success and finished.reason == 3  # type: ignore[attr-defined]


# --- serialising actions --------------------------------------------------------------------


def test_format_action_puts_action_first_and_repeats_lists() -> None:
    data = format_action({"Variable": ["A=1", "B=二"], "Action": "Originate", "Channel": "PJSIP/x"}, "id9")
    assert data == "Action: Originate\r\nActionID: id9\r\nVariable: A=1\r\nVariable: B=二\r\nChannel: PJSIP/x\r\n\r\n".encode()


def test_format_action_refuses_header_injection() -> None:
    with pytest.raises(ValueError, match="'CallerID'"):
        format_action({"Action": "Originate", "CallerID": "x\r\nAction: Command\r\nCommand: core stop now"}, "i")


# --- typed events -------------------------------------------------------------------------


def _event(data: bytes):
    msg = parse_frame(data.rstrip(b"\r\n"))
    assert msg is not None
    return parse_event(msg.event_name, msg.lowered(), msg.headers)


def test_typed_events_from_wire() -> None:
    join = _event(wire.caller_join("1700000000.8", pos=3))
    assert join == CallerJoinedEvent(
        queue="hotline-general", uniqueid="1700000000.8", channel="PJSIP/trunk-00000008",
        caller_id="13800138000", position=3, count=3, linkedid="1700000000.8",
    )
    conn = _event(wire.agent_connect("1700000000.8", agent="agent02", hold=12))
    assert isinstance(conn, AgentConnectedEvent) and conn.member_name == "agent02" and conn.hold_time == 12
    st = _event(wire.member_status("agent03", 6, paused=1))
    assert isinstance(st, MemberStatusChangedEvent)
    assert st.status is MemberStatus.RINGING and st.paused and st.interface == "PJSIP/agent03"


def test_member_status_out_of_range_names_event_and_header() -> None:
    bad = wire.member_status("agent01", 42)
    with pytest.raises(AmiEventInvalid, match="QueueMemberStatus: header 'status'=42"):
        _event(bad)


def test_missing_queue_header_is_invalid() -> None:
    with pytest.raises(AmiEventInvalid, match="QueueCallerJoin: header 'queue' missing"):
        _event(wire.frame("Event: QueueCallerJoin", "Uniqueid: 1.1"))


def test_unknown_event_is_kept_as_other() -> None:
    ev = _event(wire.frame("Event: PeerStatus", "Peer: PJSIP/agent01", "PeerStatus: Reachable"))
    assert isinstance(ev, OtherAmiEvent) and ev.name == "PeerStatus"
    assert ("Peer", "PJSIP/agent01") in ev.headers


def test_unknown_caller_id_is_empty_not_dialable() -> None:
    ev = _event(wire.frame("Event: QueueCallerAbandon", "Queue: q", "Uniqueid: 1.1", "CallerIDNum: <unknown>"))
    assert ev.caller_id == ""  # type: ignore[attr-defined]


def test_queue_member_from_status_list_uses_location() -> None:
    ev = _event(
        wire.frame("Event: QueueMember", "Queue: q", "Name: agent05", "Location: PJSIP/agent05", "Status: 5", "Paused: 0")
    )
    assert isinstance(ev, MemberReportedEvent)
    assert ev.interface == "PJSIP/agent05" and ev.status is MemberStatus.UNAVAILABLE
