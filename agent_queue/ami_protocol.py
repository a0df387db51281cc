"""AMI protocol (pure): matching the frames of a reply to the action that asked for it.

A reply is one Response, or a Response that starts an event list ended by `EventList: Complete`,
or (async Originate) a Response followed by OriginateResponse.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agent_queue.ami_framing import AmiMessage
from agent_queue.events import (
    AmiEvent,
    AmiResponse,
    EntryReportedEvent,
    MemberReportedEvent,
    QueueParamsReportedEvent,
    QueueSnapshotEvent,
    parse_event,
)
from agent_queue.exceptions import AmiActionFailed

# Actions that must not be sent twice: a second Originate rings a citizen twice.
NOT_RESENDABLE = frozenset({"originate", "login", "ping", "logoff"})


@dataclass(eq=False)
class PendingAction:
    """Collects the reply to one action; `feed` returns True once it is complete."""

    name: str
    action_id: str
    payload: Mapping[str, Any]
    expects_originate: bool = False
    messages: list[AmiMessage] = field(default_factory=list)
    is_list: bool = False
    done: bool = False
    sent_in_session: int = 0

    def feed(self, msg: AmiMessage) -> bool:
        if not self.messages:
            if not msg.is_response:
                return False  # an event before the response: not ours to finish (yet)
            self.messages.append(msg)
            ok = msg.get("response").lower() in ("success", "follows", "goodbye")
            text = msg.get("message").lower()
            if not ok:
                self.done = True
            elif msg.get("eventlist").lower() == "start" or "will follow" in text:
                self.is_list = True
            elif self.expects_originate:
                pass  # wait for OriginateResponse
            else:
                self.done = True
            return self.done
        self.messages.append(msg)
        if self.is_list:
            if msg.get("eventlist").lower() == "complete" or msg.event_name.endswith("Complete"):
                self.done = True
        elif self.expects_originate and msg.event_name == "OriginateResponse":
            self.done = True
        return self.done

    def result(self) -> list[AmiEvent]:
        """[AmiResponse, typed events...]; raises AmiActionFailed for an error response."""
        first = self.messages[0]
        resp = AmiResponse(
            success=first.get("response").lower() in ("success", "follows", "goodbye"),
            message=first.get("message") or first.body,
            action_id=self.action_id,
            headers=first.headers,
        )
        if not resp.success:
            raise AmiActionFailed(self.name, resp.message or first.get("response"))
        out: list[AmiEvent] = [resp]
        for msg in self.messages[1:]:
            out.append(parse_event(msg.event_name, msg.lowered(), msg.headers))
        return out


def snapshot_from(events: Iterable[AmiEvent]) -> QueueSnapshotEvent:
    params = tuple(e for e in events if isinstance(e, QueueParamsReportedEvent))
    return QueueSnapshotEvent(
        params=params,
        members=tuple(e for e in events if isinstance(e, MemberReportedEvent)),
        entries=tuple(e for e in events if isinstance(e, EntryReportedEvent)),
        queues=frozenset(p.queue for p in params),
    )

