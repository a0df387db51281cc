"""Persistence: a restart rebuilds the same rolling figures from the database."""

from __future__ import annotations

from pathlib import Path

from agent_queue.models import QueueCallOutcomeRow
from agent_queue.services import SlaStore
from agent_queue.sla import DAY, CallOutcome, Result, SlaTracker
from infra.db import make_engine, make_sessionmaker


async def test_restart_loses_no_history(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'q.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(QueueCallOutcomeRow.__table__.create)
    store = SlaStore(make_sessionmaker(engine))
    before = SlaTracker()
    now = 10 * DAY
    for i in range(40):
        o = CallOutcome("q", f"u{i}", now - 3600 + i, now - 3000 + i, float(i % 30),
                        Result.ABANDONED if i % 9 == 0 else Result.ANSWERED)
        before.record(o)
        await store.save(o)
    await store.save(CallOutcome("q", "ancient", now - 2 * DAY, now - 2 * DAY, 50, Result.ABANDONED))
    after = SlaTracker()
    after.load(await store.load_since(now - after.window_s))
    assert after.figures(now) == before.figures(now)
    f = after.figures(now)
    # i = 9, 18, 27, 36 abandoned; i = 0 waited 0 s (short); the 2-day-old one left the window
    assert (f.abandoned, f.short_abandoned, f.offered) == (4, 1, 39)
    await engine.dispose()
