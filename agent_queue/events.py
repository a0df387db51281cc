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
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar, Self

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


# --- the declarative spec: each event field names its header(s) and how to read it ----------
#
# `field: type = hdr("header", read=...)`: `parse_event` reads the first non-empty header of
# those named, through `read` (text by default), and names the event and header when a
# value is missing or malformed. `or_field` falls back to another field's value.

Read = Callable[[str, str, "str | None", Headers], Any]  # (event, header, raw or None, headers) -> value


@dataclass(frozen=True, slots=True)
class _Header:
    keys: tuple[str, ...]
    read: Read
    or_field: str | None = None


def _text(_event: str, _key: str, raw: str | None, _h: Headers) -> str:
    return raw or ""


def _required(event: str, key: str, raw: str | None, _h: Headers) -> str:
    if not raw:
        raise AmiEventInvalid(f"AMI event {event}: header {key!r} missing")
    return raw


def _integer(event: str, key: str, raw: str | None, _h: Headers) -> int:
    if not raw:
        return 0
    try:
        return int(raw)
    except ValueError:
        raise AmiEventInvalid(f"AMI event {event}: header {key!r}={raw!r} is not an integer") from None


def _number(event: str, key: str, raw: str | None, _h: Headers) -> float:
    if not raw:
        return 0.0
    try:
        return float(raw)
    except ValueError:
        raise AmiEventInvalid(f"AMI event {event}: header {key!r}={raw!r} is not a number") from None


def _flag(_event: str, _key: str, raw: str | None, _h: Headers) -> bool:
    return (raw or "").strip().lower() in ("1", "yes", "true", "on")


def _caller_id(_event: str, _key: str, raw: str | None, _h: Headers) -> str:
    # Asterisk writes "<unknown>" for an absent caller ID; a call-back must not dial that.
    return "" if raw in (None, "<unknown>", "unknown") else raw


def _member_status(event: str, key: str, raw: str | None, h: Headers) -> MemberStatus:
    code = _integer(event, key, raw, h)
    try:
        return MemberStatus(code)
    except ValueError:
        raise AmiEventInvalid(f"AMI event {event}: header {key!r}={code} is not a device state") from None


def _paused_reason(_event: str, _key: str, _raw: str | None, h: Headers) -> str:
    # Asterisk 12 called it Reason, 13+ PausedReason (present but empty when unpaused).
    return h.get("pausedreason", h.get("reason", ""))


def _is_success(_event: str, _key: str, raw: str | None, _h: Headers) -> bool:
    return (raw or "").lower() == "success"


def _agi_start(_event: str, _key: str, _raw: str | None, h: Headers) -> AgiExecStartedEvent:
    return AgiExecStartedEvent.from_headers(h)


def hdr(*keys: str, read: Read = _text, or_field: str | None = None, default: Any = MISSING) -> Any:
    """A field read from AMI header(s) `keys` (lower-case) by `read`; see the block comment above."""
    spec = {"ami": _Header(keys, read, or_field)}
    return field(metadata=spec) if default is MISSING else field(default=default, metadata=spec)


@dataclass(frozen=True, slots=True)
class AmiEvent:
    """Base of every event the AMI edge delivers."""

    ami_name: ClassVar[str] = ""

    @classmethod
    def from_headers(cls, h: Headers) -> Self:
        """Build the event from lower-cased headers by its fields' `hdr` specs."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            spec: _Header | None = f.metadata.get("ami")
            if spec is None:
                continue
            raw = next((h[k] for k in spec.keys if h.get(k)), None)
            if raw is None and spec.or_field is not None:
                values[f.name] = values[spec.or_field]
            else:
                values[f.name] = spec.read(cls.ami_name, spec.keys[0] if spec.keys else f.name, raw, h)
        return cls(**values)


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
    queue: str = hdr("queue", read=_required)
    uniqueid: str = hdr("uniqueid", read=_required)
    channel: str = hdr("channel")
    caller_id: str = hdr("calleridnum", read=_caller_id)
    position: int = hdr("position", read=_integer)
    count: int = hdr("count", read=_integer)
    linkedid: str = hdr("linkedid", default="")


@dataclass(frozen=True, slots=True)
class CallerLeftEvent(AmiEvent):
    """The caller left the queue: answered, or timed out / exited; abandon comes separately."""

    ami_name: ClassVar[str] = "QueueCallerLeave"
    queue: str = hdr("queue", read=_required)
    uniqueid: str = hdr("uniqueid", read=_required)
    channel: str = hdr("channel")
    position: int = hdr("position", read=_integer)
    count: int = hdr("count", read=_integer)


@dataclass(frozen=True, slots=True)
class CallerAbandonedEvent(AmiEvent):
    ami_name: ClassVar[str] = "QueueCallerAbandon"
    queue: str = hdr("queue", read=_required)
    uniqueid: str = hdr("uniqueid", read=_required)
    caller_id: str = hdr("calleridnum", read=_caller_id)
    hold_time: int = hdr("holdtime", read=_integer)
    position: int = hdr("position", read=_integer)
    original_position: int = hdr("originalposition", read=_integer)


# --- agents --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentCalledEvent(AmiEvent):
    ami_name: ClassVar[str] = "AgentCalled"
    queue: str = hdr("queue", read=_required)
    uniqueid: str = hdr("uniqueid", read=_required)
    interface: str = hdr("interface", read=_required)
    member_name: str = hdr("membername", or_field="interface")


@dataclass(frozen=True, slots=True)
class AgentConnectedEvent(AmiEvent):
    ami_name: ClassVar[str] = "AgentConnect"
    queue: str = hdr("queue", read=_required)
    uniqueid: str = hdr("uniqueid", read=_required)
    interface: str = hdr("interface", read=_required)
    member_name: str = hdr("membername", or_field="interface")
    hold_time: int = hdr("holdtime", read=_integer)
    ring_time: int = hdr("ringtime", read=_integer)


@dataclass(frozen=True, slots=True)
class AgentCompletedEvent(AmiEvent):
    ami_name: ClassVar[str] = "AgentComplete"
    queue: str = hdr("queue", read=_required)
    uniqueid: str = hdr("uniqueid", read=_required)
    interface: str = hdr("interface", read=_required)
    member_name: str = hdr("membername", or_field="interface")
    hold_time: int = hdr("holdtime", read=_integer)
    talk_time: int = hdr("talktime", read=_integer)
    reason: str = hdr("reason")


@dataclass(frozen=True, slots=True)
class AgentNotAnsweredEvent(AmiEvent):
    ami_name: ClassVar[str] = "AgentRingNoAnswer"
    queue: str = hdr("queue", read=_required)
    uniqueid: str = hdr("uniqueid", read=_required)
    interface: str = hdr("interface", read=_required)
    member_name: str = hdr("membername", or_field="interface")
    ring_time_ms: int = hdr("ringtime", read=_integer)


@dataclass(frozen=True, slots=True)
class _MemberFields(AmiEvent):
    queue: str = hdr("queue", read=_required)
    interface: str = hdr("interface", "location", read=_required)
    member_name: str = hdr("membername", "name", or_field="interface")
    status: MemberStatus = hdr("status", read=_member_status)
    paused: bool = hdr("paused", read=_flag)
    penalty: int = hdr("penalty", read=_integer)
    in_call: bool = hdr("incall", read=_flag)
    calls_taken: int = hdr("callstaken", read=_integer, default=0)
    paused_reason: str = hdr("pausedreason", read=_paused_reason, default="")
    wrapup_time: int = hdr("wrapuptime", read=_integer, default=0)
    state_interface: str = hdr("stateinterface", default="")


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
    queue: str = hdr("queue", read=_required)
    strategy: str = hdr("strategy")
    calls: int = hdr("calls", read=_integer)
    completed: int = hdr("completed", read=_integer)
    abandoned: int = hdr("abandoned", read=_integer)
    service_level: int = hdr("servicelevel", read=_integer)
    hold_time: int = hdr("holdtime", read=_integer)
    talk_time: int = hdr("talktime", read=_integer)


@dataclass(frozen=True, slots=True)
class EntryReportedEvent(AmiEvent):
    """One `QueueEntry` line of a QueueStatus list: a caller waiting now (resync)."""

    ami_name: ClassVar[str] = "QueueEntry"
    queue: str = hdr("queue", read=_required)
    uniqueid: str = hdr("uniqueid", read=_required)
    channel: str = hdr("channel")
    caller_id: str = hdr("calleridnum", read=_caller_id)
    position: int = hdr("position", read=_integer)
    wait: int = hdr("wait", read=_integer)


# --- PBX, channels, originate, AGI ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PbxBootedEvent(AmiEvent):
    ami_name: ClassVar[str] = "FullyBooted"
    uptime: float = hdr("uptime", read=_number, default=0.0)


@dataclass(frozen=True, slots=True)
class PbxShutdownEvent(AmiEvent):
    ami_name: ClassVar[str] = "Shutdown"
    restart: bool = hdr("restart", read=_flag, default=False)


@dataclass(frozen=True, slots=True)
class ChannelHungUpEvent(AmiEvent):
    ami_name: ClassVar[str] = "Hangup"
    channel: str = hdr("channel")
    uniqueid: str = hdr("uniqueid", read=_required)
    linkedid: str = hdr("linkedid")
    cause: int = hdr("cause", read=_integer)
    caller_id: str = hdr("calleridnum", read=_caller_id)


@dataclass(frozen=True, slots=True)
class OriginateFinishedEvent(AmiEvent):
    """`OriginateResponse`: the far end answered (success) or not (reason code)."""

    ami_name: ClassVar[str] = "OriginateResponse"
    action_id: str = hdr("actionid")
    success: bool = hdr("response", read=_is_success)
    reason: int = hdr("reason", read=_integer)
    channel: str = hdr("channel")
    uniqueid: str = hdr("uniqueid")


@dataclass(frozen=True, slots=True)
class VariableSetEvent(AmiEvent):
    ami_name: ClassVar[str] = "VarSet"
    channel: str = hdr("channel")
    uniqueid: str = hdr("uniqueid")
    variable: str = hdr("variable", read=_required)
    value: str = hdr("value")


@dataclass(frozen=True, slots=True)
class AgiExecStartedEvent(AmiEvent):
    ami_name: ClassVar[str] = "AGIExecStart"
    channel: str = hdr("channel")
    uniqueid: str = hdr("uniqueid")
    command: str = hdr("command")
    command_id: str = hdr("commandid")


@dataclass(frozen=True, slots=True)
class AgiExecEndedEvent(AmiEvent):
    ami_name: ClassVar[str] = "AGIExecEnd"
    start: AgiExecStartedEvent = hdr(read=_agi_start)
    result_code: int = hdr("resultcode", read=_integer)
    result: str = hdr("result")


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
    cls.ami_name.lower(): cls.from_headers
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
