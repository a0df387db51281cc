"""/metrics scraped by a real Prometheus equals the tracker; /healthz and /readyz bodies."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from agent_queue.control import ControlPolicy, QueueCore
from agent_queue.events import CallerJoinedEvent
from agent_queue.metrics import QueueCollector
from agent_queue.sla import CallOutcome, Result, SlaTracker
from agent_queue.state import AgentSpec
from infra.metrics import Metrics
from tests.support.prometheus import prometheus_binary, running_prometheus
from tests.web.conftest import TOKENS
from tickets.metrics import TicketCollector
from tickets.tokens import StaticTokens
from web.app import create_app
from web.metrics import MetricsSource


def _core_with_history(now: float) -> QueueCore:
    core = QueueCore(specs=[AgentSpec("agent01", frozenset({"hotline-general"}))], tracker=SlaTracker(),
                     policy=ControlPolicy())
    # 23 answered, 3 abandoned after a real wait, 2 short abandons (not offered): 23/26.
    results = [Result.ANSWERED] * 23 + [Result.ABANDONED] * 3
    for i, result in enumerate(results):
        core.tracker.record(CallOutcome("hotline-general", f"u{i}", now - 3000 + i, now - 2900 + i,
                                        12.0 if result is Result.ANSWERED else 40.0, result))
    for i in range(2):
        core.tracker.record(CallOutcome("hotline-general", f"s{i}", now - 100, now - 99, 2.0, Result.ABANDONED))
    core.on_event(CallerJoinedEvent(queue="hotline-general", uniqueid="w1", channel="PJSIP/trunk-1",
                                    caller_id="13900000009", position=1, count=1), now - 42)
    return core


async def _app(service, core: QueueCore, clock):  # noqa: ANN001
    metrics = Metrics(CollectorRegistry())
    metrics.registry.register(QueueCollector(core=core, clock=time.time))
    tickets = TicketCollector(sessionmaker=service.sessionmaker, now=service.now, metrics=metrics)
    metrics.registry.register(tickets)

    async def db_ok() -> None:
        return None

    async def ami_down() -> str:
        return "not connected to Asterisk's AMI at 127.0.0.1:5038"

    return create_app(
        tickets=service, tokens=StaticTokens(TOKENS),
        metrics_source=MetricsSource(metrics.registry, refresh=(tickets.refresh,)),
        readiness={"database": db_ok, "ami": ami_down},
    )


async def test_metrics_text_names_queue_agent_and_ticket_figures(service, clock):
    now = time.time()
    core = _core_with_history(now)
    await service.create(channel="phone", caller="13800000001", ticket_type="咨询", text="路灯不亮", actor="t")
    async with TestClient(TestServer(await _app(service, core, clock))) as client:
        resp = await client.get("/metrics")
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain")
        text = await resp.text()
    rate = core.tracker.figures(time.time()).answer_rate
    assert f"hotline_answer_rate_24h {rate!r}" in text
    assert 'hotline_queue_waiting{queue="hotline-general"} 1.0' in text
    assert 'hotline_queue_calls_24h{result="short_abandoned"} 2.0' in text
    assert 'hotline_agents{state="logged_out"} 1.0' in text
    assert 'hotline_tickets{status="accepted"} 1.0' in text
    assert 'hotline_db_query_seconds_count{query="ticket_summary"} 1.0' in text
    longest = next(line for line in text.splitlines() if line.startswith("hotline_queue_longest_wait_seconds{"))
    assert 42 <= float(longest.rsplit(" ", 1)[1]) < 60


async def test_overdue_tickets_are_counted(service, clock):
    view = await service.create(channel="phone", caller="13800000002", ticket_type="投诉", text="噪音扰民", actor="t")
    collector = TicketCollector(sessionmaker=service.sessionmaker, now=service.now, metrics=Metrics())
    assert (await collector.refresh()).overdue == 0
    clock.now += timedelta(days=3)  # far past the dispatch deadline of an accepted ticket
    summary = await collector.refresh()
    assert summary.overdue == 1, view
    assert summary.by_status["accepted"] == 1


async def test_healthz_alive_and_readyz_names_the_failing_check(service, clock):
    async with TestClient(TestServer(await _app(service, _core_with_history(time.time()), clock))) as client:
        alive = await client.get("/healthz")
        assert alive.status == 200 and await alive.json() == {"ok": True}
        ready = await client.get("/readyz")
        body = await ready.json()
    assert ready.status == 503
    assert body["ok"] is False
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["ami"] == {"ok": False, "ms": body["checks"]["ami"]["ms"],
                                     "error": "not connected to Asterisk's AMI at 127.0.0.1:5038"}


@pytest.mark.skipif(prometheus_binary() is None, reason="Debian's prometheus is not installed (make test installs it)")
async def test_a_real_prometheus_scrape_gives_the_trackers_answer_rate(service, clock, tmp_path):
    core = _core_with_history(time.time())
    server = TestServer(await _app(service, core, clock), host="127.0.0.1")
    async with TestClient(server):
        started = time.time()
        async with running_prometheus(f"127.0.0.1:{server.port}", tmp_path / "prom") as prom:
            scraped = await prom.scraped_value("hotline_answer_rate_24h", after=started)
            waiting = await prom.scraped_value('hotline_queue_waiting{queue="hotline-general"}', after=started)
            targets = await prom.target_health()
    figures = core.tracker.figures(time.time())
    assert (figures.offered, figures.answered) == (26, 23)  # independent of the metrics code
    assert scraped == figures.answer_rate == 23 / 26
    assert waiting == 1
    assert [t["health"] for t in targets] == ["up"]


async def test_every_metric_the_grafana_dashboard_queries_is_exposed(service, clock):
    import json
    import re
    from pathlib import Path

    dashboard = json.loads((Path(__file__).resolve().parents[2] / "docs/grafana/hotline.json").read_text())
    wanted = {m for p in dashboard["panels"] for t in p["targets"] for m in re.findall(r"hotline_[a-z0-9_]+", t["expr"])}
    metrics = Metrics(CollectorRegistry())
    metrics.registry.register(QueueCollector(core=_core_with_history(time.time()), clock=time.time))
    tickets = TicketCollector(sessionmaker=service.sessionmaker, now=service.now, metrics=metrics)
    metrics.registry.register(tickets)
    await tickets.refresh()
    metrics.calls.labels(line="12345", outcome="queued").inc()
    metrics.ivr_decisions.labels(route="queue", queue="hotline-general").inc()
    metrics.queue_decisions.labels(decision="AddMember", queue="hotline-general").inc()
    metrics.agi_session.observe(3)
    metrics.asr_rtf.observe(0.2)
    metrics.asr_intent_latency.observe(0.3)
    exposed = {s.name for family in metrics.registry.collect() for s in family.samples}
    assert wanted and wanted <= exposed, sorted(wanted - exposed)
