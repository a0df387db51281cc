"""Typed events the ticket service publishes after a commit; one notifier method per event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class TicketCreatedEvent:
    ticket_id: int
    number: str
    channel: str
    at: datetime


@dataclass(frozen=True)
class TicketTransitionedEvent:
    ticket_id: int
    number: str
    action: str
    from_status: str
    to_status: str
    actor: str
    at: datetime


@dataclass(frozen=True)
class SupervisionRaisedEvent:
    ticket_id: int
    number: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class RepeatLinkedEvent:
    ticket_id: int
    repeat_of_id: int
    repeat_count: int


class Notifier(Protocol):
    def ticket_created(self, event: TicketCreatedEvent) -> None: ...
    def ticket_transitioned(self, event: TicketTransitionedEvent) -> None: ...
    def supervision_raised(self, event: SupervisionRaisedEvent) -> None: ...
    def repeat_linked(self, event: RepeatLinkedEvent) -> None: ...


class NullNotifier:
    def ticket_created(self, event: TicketCreatedEvent) -> None:
        pass

    def ticket_transitioned(self, event: TicketTransitionedEvent) -> None:
        pass

    def supervision_raised(self, event: SupervisionRaisedEvent) -> None:
        pass

    def repeat_linked(self, event: RepeatLinkedEvent) -> None:
        pass


class RecordingNotifier(NullNotifier):
    """Keeps every event in order; for tests and for a wallboard that polls."""

    def __init__(self) -> None:
        self.events: list[object] = []

    def ticket_created(self, event: TicketCreatedEvent) -> None:
        self.events.append(event)

    def ticket_transitioned(self, event: TicketTransitionedEvent) -> None:
        self.events.append(event)

    def supervision_raised(self, event: SupervisionRaisedEvent) -> None:
        self.events.append(event)

    def repeat_linked(self, event: RepeatLinkedEvent) -> None:
        self.events.append(event)
