"""One JSON-ready picture of the queues at `now`, read from QueueCore (pure: no I/O, no clock).

The wallboard polls it and /metrics' collector reads the same numbers, so a supervisor and
Prometheus never disagree: waiting callers and the longest wait per queue, agents by state,
the rolling 24 h figures overall and per queue with hourly bars, and call-backs.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from agent_queue.control import QueueCore
from agent_queue.state import AgentState

HOUR = 3600.0


def queue_names(core: QueueCore, now: float) -> list[str]:
    names = core.board.queues() | set(core.tracker.per_queue(now))
    return sorted(names)


def longest_wait(core: QueueCore, queue: str, now: float) -> float:
    waiters = core.board.waiting_in(queue)
    return max(0.0, now - waiters[0].joined_at) if waiters else 0.0


def agents_by_state(core: QueueCore) -> dict[str, int]:
    counts = Counter(a.state.value for a in core.board.agents.values())
    return {s.value: counts.get(s.value, 0) for s in AgentState}


def hourly(core: QueueCore, now: float, day_start: float) -> dict[str, list[dict[str, Any]]]:
    """Answer rate per clock hour for the day starting at `day_start` and the day before;
    hours the 24 h window no longer holds, or without calls, are null."""
    by_hour = {h: f for h, f in core.tracker.per_hour(now)}

    def day(start: float) -> list[dict[str, Any]]:
        out = []
        for i in range(24):
            f = by_hour.get(start + i * HOUR)
            out.append({"hour": i, "offered": f.offered if f else 0,
                        "answer_rate": round(f.answer_rate, 4) if f and f.offered else None})
        return out

    return {"today": day(day_start), "yesterday": day(day_start - 24 * HOUR)}


def queue_snapshot(core: QueueCore, now: float, *, day_start: float) -> dict[str, Any]:
    total = core.tracker.figures(now)
    per_queue = core.tracker.per_queue(now)
    queues = []
    for name in queue_names(core, now):
        f = per_queue.get(name) or core.tracker.figures(now, name)
        queues.append({
            "name": name,
            "waiting": len(core.board.waiting_in(name)),
            "longest_wait_s": round(longest_wait(core, name, now), 1),
            "members": len(core.board.members(name)),
            "free": len(core.board.free_agents(name, now)),
            **f.as_dict(),
        })
    book = core.book
    return {
        "at": now,
        "target": core.policy.target,
        "totals": {**total.as_dict(), "waiting": len(core.board.waiting)},
        "queues": queues,
        "agents": agents_by_state(core),
        "agent_list": [
            {"id": a.spec.id, "state": a.state.value, "since": a.since, "queues": sorted(a.queues),
             "calls_taken": a.calls_taken}
            for a in sorted(core.board.agents.values(), key=lambda a: a.spec.id)
        ],
        "callbacks": {
            "pending": sum(1 for r in book.requests.values() if not r.in_progress),
            "in_progress": sum(1 for r in book.requests.values() if r.in_progress),
            "placed": book.placed, "reached": book.reached, "expired": book.expired,
        },
        "hourly": hourly(core, now, day_start),
    }
