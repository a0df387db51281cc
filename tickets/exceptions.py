"""Domain errors with stable ids; `web/` maps the id to an HTTP status, the domain never imports HTTP."""

from __future__ import annotations

from infra.errors import DomainError


class TicketError(DomainError):
    """Base of every tickets error. `error_id` is stable and safe to show; `field` names the input at fault."""

    error_id = "ticket-error"


class NoSuchTicket(TicketError):
    error_id = "no-such-ticket"


class IllegalTransition(TicketError):
    """The action is not allowed from the ticket's status (or a guard refused it). Nothing was changed."""

    error_id = "illegal-transition"


class GuardFailed(IllegalTransition):
    """The action exists from this status but a rule refused it (window closed, limit reached, wrong department)."""

    error_id = "guard-failed"


class InvalidInput(TicketError):
    error_id = "invalid-input"


class Forbidden(TicketError):
    error_id = "forbidden"


class PolicyError(TicketError):
    """A deadline policy file is missing or malformed; the message names the file and key."""

    error_id = "policy-invalid"


class CalendarNotCovered(TicketError):
    """No official working-day schedule for a year: refuse instead of guessing weekends."""

    error_id = "calendar-not-covered"

    def __init__(self, year: int, detail: str = "") -> None:
        super().__init__(
            f"no official working-day schedule for year {year}: the chinesecalendar library does not cover it"
            f" and no admin calendar file supplies it (set tickets.calendar_file){detail}",
            field="calendar",
        )
        self.year = year
