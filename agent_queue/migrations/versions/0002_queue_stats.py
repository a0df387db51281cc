"""Queue stats: settled call outcomes for the rolling 24-hour answer rate.

Revision ID: 0002_queue_stats
Revises: 0001_tickets
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_queue_stats"
down_revision = "0001_tickets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "queue_call_outcomes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("queue", sa.String(length=80), nullable=False),
        sa.Column("uniqueid", sa.String(length=64), nullable=False),
        sa.Column("offered_at", sa.Float(), nullable=False),
        sa.Column("settled_at", sa.Float(), nullable=False),
        sa.Column("wait_s", sa.Float(), nullable=False),
        sa.Column("result", sa.String(length=24), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_queue_call_outcomes_settled_at", "queue_call_outcomes", ["settled_at"])


def downgrade() -> None:
    op.drop_index("ix_queue_call_outcomes_settled_at", table_name="queue_call_outcomes")
    op.drop_table("queue_call_outcomes")
