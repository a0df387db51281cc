"""Tables of the tickets package on the shared declarative base. Times are naive Beijing time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from infra.db import Base


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    caller: Mapped[str] = mapped_column(String(32), default="")
    line_number: Mapped[str] = mapped_column(String(32), default="")
    call_id: Mapped[str] = mapped_column(String(64), default="", index=True)
    route: Mapped[str] = mapped_column(String(64), default="")
    # The department the IVR routing suggested; the agent decides the lead department at dispatch.
    department_hint: Mapped[str] = mapped_column(String(64), default="")
    ticket_type: Mapped[str] = mapped_column(String(8))
    category: Mapped[str] = mapped_column(String(64), default="")
    level: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(24), index=True)
    policy: Mapped[str] = mapped_column(String(32))
    lead_department: Mapped[str | None] = mapped_column(String(64), index=True)
    co_departments: Mapped[list[str]] = mapped_column(JSON, default=list)
    accepted_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime)
    signed_at: Mapped[datetime | None] = mapped_column(DateTime)
    replied_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    dispatch_due: Mapped[datetime | None] = mapped_column(DateTime)
    sign_due: Mapped[datetime | None] = mapped_column(DateTime)
    return_due: Mapped[datetime | None] = mapped_column(DateTime)
    handle_due: Mapped[datetime | None] = mapped_column(DateTime)
    original_handle_due: Mapped[datetime | None] = mapped_column(DateTime)
    extension_count: Mapped[int] = mapped_column(Integer, default=0)
    extension_days: Mapped[int] = mapped_column(Integer, default=0)
    pending_extension: Mapped[int] = mapped_column(Integer, default=0)
    return_count: Mapped[int] = mapped_column(Integer, default=0)
    redo_count: Mapped[int] = mapped_column(Integer, default=0)
    closure: Mapped[str | None] = mapped_column(String(24))
    satisfaction: Mapped[str | None] = mapped_column(String(24))
    reply: Mapped[str | None] = mapped_column(Text)
    repeat_of_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    repeat_count: Mapped[int] = mapped_column(Integer, default=0)
    supervision_count: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped by every write; the first statement of a write is this bump, which takes the row lock
    # on PostgreSQL and the write lock on SQLite, so concurrent writers queue instead of racing.
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (Index("ix_tickets_caller_accepted", "caller", "accepted_at"),)


class TicketCoDepartment(Base):
    """One row per co-handling department of a ticket, so a department finds its tickets with an
    indexed equality on any database (`co_departments` keeps the ordered list for display)."""

    __tablename__ = "ticket_co_departments"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    department: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class TicketEvent(Base):
    """The audit trail: one row per transition or edit (who, when, from, to, note)."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    note: Mapped[str] = mapped_column(Text, default="")


class TicketRecording(Base):
    __tablename__ = "ticket_recordings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # voicemail | call | visit
    path: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class TicketCounter(Base):
    """Per-day sequence behind the human-readable number (YYYYMMDD-NNNNNN)."""

    __tablename__ = "ticket_counters"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Supervision(Base):
    """督办 raised on a ticket. `key` makes automatic raising idempotent per reason and cycle."""

    __tablename__ = "ticket_supervisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(80))
    raised_at: Mapped[datetime] = mapped_column(DateTime)
    note: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (UniqueConstraint("ticket_id", "key", name="uq_supervision_key"),)


class ReturnVisit(Base):
    """回访: one per reply (`round`); attempts are retried on the policy's schedule when nobody answers."""

    __tablename__ = "ticket_return_visits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | calling | done | unreachable
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    result: Mapped[str | None] = mapped_column(String(24))
    done_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (UniqueConstraint("ticket_id", "round", name="uq_return_visit_round"),)


class ApiToken(Base):
    """Bearer tokens for the REST API; only the SHA-256 of a token is stored."""

    __tablename__ = "api_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    department: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)  # None: never (issued with --days 0)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
