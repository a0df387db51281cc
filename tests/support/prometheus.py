"""A real Prometheus server (Debian's `prometheus` package) scraping one target, for tests.

Started with a temporary config and data directory on a free port, scraping every second;
`query()` asks its HTTP API. Everything is bounded in time and the process is stopped (by its
own pid) when the context ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path


def prometheus_binary() -> str | None:
    return shutil.which("prometheus")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prometheus:
    def __init__(self, base_url: str, proc: subprocess.Popen, log: Path) -> None:
        self.base_url, self.proc, self.log = base_url, proc, log

    def _get(self, path: str, **params: str) -> dict:
        url = f"{self.base_url}{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=5) as resp:
            return json.loads(resp.read())

    async def query(self, expr: str) -> list[dict]:
        body = await asyncio.to_thread(self._get, "/api/v1/query", query=expr)
        assert body["status"] == "success", body
        return body["data"]["result"]

    async def scraped_value(self, expr: str, *, after: float, timeout: float = 30.0) -> float:
        """The value of a one-series query, from a scrape that happened after `after` (epoch s)."""
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                stamps = await self.query(f"timestamp({expr})")
                if len(stamps) == 1 and float(stamps[0]["value"][1]) >= after:
                    result = await self.query(expr)
                    if len(result) == 1:
                        return float(result[0]["value"][1])
                last = stamps
            if self.proc.poll() is not None:
                raise AssertionError(f"prometheus exited: {self.log.read_text()[-2000:]}")
            await asyncio.sleep(0.5)
        raise AssertionError(f"prometheus: no fresh sample of {expr} in {timeout}s (last {last}); "
                             f"log: {self.log.read_text()[-1500:]}")

    async def target_health(self) -> list[dict]:
        body = await asyncio.to_thread(self._get, "/api/v1/targets")
        return body["data"]["activeTargets"]


@contextlib.asynccontextmanager
async def running_prometheus(target: str, workdir: Path, *, boot_timeout: float = 30.0) -> AsyncIterator[Prometheus]:
    binary = prometheus_binary()
    assert binary, "prometheus is not installed"
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
        "scrape_configs:\n  - job_name: hotline\n    metrics_path: /metrics\n"
        f"    static_configs:\n      - targets: ['{target}']\n"
    )
    port = _free_port()
    log = workdir / "prometheus.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: ASYNC220 - Popen returns at once; waits go to a thread
            [binary, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    prom = Prometheus(f"http://127.0.0.1:{port}", proc, log)
    try:
        deadline = time.monotonic() + boot_timeout
        while True:
            try:
                await asyncio.to_thread(urllib.request.urlopen, f"{prom.base_url}/-/ready", None, 2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"prometheus did not become ready: {log.read_text()[-2000:]}") from None
                await asyncio.sleep(0.2)
        yield prom
    finally:
        proc.terminate()
        try:
            await asyncio.to_thread(proc.wait, 10)
        except subprocess.TimeoutExpired:
            proc.kill()
            await asyncio.to_thread(proc.wait, 5)
