"""GET /metrics: the composition root's Prometheus registry in the text exposition format."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from infra.logs import log_event

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MetricsSource:
    """`refresh` coroutines run before each scrape (figures that need the database); one that
    fails or takes longer than `refresh_timeout_s` leaves its last figures in place."""

    registry: CollectorRegistry
    refresh: Sequence[Callable[[], Awaitable[object]]] = ()
    refresh_timeout_s: float = 2.0


METRICS = web.AppKey("metrics", MetricsSource)


async def metrics(request: web.Request) -> web.Response:
    source = request.app[METRICS]
    for refresh in source.refresh:
        try:
            await asyncio.wait_for(refresh(), source.refresh_timeout_s)
        except Exception as exc:  # noqa: BLE001 - a scrape still answers with what it has
            log_event(log, "metrics refresh failed", logging.WARNING, error=repr(exc))
    body = generate_latest(source.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
