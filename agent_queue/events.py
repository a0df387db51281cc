"""Typed AMI events: frozen dataclasses the queue services consume instead of header dicts.

`parse_event(name, headers)` is the one place where an AMI event's headers become a typed
event. It validates what the services rely on (queue names, integers, member status codes)
and raises `AmiEventInvalid` naming the event and the header, so a malformed frame is
dropped at the edge instead of corrupting agent state or the SLA counters.
Events we have no class for become `OtherAmiEvent` (name + headers), never an exception.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from agent_queue.exceptions import AmiEventInvalid

Headers = Mapping[str, str]  # lower-cased header name -> value (first occurrence)


class MemberStatus(enum.IntEnum):
    """app_queue's device state codes for a member (`Status:` header)."""

    UNKNOWN = 0
    NOT_INUSE = 1
    INUSE = 2
    BUSY = 3
    INVALID = 4
    UNAVAILABLE = 5
    RINGING = 6
    RINGINUSE = 7
    ONHOLD = 8


def header(headers: tuple[tuple[str, str], ...], key: str, default: str = "") -> str:
    """First value of `key` (case-insensitive) in wire-ordered header pairs."""
    key = key.lower()
    for k, v in headers:
        if k.lower() == key:
            return v
    return default


def _req(name: str, h: Headers, key: str) -> str:
    value = h.get(key)
    if value is None or value == "":
        raise AmiEventInvalid(f"AMI event {name}: header {key!r} missing")
    return value


def _int(name: str, h: Headers, key: str, default: int | None = None) -> int:
    raw = h.get(key)
    if raw is None or raw == "":
        if default is None:
            raise AmiEventInvalid(f"AMI event {name}: header {key!r} missing")
        return default
    try:
        return int(raw)
    except ValueError:
        raise AmiEventInvalid(f"AMI event {name}: header {key!r}={raw!r} is not an integer") from None


def _float(name: str, h: Headers, key: str, default: float = 0.0) -> float:
    raw = h.get(key)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise AmiEventInvalid(f"AMI event {name}: header {key!r}={raw!r} is not a number") from None


def _bool(h: Headers, key: str) -> bool:
    return h.get(key, "").strip().lower() in ("1", "yes", "true", "on")


def _cid(h: Headers, key: str) -> str:
    # Asterisk writes "<unknown>" for an absent caller ID; a call-back must not dial that.
    value = h.get(key, "")
    return "" if value in ("<unknown>", "unknown") else value


@dataclass(frozen=True, slots=True)
class AmiEvent:
    """Base of every event the AMI edge delivers."""

    ami_name: ClassVar[str] = ""


@dataclass(frozen=True, slots=True)
class AmiResponse(AmiEvent):
    """The `Response:` message that answers an action (first item of `AmiClient.send`)."""

    success: bool
    message: str
    action_id: str
    headers: tuple[tuple[str, str], ...] = ()

    def get(self, key: str, default: str = "") -> str:
        return header(self.headers, key, default)


@dataclass(frozen=True, slots=True)
class OtherAmiEvent(AmiEvent):
    """An event we do not model; kept so a subscriber may still look at it."""

    name: str
    headers: tuple[tuple[str, str], ...] = ()


# --- queue callers -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallerJoinedEvent(AmiEvent):
    ami_name: ClassVar[str] = "QueueCallerJoin"
    queue: str
    uniqueid: str
    channel: str
    caller_id: str
    position: int
    count: int
    linkedid: str = ""

    @classmethod
    def from_headers(cls, h: Headers) -> CallerJoinedEvent:
        n = cls.ami_name
        return cls(
            queue=_req(n, h, "queue"),
            uniqueid=_req(n, h, "uniqueid"),
            channel=h.get("channel", ""),
            caller_id=_cid(h, "calleridnum"),
            position=_int(n, h, "position", 0),
            count=_int(n, h, "count", 0),
            linkedid=h.get("linkedid", ""),
        )


@dataclass(frozen=True, slots=True)
class CallerLeftEvent(AmiEvent):
    """The caller left the queue: answered, or timed out / exited; abandon comes separately."""

    ami_name: ClassVar[str] = "QueueCallerLeave"
    queue: str
    uniqueid: str
    channel: str
    position: int
    count: int

    @classmethod
    def from_headers(cls, h: Headers) -> CallerLeftEvent:
        n = cls.ami_name
        return cls(
            queue=_req(n, h, "queue"),
            uniqueid=_req(n, h, "uniqueid"),
            channel=h.get("channel", ""),
            position=_int(n, h, "position", 0),
            count=_int(n, h, "count", 0),
        )


@dataclass(frozen=True, slots=True)
class CallerAbandonedEvent(AmiEvent):
    ami_name: ClassVar[str] = "QueueCallerAbandon"
    queue: str
    uniqueid: str
    caller_id: str
    hold_time: int
    position: int
    original_position: int

    @classmethod
    def from_headers(cls, h: Headers) -> CallerAbandonedEvent:
        n = cls.ami_name
        return cls(
            queue=_req(n, h, "queue"),
            uniqueid=_req(n, h, "uniqueid"),
            caller_id=_cid(h, "calleridnum"),
            hold_time=_int(n, h, "holdtime", 0),
            position=_int(n, h, "position", 0),
            original_position=_int(n, h, "originalposition", 0),
        )


# --- agents --------------------------------------------------------------------------------


def _member_name(n: str, h: Headers) -> str:
    return h.get("membername") or _req(n, h, "interface")


@dataclass(frozen=True, slots=True)
class AgentCalledEvent(AmiEvent):
    ami_name: ClassVar[str] = "AgentCalled"
    queue: str
    uniqueid: str
    interface: str
    member_name: str

    @classmethod
    def from_headers(cls, h: Headers) -> AgentCalledEvent:
        n = cls.ami_name
        return cls(
            queue=_req(n, h, "queue"),
            uniqueid=_req(n, h, "uniqueid"),
            interface=_req(n, h, "interface"),
            member_name=_member_name(n, h),
        )


@dataclass(frozen=True, slots=True)
class AgentConnectedEvent(AmiEvent):
    ami_name: ClassVar[str] = "AgentConnect"
    queue: str
    uniqueid: str
    interface: str
    member_name: str
    hold_time: int
    ring_time: int

    @classmethod
    def from_headers(cls, h: Headers) -> AgentConnectedEvent:
        n = cls.ami_name
        return cls(
            queue=_req(n, h, "queue"),
            uniqueid=_req(n, h, "uniqueid"),
            interface=_req(n, h, "interface"),
            member_name=_member_name(n, h),
            hold_time=_int(n, h, "holdtime", 0),
            ring_time=_int(n, h, "ringtime", 0),
        )


@dataclass(frozen=True, slots=True)
class AgentCompletedEvent(AmiEvent):
    ami_name: ClassVar[str] = "AgentComplete"
    queue: str
    uniqueid: str
    interface: str
    member_name: str
    hold_time: int
    talk_time: int
    reason: str

    @classmethod
    def from_headers(cls, h: Headers) -> AgentCompletedEvent:
        n = cls.ami_name
        return cls(
            queue=_req(n, h, "queue"),
            uniqueid=_req(n, h, "uniqueid"),
            interface=_req(n, h, "interface"),
            member_name=_member_name(n, h),
            hold_time=_int(n, h, "holdtime", 0),
            talk_time=_int(n, h, "talktime", 0),
            reason=h.get("reason", ""),
        )


@dataclass(frozen=True, slots=True)
class AgentNotAnsweredEvent(AmiEvent):
    ami_name: ClassVar[str] = "AgentRingNoAnswer"
    queue: str
    uniqueid: str
    interface: str
    member_name: str
    ring_time_ms: int

    @classmethod
    def from_headers(cls, h: Headers) -> AgentNotAnsweredEvent:
        n = cls.ami_name
        return cls(
            queue=_req(n, h, "queue"),
            uniqueid=_req(n, h, "uniqueid"),
            interface=_req(n, h, "interface"),
            member_name=_member_name(n, h),
            ring_time_ms=_int(n, h, "ringtime", 0),
        )


@dataclass(frozen=True, slots=True)
class _MemberFields(AmiEvent):
    queue: str
    interface: str
    member_name: str
    status: MemberStatus
    paused: bool
    penalty: int
    in_call: bool
    calls_taken: int = 0
    paused_reason: str = ""
    wrapup_time: int = 0
    state_interface: str = ""

    @classmethod
    def from_headers(cls, h: Headers):  # noqa: ANN206 - each subclass returns itself
        n = cls.ami_name
        code = _int(n, h, "status", 0)
        try:
            status = MemberStatus(code)
        except ValueError:
            raise AmiEventInvalid(f"AMI event {n}: header 'status'={code} is not a device state") from None
        interface = h.get("interface") or h.get("location") or _req(n, h, "interface")
        return cls(
            queue=_req(n, h, "queue"),
            interface=interface,
            member_name=h.get("membername") or h.get("name") or interface,
            status=status,
            paused=_bool(h, "paused"),
            penalty=_int(n, h, "penalty", 0),
            in_call=_bool(h, "incall"),
            calls_taken=_int(n, h, "callstaken", 0),
            # Asterisk 12 called it Reason, 13+ PausedReason
            paused_reason=h.get("pausedreason", h.get("reason", "")),
            wrapup_time=_int(n, h, "wrapuptime", 0),
            state_interface=h.get("stateinterface", ""),
        )


@dataclass(frozen=True, slots=True)
class MemberStatusChangedEvent(_MemberFields):
    ami_name: ClassVar[str] = "QueueMemberStatus"


@dataclass(frozen=True, slots=True)
class MemberAddedEvent(_MemberFields):
    ami_name: ClassVar[str] = "QueueMemberAdded"


@dataclass(frozen=True, slots=True)
class MemberRemovedEvent(_MemberFields):
    ami_name: ClassVar[str] = "QueueMemberRemoved"


@dataclass(frozen=True, slots=True)
class MemberPausedEvent(_MemberFields):
    """`QueueMemberPause`: `paused` says whether it was paused or unpaused."""

    ami_name: ClassVar[str] = "QueueMemberPause"


@dataclass(frozen=True, slots=True)
class MemberReportedEvent(_MemberFields):
    """One `QueueMember` line of a QueueStatus list (resync)."""

    ami_name: ClassVar[str] = "QueueMember"


@dataclass(frozen=True, slots=True)
class QueueParamsReportedEvent(AmiEvent):
    ami_name: ClassVar[str] = "QueueParams"
    queue: str
    strategy: str
    calls: int
    completed: int
    abandoned: int
    service_level: int
    hold_time: int
    talk_time: int

    @classmethod
    def from_headers(cls, h: Headers) -> QueueParamsReportedEvent:
        n = cls.ami_name
        return cls(
            queue=_req(n, h, "queue"),
            strategy=h.get("strategy", ""),
            calls=_int(n, h, "calls", 0),
            completed=_int(n, h, "completed", 0),
            abandoned=_int(n, h, "abandoned", 0),
            service_level=_int(n, h, "servicelevel", 0),
            hold_time=_int(n, h, "holdtime", 0),
            talk_time=_int(n, h, "talktime", 0),
        )


@dataclass(frozen=True, slots=True)
class EntryReportedEvent(AmiEvent):
    """One `QueueEntry` line of a QueueStatus list: a caller waiting now (resync)."""

    ami_name: ClassVar[str] = "QueueEntry"
    queue: str
    uniqueid: str
    channel: str
    caller_id: str
    position: int
    wait: int

    @classmethod
    def from_headers(cls, h: Headers) -> EntryReportedEvent:
        n = cls.ami_name
        return cls(
            queue=_req(n, h, "queue"),
            uniqueid=_req(n, h, "uniqueid"),
            channel=h.get("channel", ""),
            caller_id=_cid(h, "calleridnum"),
            position=_int(n, h, "position", 0),
            wait=_int(n, h, "wait", 0),
        )


# --- PBX, channels, originate, AGI ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PbxBootedEvent(AmiEvent):
    ami_name: ClassVar[str] = "FullyBooted"
    uptime: float = 0.0

    @classmethod
    def from_headers(cls, h: Headers) -> PbxBootedEvent:
        return cls(uptime=_float(cls.ami_name, h, "uptime"))


@dataclass(frozen=True, slots=True)
class PbxShutdownEvent(AmiEvent):
    ami_name: ClassVar[str] = "Shutdown"
    restart: bool = False

    @classmethod
    def from_headers(cls, h: Headers) -> PbxShutdownEvent:
        return cls(restart=_bool(h, "restart"))


@dataclass(frozen=True, slots=True)
class ChannelHungUpEvent(AmiEvent):
    ami_name: ClassVar[str] = "Hangup"
    channel: str
    uniqueid: str
    linkedid: str
    cause: int
    caller_id: str

    @classmethod
    def from_headers(cls, h: Headers) -> ChannelHungUpEvent:
        n = cls.ami_name
        return cls(
            channel=h.get("channel", ""),
            uniqueid=_req(n, h, "uniqueid"),
            linkedid=h.get("linkedid", ""),
            cause=_int(n, h, "cause", 0),
            caller_id=_cid(h, "calleridnum"),
        )


@dataclass(frozen=True, slots=True)
class OriginateFinishedEvent(AmiEvent):
    """`OriginateResponse`: the far end answered (success) or not (reason code)."""

    ami_name: ClassVar[str] = "OriginateResponse"
    action_id: str
    success: bool
    reason: int
    channel: str
    uniqueid: str

    @classmethod
    def from_headers(cls, h: Headers) -> OriginateFinishedEvent:
        n = cls.ami_name
        return cls(
            action_id=h.get("actionid", ""),
            success=h.get("response", "").lower() == "success",
            reason=_int(n, h, "reason", 0),
            channel=h.get("channel", ""),
            uniqueid=h.get("uniqueid", ""),
        )


@dataclass(frozen=True, slots=True)
class VariableSetEvent(AmiEvent):
    ami_name: ClassVar[str] = "VarSet"
    channel: str
    uniqueid: str
    variable: str
    value: str

    @classmethod
    def from_headers(cls, h: Headers) -> VariableSetEvent:
        n = cls.ami_name
        return cls(
            channel=h.get("channel", ""),
            uniqueid=h.get("uniqueid", ""),
            variable=_req(n, h, "variable"),
            value=h.get("value", ""),
        )


@dataclass(frozen=True, slots=True)
class AgiExecStartedEvent(AmiEvent):
    ami_name: ClassVar[str] = "AGIExecStart"
    channel: str
    uniqueid: str
    command: str
    command_id: str

    @classmethod
    def from_headers(cls, h: Headers) -> AgiExecStartedEvent:
        return cls(
            channel=h.get("channel", ""),
            uniqueid=h.get("uniqueid", ""),
            command=h.get("command", ""),
            command_id=h.get("commandid", ""),
        )


@dataclass(frozen=True, slots=True)
class AgiExecEndedEvent(AmiEvent):
    ami_name: ClassVar[str] = "AGIExecEnd"
    start: AgiExecStartedEvent
    result_code: int
    result: str

    @classmethod
    def from_headers(cls, h: Headers) -> AgiExecEndedEvent:
        return cls(
            start=AgiExecStartedEvent.from_headers(h),
            result_code=_int(cls.ami_name, h, "resultcode", 0),
            result=h.get("result", ""),
        )


# --- produced by the client itself, not by Asterisk ----------------------------------------


@dataclass(frozen=True, slots=True)
class AmiConnectedEvent(AmiEvent):
    """An authenticated session is up (first connect or after a reconnect)."""

    host: str
    port: int
    attempt: int


@dataclass(frozen=True, slots=True)
class AmiDisconnectedEvent(AmiEvent):
    """The session ended; the client is reconnecting with backoff unless closed."""

    reason: str


@dataclass(frozen=True, slots=True)
class QueueSnapshotEvent(AmiEvent):
    """The result of a QueueStatus resync: replaces what state.py believed about the PBX."""

    params: tuple[QueueParamsReportedEvent, ...] = ()
    members: tuple[MemberReportedEvent, ...] = ()
    entries: tuple[EntryReportedEvent, ...] = ()
    queues: frozenset[str] = field(default_factory=frozenset)


_PARSERS: dict[str, Callable[[Headers], AmiEvent]] = {
    cls.ami_name.lower(): cls.from_headers  # type: ignore[attr-defined]
    for cls in (
        CallerJoinedEvent,
        CallerLeftEvent,
        CallerAbandonedEvent,
        AgentCalledEvent,
        AgentConnectedEvent,
        AgentCompletedEvent,
        AgentNotAnsweredEvent,
        MemberStatusChangedEvent,
        MemberAddedEvent,
        MemberRemovedEvent,
        MemberPausedEvent,
        MemberReportedEvent,
        QueueParamsReportedEvent,
        EntryReportedEvent,
        PbxBootedEvent,
        PbxShutdownEvent,
        ChannelHungUpEvent,
        OriginateFinishedEvent,
        VariableSetEvent,
        AgiExecStartedEvent,
        AgiExecEndedEvent,
    )
}


def parse_event(name: str, headers: Headers, raw: tuple[tuple[str, str], ...] = ()) -> AmiEvent:
    """Typed event for an AMI `Event: name`; `headers` keys must be lower-cased."""
    parser = _PARSERS.get(name.lower())
    if parser is None:
        return OtherAmiEvent(name=name, headers=raw)
    return parser(headers)
