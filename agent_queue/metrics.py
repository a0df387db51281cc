"""Prometheus collector over the live queue state: read at scrape time, never copied.

Registered by the composition root on its registry; the figures are the tracker's and the
board's own (agent_queue/snapshot.py), so a query equals what the wallboard shows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from agent_queue.control import QueueCore
from agent_queue.snapshot import agents_by_state, longest_wait, queue_names


class QueueCollector(Collector):
    def __init__(self, *, core: QueueCore, clock: Callable[[], float]) -> None:
        self.core, self.clock = core, clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        core, now = self.core, self.clock()
        total = core.tracker.figures(now)
        yield GaugeMetricFamily("hotline_answer_rate_24h", "Rolling 24 h answer rate (answered / offered), 0..1",
                                value=total.answer_rate)
        yield GaugeMetricFamily("hotline_service_level_24h",
                                f"Rolling 24 h share of offered calls answered within {core.tracker.sl_within_s:.0f} s",
                                value=total.service_level)
        calls = GaugeMetricFamily("hotline_queue_calls_24h", "Rolling 24 h queue calls by result", labels=["result"])
        for result, n in (("offered", total.offered), ("answered", total.answered),
                          ("abandoned", total.abandoned), ("short_abandoned", total.short_abandoned)):
            calls.add_metric([result], n)
        yield calls
        waiting = GaugeMetricFamily("hotline_queue_waiting", "Callers waiting in the queue now", labels=["queue"])
        longest = GaugeMetricFamily("hotline_queue_longest_wait_seconds", "Wait of the caller longest in the queue",
                                    labels=["queue"])
        rate = GaugeMetricFamily("hotline_queue_answer_rate_24h", "Rolling 24 h answer rate per queue", labels=["queue"])
        for q in queue_names(core, now):
            waiting.add_metric([q], len(core.board.waiting_in(q)))
            longest.add_metric([q], longest_wait(core, q, now))
            rate.add_metric([q], core.tracker.figures(now, q).answer_rate)
        yield waiting
        yield longest
        yield rate
        agents = GaugeMetricFamily("hotline_agents", "Agents by state", labels=["state"])
        for state, n in agents_by_state(core).items():
            agents.add_metric([state], n)
        yield agents
        book = core.book
        callbacks = GaugeMetricFamily("hotline_callbacks", "Call-backs: pending now; placed, reached and expired "
                                      "since start", labels=["state"])
        callbacks.add_metric(["pending"], sum(1 for r in book.requests.values() if not r.in_progress))
        for name in ("placed", "reached", "expired"):
            callbacks.add_metric([name], getattr(book, name))
        yield callbacks
