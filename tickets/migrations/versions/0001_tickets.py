"""Tickets: tickets, audit events, recordings, counters, supervisions, return visits, API tokens.

Revision ID: 0001_tickets
Revises:
Create Date: 2026-11-23 15:28:58.480595
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_tickets"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_table(
        "ticket_counters",
        sa.Column("day", sa.String(length=8), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("caller", sa.String(length=32), nullable=False),
        sa.Column("line_number", sa.String(length=32), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("route", sa.String(length=64), nullable=False),
        sa.Column("department_hint", sa.String(length=64), nullable=False),
        sa.Column("ticket_type", sa.String(length=8), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("level", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("policy", sa.String(length=32), nullable=False),
        sa.Column("lead_department", sa.String(length=64), nullable=True),
        sa.Column("co_departments", sa.JSON(), nullable=False),
        sa.Column("accepted_at", sa.DateTime(), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(), nullable=True),
        sa.Column("signed_at", sa.DateTime(), nullable=True),
        sa.Column("replied_at", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("dispatch_due", sa.DateTime(), nullable=True),
        sa.Column("sign_due", sa.DateTime(), nullable=True),
        sa.Column("return_due", sa.DateTime(), nullable=True),
        sa.Column("handle_due", sa.DateTime(), nullable=True),
        sa.Column("original_handle_due", sa.DateTime(), nullable=True),
        sa.Column("extension_count", sa.Integer(), nullable=False),
        sa.Column("extension_days", sa.Integer(), nullable=False),
        sa.Column("pending_extension", sa.Integer(), nullable=False),
        sa.Column("return_count", sa.Integer(), nullable=False),
        sa.Column("redo_count", sa.Integer(), nullable=False),
        sa.Column("closure", sa.String(length=24), nullable=True),
        sa.Column("satisfaction", sa.String(length=24), nullable=True),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("repeat_of_id", sa.Integer(), nullable=True),
        sa.Column("repeat_count", sa.Integer(), nullable=False),
        sa.Column("supervision_count", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["repeat_of_id"],
            ["tickets.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tickets_accepted_at"), ["accepted_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_call_id"), ["call_id"], unique=False)
        batch_op.create_index("ix_tickets_caller_accepted", ["caller", "accepted_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_lead_department"), ["lead_department"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_repeat_of_id"), ["repeat_of_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_status"), ["status"], unique=False)

    op.create_table(
        "ticket_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=24), nullable=True),
        sa.Column("to_status", sa.String(length=24), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_events_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "ticket_recordings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ticket_recordings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_recordings_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "ticket_return_visits",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("result", sa.String(length=24), nullable=True),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id", "round", name="uq_return_visit_round"),
    )
    with op.batch_alter_table("ticket_return_visits", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ticket_return_visits_next_attempt_at"), ["next_attempt_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ticket_return_visits_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_ticket_return_visits_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "ticket_supervisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("raised_at", sa.DateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id", "key", name="uq_supervision_key"),
    )
    with op.batch_alter_table("ticket_supervisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_supervisions_ticket_id"), ["ticket_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ticket_supervisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_supervisions_ticket_id"))

    op.drop_table("ticket_supervisions")
    with op.batch_alter_table("ticket_return_visits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_return_visits_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_ticket_return_visits_status"))
        batch_op.drop_index(batch_op.f("ix_ticket_return_visits_next_attempt_at"))

    op.drop_table("ticket_return_visits")
    with op.batch_alter_table("ticket_recordings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_recordings_ticket_id"))

    op.drop_table("ticket_recordings")
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_events_ticket_id"))

    op.drop_table("ticket_events")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_status"))
        batch_op.drop_index(batch_op.f("ix_tickets_repeat_of_id"))
        batch_op.drop_index(batch_op.f("ix_tickets_lead_department"))
        batch_op.drop_index("ix_tickets_caller_accepted")
        batch_op.drop_index(batch_op.f("ix_tickets_call_id"))
        batch_op.drop_index(batch_op.f("ix_tickets_accepted_at"))

    op.drop_table("tickets")
    op.drop_table("ticket_counters")
    op.drop_table("api_tokens")
