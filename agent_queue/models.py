"""Tables of the queue manager on the shared declarative base (migration 0002_queue_stats)."""

from __future__ import annotations

from sqlalchemy import Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from infra.db import Base


class QueueCallOutcomeRow(Base):
    """One settled inbound call: what the rolling 24 h tracker is rebuilt from after a restart.

    No caller number is stored: the figures do not need it and the ticket already has it.
    """

    __tablename__ = "queue_call_outcomes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    queue: Mapped[str] = mapped_column(String(80))
    uniqueid: Mapped[str] = mapped_column(String(64))
    offered_at: Mapped[float] = mapped_column(Float)
    settled_at: Mapped[float] = mapped_column(Float)
    wait_s: Mapped[float] = mapped_column(Float)
    result: Mapped[str] = mapped_column(String(24))

    __table_args__ = (Index("ix_queue_call_outcomes_settled_at", "settled_at"),)
