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
