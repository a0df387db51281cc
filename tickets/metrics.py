"""Prometheus collector for ticket counts. A scrape must not wait on the database inside
prometheus-client's synchronous collect(), so the web handler awaits `refresh()` first (timed
into hotline_db_query_seconds) and collect() yields the figures it read."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import async_sessionmaker

from infra.metrics import Metrics
from tickets.summary import TicketSummary, ticket_summary


class TicketCollector(Collector):
    def __init__(self, *, sessionmaker: async_sessionmaker, now: Callable[[], datetime], metrics: Metrics) -> None:
        self.sessionmaker, self.now, self.metrics = sessionmaker, now, metrics
        self.last: TicketSummary | None = None

    async def refresh(self) -> TicketSummary:
        with self.metrics.db_timer("ticket_summary"):
            self.last = await ticket_summary(self.sessionmaker, self.now())
        return self.last

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if self.last is None:
            return
        by_status = GaugeMetricFamily("hotline_tickets", "Tickets in the store by status", labels=["status"])
        for status, n in self.last.by_status.items():
            by_status.add_metric([status], n)
        yield by_status
        yield GaugeMetricFamily("hotline_tickets_overdue", "Open tickets past a deadline (dispatch, sign or handling)",
                                value=self.last.overdue)
        yield GaugeMetricFamily("hotline_tickets_supervised_open", "Open tickets under supervision (督办)",
                                value=self.last.supervised_open)
