"""AMI wire traces in Asterisk 20's format (app_queue, manager.c), CRLF line ends.

Written from the frames Asterisk 20 emits for these actions/events (field sets and order as in
app_queue.c's manager docs); re-record from the dev PBX with `tcpdump -A port 5038` when in doubt.
Numbers are fake (13800138000 is the textbook test number).
"""

from __future__ import annotations


def frame(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


BANNER = b"Asterisk Call Manager/9.0.0\r\n"


def login_ok(aid: str) -> bytes:
    return frame("Response: Success", f"ActionID: {aid}", "Message: Authentication accepted")


def login_failed(aid: str) -> bytes:
    return frame("Response: Error", f"ActionID: {aid}", "Message: Authentication failed")


FULLY_BOOTED = frame(
    "Event: FullyBooted", "Privilege: system,all", "Uptime: 12", "LastReload: 12", "Status: Fully Booted"
)


def queue_add_ok(aid: str) -> bytes:
    # panoramisk 1.4 reads "Added ... to queue" as the start of a list and never resolves.
    return frame("Response: Success", f"ActionID: {aid}", "Message: Added interface to queue")


def queue_status(aid: str, *, waiting_uid: str = "1700000000.7") -> bytes:
    return b"".join(
        [
            frame("Response: Success", f"ActionID: {aid}", "EventList: start", "Message: Queue status will follow"),
            frame(
                "Event: QueueParams", "Queue: hotline-general", "Max: 0", "Strategy: rrmemory", "Calls: 1",
                "Holdtime: 9", "TalkTime: 150", "Completed: 42", "Abandoned: 2", "ServiceLevel: 20",
                "ServicelevelPerf: 88.1", "ServicelevelPerf2: 90.0", "Weight: 0", f"ActionID: {aid}",
            ),
            frame(
                "Event: QueueMember", "Queue: hotline-general", "Name: agent01", "Location: PJSIP/agent01",
                "StateInterface: PJSIP/agent01", "Membership: dynamic", "Penalty: 0", "CallsTaken: 3",
                "LastCall: 1700000000", "LastPause: 0", "LoginTime: 1699990000", "InCall: 0", "Status: 1",
                "Paused: 0", "PausedReason:", "Wrapuptime: 10", f"ActionID: {aid}",
            ),
            frame(
                "Event: QueueMember", "Queue: hotline-general", "Name: agent02", "Location: PJSIP/agent02",
                "StateInterface: PJSIP/agent02", "Membership: dynamic", "Penalty: 1", "CallsTaken: 0",
                "LastCall: 0", "LastPause: 1700000100", "LoginTime: 1699990000", "InCall: 0", "Status: 1",
                "Paused: 1", "PausedReason: lunch", "Wrapuptime: 10", f"ActionID: {aid}",
            ),
            frame(
                "Event: QueueEntry", "Queue: hotline-general", "Position: 1", "Channel: PJSIP/trunk-00000007",
                f"Uniqueid: {waiting_uid}", "CallerIDNum: 13800138000", "CallerIDName: 张三",
                "ConnectedLineNum: <unknown>", "ConnectedLineName: <unknown>", "Wait: 31", "Priority: 0",
                f"ActionID: {aid}",
            ),
            frame("Event: QueueStatusComplete", f"ActionID: {aid}", "EventList: Complete", "ListItems: 4"),
        ]
    )


def caller_join(uid: str, *, queue: str = "hotline-general", pos: int = 1, number: str = "13800138000") -> bytes:
    return frame(
        "Event: QueueCallerJoin", "Privilege: agent,all", "Channel: PJSIP/trunk-00000008", "ChannelState: 6",
        "ChannelStateDesc: Up", f"CallerIDNum: {number}", "CallerIDName: 李四", "ConnectedLineNum: <unknown>",
        "ConnectedLineName: <unknown>", "Language: zh", "AccountCode:", "Context: hotline-call", "Exten: s",
        "Priority: 9", f"Uniqueid: {uid}", f"Linkedid: {uid}", f"Queue: {queue}", f"Position: {pos}",
        f"Count: {pos}",
    )


def agent_connect(uid: str, *, agent: str = "agent01", hold: int = 7) -> bytes:
    return frame(
        "Event: AgentConnect", "Privilege: agent,all", "Channel: PJSIP/trunk-00000008", f"Uniqueid: {uid}",
        "CallerIDNum: 13800138000", f"DestChannel: PJSIP/{agent}-00000009", "Queue: hotline-general",
        f"MemberName: {agent}", f"Interface: PJSIP/{agent}", f"HoldTime: {hold}", "RingTime: 3",
    )


def caller_abandon(uid: str, *, hold: int = 40) -> bytes:
    return frame(
        "Event: QueueCallerAbandon", "Privilege: agent,all", "Channel: PJSIP/trunk-00000008",
        "CallerIDNum: 13800138000", f"Uniqueid: {uid}", "Queue: hotline-general", "Position: 1",
        "OriginalPosition: 2", f"HoldTime: {hold}",
    )


def member_status(agent: str, status: int, *, paused: int = 0, incall: int = 0) -> bytes:
    return frame(
        "Event: QueueMemberStatus", "Privilege: agent,all", "Queue: hotline-general", f"MemberName: {agent}",
        f"Interface: PJSIP/{agent}", f"StateInterface: PJSIP/{agent}", "Membership: dynamic", "Penalty: 0",
        "CallsTaken: 3", "LastCall: 1700000000", "LastPause: 0", "LoginTime: 1699990000", f"InCall: {incall}",
        f"Status: {status}", f"Paused: {paused}", "PausedReason:", "Ringinuse: 0", "Wrapuptime: 10",
    )


def originate_queued(aid: str) -> bytes:
    return frame("Response: Success", f"ActionID: {aid}", "Message: Originate successfully queued")


def originate_response(aid: str, *, ok: bool = True) -> bytes:
    return frame(
        "Event: OriginateResponse", "Privilege: call,all", f"ActionID: {aid}",
        f"Response: {'Success' if ok else 'Failure'}", "Channel: PJSIP/trunk-0000000a", "Context: hotline-callback",
        "Exten: s", "Application:", "Data:", f"Reason: {4 if ok else 3}", "Uniqueid: 1700000001.10",
        "CallerIDNum: <unknown>", "CallerIDName: <unknown>",
    )


LEGACY_COMMAND_FOLLOWS = (
    b"Response: Follows\r\nActionID: c1\r\nPrivilege: Command\r\n"
    b"Name/username             Host\r\n\r\nagent01/agent01           127.0.0.1\r\n"
    b"--END COMMAND--\r\n\r\n"
)
