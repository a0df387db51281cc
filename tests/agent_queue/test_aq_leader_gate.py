"""QueueService with several engines: only the leader's queue decisions are applied."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from agent_queue.services import QueueService


class _Core:
    def __init__(self) -> None:
        self.tracker = SimpleNamespace(window_s=86400.0, load=lambda outcomes: None)

    def tick(self, now: float) -> list[str]:
        return ["decision"]


class _Client:
    connected = True

    def subscribe(self, kind: object, handler: object) -> None:
        pass


async def test_decisions_wait_for_leadership() -> None:
    leader = SimpleNamespace(is_leader=False)
    svc = QueueService(client=_Client(), core=_Core(), tick_s=0.01, leader=leader)  # type: ignore[arg-type]
    applied: list[str] = []

    async def apply(d: str) -> None:
        applied.append(d)

    svc.apply = apply  # type: ignore[method-assign]
    await svc.start()
    try:
        await asyncio.sleep(0.1)
        assert applied == []  # a follower keeps quiet
        leader.is_leader = True
        await asyncio.sleep(0.1)
        assert applied and set(applied) == {"decision"}
    finally:
        await svc.stop()


async def test_new_leader_backfills_what_it_saw_settle_and_keeps_existing_rows(tmp_path) -> None:  # noqa: ANN001
    from agent_queue.models import QueueCallOutcomeRow
    from agent_queue.services import SlaStore
    from agent_queue.sla import CallOutcome, Result, SlaTracker
    from infra.db import make_engine, make_sessionmaker

    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'q.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(QueueCallOutcomeRow.__table__.create)
    store = SlaStore(make_sessionmaker(engine))
    now = 1_000_000.0
    seen = [CallOutcome("q", f"u{i}", now - 50, now - 40 + i, 3.0, Result.ANSWERED) for i in range(3)]
    await store.save(seen[0])  # the old leader stored this one before it died
    core = _Core()
    core.tracker = SlaTracker()
    for o in seen:
        core.tracker.record(o)
    leader = SimpleNamespace(is_leader=True)
    svc = QueueService(client=_Client(), core=core, store=store, tick_s=0.01, leader=leader,  # type: ignore[arg-type]
                       clock=lambda: now)  # fmt: skip

    async def apply(d: str) -> None:
        pass

    svc.apply = apply  # type: ignore[method-assign]
    await svc.start()
    try:
        await asyncio.sleep(0.1)
    finally:
        await svc.stop()
    rows = await store.load_since(0)
    assert sorted(o.uniqueid for o in rows) == ["u0", "u1", "u2"]
    await engine.dispose()
