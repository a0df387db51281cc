"""Prometheus metrics of the engine's events, built once against the composition root's registry.

The composition root makes one `Metrics(registry)` and passes it down (keyword arguments) to
the services where the events happen: ivr counts calls and decisions and times AGI sessions,
asr times decoding, tickets times its queries. State that is already kept elsewhere (queue
board, 24 h tracker, ticket counts) is not copied into gauges: collectors read it at scrape
time (agent_queue/metrics.py, tickets/metrics.py). A service built without a `Metrics` gets
one on a private registry, so nothing is shared between tests by a module-level global.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Histogram

# AGI sessions last from a second (transfer) to minutes (menus, speech).
_SESSION_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600)
_FAST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
_RTF_BUCKETS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        r = self.registry
        self.calls = Counter(
            "hotline_calls", "Calls the IVR finished, by dialled line and outcome "
            "(queued, transferred, emergency, not_accepted, selfservice, voicemail, hangup, failed)",
            ["line", "outcome"], registry=r,
        )
        self.agi_session = Histogram(
            "hotline_agi_session_seconds", "Duration of one FastAGI call session in the engine",
            buckets=_SESSION_BUCKETS, registry=r,
        )
        self.ivr_decisions = Counter(
            "hotline_ivr_decisions", "Routing decisions the IVR carried out, by route and target queue",
            ["route", "queue"], registry=r,
        )
        self.asr_rtf = Histogram(
            "hotline_asr_real_time_factor", "Decoding time / audio time of one utterance (below 1: faster than speech)",
            buckets=_RTF_BUCKETS, registry=r,
        )
        self.asr_intent_latency = Histogram(
            "hotline_asr_end_of_speech_to_intent_seconds",
            "From the caller's last voiced audio to the intent being matched (asr endpointing + recognition + ivr match)",
            buckets=_FAST_BUCKETS, registry=r,
        )
        self.queue_decisions = Counter(
            "hotline_queue_control_decisions", "What the queue control loop did, by decision and queue",
            ["decision", "queue"], registry=r,
        )
        self.db_latency = Histogram(
            "hotline_db_query_seconds", "Database round trips timed by the engine, by query",
            ["query"], buckets=_FAST_BUCKETS, registry=r,
        )

    @contextmanager
    def db_timer(self, query: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.db_latency.labels(query=query).observe(time.perf_counter() - started)
