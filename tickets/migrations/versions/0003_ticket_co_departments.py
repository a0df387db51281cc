"""Co-handling departments in their own table; caller numbers in one canonical form; API tokens
that expire and can be revoked.

A LIKE over the JSON text of `tickets.co_departments` cannot find a Chinese name on PostgreSQL
(json.dumps writes `\\uXXXX`, and PostgreSQL reads the backslash as LIKE's escape), so each
co-handling department gets a row of `ticket_co_departments`, filled here from the JSON lists.
Existing callers are rewritten with `infra.phone.canonical_number` (unparseable ones become '').

Revision ID: 0003_ticket_co_departments
Revises: 0002_queue_stats
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from infra.phone import canonical_number

revision = "0003_ticket_co_departments"
down_revision = "0002_queue_stats"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ticket_co_departments",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("ticket_id", "department"),
    )
    op.create_index("ix_ticket_co_departments_department", "ticket_co_departments", ["department"])
    op.add_column("api_tokens", sa.Column("expires_at", sa.DateTime(), nullable=True))
    op.add_column("api_tokens", sa.Column("revoked_at", sa.DateTime(), nullable=True))
    conn = op.get_bind()
    tickets = sa.table("tickets", sa.column("id", sa.Integer), sa.column("co_departments", sa.JSON),
                       sa.column("caller", sa.String))
    links = sa.table("ticket_co_departments", sa.column("ticket_id", sa.Integer),
                     sa.column("department", sa.String))
    rows = conn.execute(sa.select(tickets.c.id, tickets.c.co_departments, tickets.c.caller)).all()
    for ticket_id, co, caller in rows:
        if isinstance(co, str):  # some drivers hand JSON back as text
            co = json.loads(co or "[]")
        for department in dict.fromkeys(co or ()):
            conn.execute(links.insert().values(ticket_id=ticket_id, department=department))
        canonical = canonical_number(caller or "") or ""
        if caller and canonical != caller:
            conn.execute(tickets.update().where(tickets.c.id == ticket_id).values(caller=canonical))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("revoked_at")
        batch.drop_column("expires_at")
    op.drop_index("ix_ticket_co_departments_department", table_name="ticket_co_departments")
    op.drop_table("ticket_co_departments")
