"""Call-back requests: the caller who pressed 1 keeps their place; abandoned callers with a
caller ID get an automatic attempt within a configurable time. Results go to the ticket
through the small `TicketNotes` protocol (tickets implements it; a logging fallback exists).
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from typing import Protocol

from infra.logs import log_event
from infra.phone import canonical_number

log = logging.getLogger(__name__)

def callback_number(raw: str | None) -> str | None:
    """The number a call-back dials for this caller ID (the project's one canonical form), or
    None when it cannot be dialled: anonymous, withheld, 'unknown', SIPp's 'sipp', non-numeric."""
    return canonical_number(raw)


def can_call_back(raw: str | None) -> bool:
    return callback_number(raw) is not None


class CallbackKind(enum.Enum):
    KEEP_PLACE = "keep_place"  # caller accepted the offer while queued
    ABANDONED = "abandoned"  # caller hung up; we try them back


@dataclass(slots=True)
class CallbackRequest:
    kind: CallbackKind
    queue: str
    uniqueid: str  # the original inbound call
    number: str
    joined_at: float  # the place in line it keeps (original join time)
    requested_at: float
    due_by: float  # after this the attempt is given up (abandoned kind)
    attempts: int = 0
    in_progress: bool = False
    next_try_at: float = 0.0


class TicketNotes(Protocol):
    """What agent_queue needs from tickets: one note per call-back event on the call's ticket."""

    async def note_callback(self, *, call_id: str, outcome: str, detail: str) -> None: ...


class LogTicketNotes:
    """Fallback when no ticket store is wired (simulator, tests): the log is the record."""

    async def note_callback(self, *, call_id: str, outcome: str, detail: str) -> None:
        log_event(log, "callback note", call_id=call_id, outcome=outcome, detail=detail)


@dataclass
class CallbackBook:
    """Pending call-backs in the order they are owed: keep-place by original join time first."""

    max_attempts: int = 2
    retry_after_s: float = 120.0
    requests: dict[str, CallbackRequest] = field(default_factory=dict)
    placed: int = 0
    reached: int = 0
    expired: int = 0

    def add(self, req: CallbackRequest) -> bool:
        """One pending call-back per citizen: a caller who gave up three times is called once."""
        if callback_number(req.number) is None or req.uniqueid in self.requests:
            return False
        if any(r.number == req.number for r in self.requests.values()):
            return False
        self.requests[req.uniqueid] = req
        return True

    def next_due(self, now: float, queues: set[str] | None = None) -> CallbackRequest | None:
        ready = [
            r for r in self.requests.values()
            if not r.in_progress and r.next_try_at <= now and (queues is None or r.queue in queues)
        ]
        if not ready:
            return None
        # Owed places first (they were promised), then abandoned callers, oldest first.
        return min(ready, key=lambda r: (r.kind is not CallbackKind.KEEP_PLACE, r.joined_at))

    def expire(self, now: float) -> list[CallbackRequest]:
        gone = [r for r in self.requests.values() if not r.in_progress and now > r.due_by]
        for r in gone:
            del self.requests[r.uniqueid]
        self.expired += len(gone)
        return gone

    def started(self, req: CallbackRequest) -> None:
        req.in_progress = True
        req.attempts += 1
        self.placed += 1

    def finished(self, req: CallbackRequest, *, reached: bool, now: float) -> bool:
        """Record an attempt's end; True when the request is settled (reached or out of tries)."""
        req.in_progress = False
        if reached:
            self.reached += 1
            self.requests.pop(req.uniqueid, None)
            return True
        if req.attempts >= self.max_attempts or now + self.retry_after_s > req.due_by:
            self.requests.pop(req.uniqueid, None)
            return True
        req.next_try_at = now + self.retry_after_s
        return False
