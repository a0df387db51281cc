"""Rolling 24-hour service-level tracker (pure: outcomes and `now` in, figures out).

Definitions (the issue's, made precise):
- offered = calls that reached a queue, minus short abandons (caller gone within
  `short_abandon_s`: misdials and "oops" hang-ups, which the industry leaves out);
- answer rate (接通率) = answered by an agent / offered;
- service level = answered within `sl_within_s` / offered;
- abandon rate = abandoned (not short) / offered; average wait over answered calls.
A call-back that keeps the caller's place is settled by the call-back's result: answered if
it reached an agent and the citizen, abandoned otherwise; until then it is still open.
The window slides on the time the outcome was settled, so a restart that reloads the last
24 h of outcomes (services.SlaStore) gives the same figures as before.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

DAY = 86_400.0


class Result(enum.Enum):
    ANSWERED = "answered"
    ABANDONED = "abandoned"
    CALLBACK_ANSWERED = "callback_answered"
    CALLBACK_FAILED = "callback_failed"

    @property
    def answered(self) -> bool:
        return self in (Result.ANSWERED, Result.CALLBACK_ANSWERED)


@dataclass(frozen=True, slots=True)
class CallOutcome:
    queue: str
    uniqueid: str
    offered_at: float  # epoch seconds the caller joined the queue
    settled_at: float  # epoch seconds the outcome became known
    wait_s: float  # time in queue until answered / gave up
    result: Result


@dataclass(frozen=True, slots=True)
class Figures:
    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    answered_within: int
    wait_total_s: float

    @property
    def answer_rate(self) -> float:
        return self.answered / self.offered if self.offered else 1.0

    @property
    def service_level(self) -> float:
        return self.answered_within / self.offered if self.offered else 1.0

    @property
    def abandon_rate(self) -> float:
        return self.abandoned / self.offered if self.offered else 0.0

    @property
    def average_wait_s(self) -> float:
        return self.wait_total_s / self.answered if self.answered else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "offered": self.offered,
            "answered": self.answered,
            "abandoned": self.abandoned,
            "short_abandoned": self.short_abandoned,
            "answer_rate": round(self.answer_rate, 4),
            "service_level": round(self.service_level, 4),
            "abandon_rate": round(self.abandon_rate, 4),
            "average_wait_s": round(self.average_wait_s, 1),
        }


class _Counter:
    __slots__ = ("offered", "answered", "abandoned", "short", "within", "wait")

    def __init__(self) -> None:
        self.offered = self.answered = self.abandoned = self.short = self.within = 0
        self.wait = 0.0

    def add(self, kind: tuple[int, int, int, int, int, float], sign: int) -> None:
        o, a, ab, sh, w, wt = kind
        self.offered += sign * o
        self.answered += sign * a
        self.abandoned += sign * ab
        self.short += sign * sh
        self.within += sign * w
        self.wait += sign * wt

    def figures(self) -> Figures:
        return Figures(self.offered, self.answered, self.abandoned, self.short, self.within, self.wait)


class SlaTracker:
    """Counts in a sliding window, O(1) per outcome, overall and per queue."""

    def __init__(self, *, window_s: float = DAY, short_abandon_s: float = 5.0, sl_within_s: float = 20.0) -> None:
        self.window_s = window_s
        self.short_abandon_s = short_abandon_s
        self.sl_within_s = sl_within_s
        self._items: deque[CallOutcome] = deque()
        self._total = _Counter()
        self._per_queue: dict[str, _Counter] = {}

    def _kind(self, o: CallOutcome) -> tuple[int, int, int, int, int, float]:
        if o.result.answered:
            return (1, 1, 0, 0, int(o.wait_s <= self.sl_within_s), o.wait_s)
        if o.result is Result.ABANDONED and o.wait_s < self.short_abandon_s:
            return (0, 0, 0, 1, 0, 0.0)
        return (1, 0, 1, 0, 0, 0.0)

    def record(self, outcome: CallOutcome) -> None:
        # Outcomes arrive nearly in settle order; keep the deque sorted for eviction.
        if self._items and outcome.settled_at < self._items[-1].settled_at:
            items = sorted([*self._items, outcome], key=lambda o: o.settled_at)
            self._items = deque(items)
        else:
            self._items.append(outcome)
        kind = self._kind(outcome)
        self._total.add(kind, 1)
        self._per_queue.setdefault(outcome.queue, _Counter()).add(kind, 1)

    def load(self, outcomes: Iterable[CallOutcome]) -> None:
        for o in sorted(outcomes, key=lambda o: o.settled_at):
            self.record(o)

    def settled_since(self, since: float) -> list[CallOutcome]:
        """Outcomes settled after `since`, oldest first."""
        return [o for o in self._items if o.settled_at > since]

    def _evict(self, now: float) -> None:
        edge = now - self.window_s
        while self._items and self._items[0].settled_at <= edge:
            o = self._items.popleft()
            kind = self._kind(o)
            self._total.add(kind, -1)
            self._per_queue[o.queue].add(kind, -1)

    def figures(self, now: float, queue: str | None = None) -> Figures:
        self._evict(now)
        if queue is None:
            return self._total.figures()
        counter = self._per_queue.get(queue)
        return counter.figures() if counter else _Counter().figures()

    def per_queue(self, now: float) -> dict[str, Figures]:
        self._evict(now)
        return {q: c.figures() for q, c in sorted(self._per_queue.items()) if c.offered or c.short}

    def per_hour(self, now: float) -> list[tuple[float, Figures]]:
        """Figures per clock hour (by offer time) of the window, oldest first."""
        self._evict(now)
        buckets: dict[float, _Counter] = {}
        for o in self._items:
            start = o.offered_at - (o.offered_at % 3600)
            buckets.setdefault(start, _Counter()).add(self._kind(o), 1)
        return [(h, c.figures()) for h, c in sorted(buckets.items())]

    def projected_rate(self, now: float, *, open_calls: int, expected_answered: float, queue: str | None = None) -> float:
        """Answer rate if the calls open now end as expected (expected_answered of open_calls)."""
        f = self.figures(now, queue)
        offered = f.offered + open_calls
        return (f.answered + expected_answered) / offered if offered else 1.0
