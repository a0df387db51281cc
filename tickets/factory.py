"""Build the ticket service from settings; the composition root and the CLI call this once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from infra.db import make_engine, make_sessionmaker
from tickets.calendar import load_calendar
from tickets.events import Notifier
from tickets.policy import load_policy
from tickets.services import TicketService, system_clock


def build_ticket_service(
    settings: object,
    *,
    engine: AsyncEngine | None = None,
    notifier: Notifier | None = None,
    clock: Callable[[], datetime] = system_clock,
) -> tuple[AsyncEngine, TicketService]:
    """`settings` is `config.settings.Settings`; uses tickets.policy, tickets.calendar_file, database_url."""
    engine = engine or make_engine(settings.database_url)  # type: ignore[attr-defined]
    service = TicketService(
        sessionmaker=make_sessionmaker(engine),
        policy=load_policy(settings.tickets.policy),  # type: ignore[attr-defined]
        calendar=load_calendar(settings.tickets.calendar_file),  # type: ignore[attr-defined]
        clock=clock,
        notifier=notifier,
    )
    return engine, service
