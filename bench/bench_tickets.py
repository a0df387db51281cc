"""Ticket creations and transitions per second on SQLite and PostgreSQL.

Each figure is printed as a ratio against a baseline measured in the same run on the same
database: a raw single-row INSERT committed per row (the floor cost of a durable write).
A ratio near 1 means the service adds little over the database's commit cost.

    .venv/bin/python bench/bench_tickets.py [--n 300] [--concurrency 8] [--backend sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

from hotline.schema import upgrade  # noqa: E402
from infra.db import make_engine, make_sessionmaker  # noqa: E402
from tickets.calendar import load_calendar  # noqa: E402
from tickets.devpg import DevPostgres, pg_bindir  # noqa: E402
from tickets.policy import load_policy  # noqa: E402
from tickets.services import TicketService  # noqa: E402
from tickets.state import Dispatch, Reply, Sign, StartHandling  # noqa: E402


async def _rate(n: int, concurrency: int, make_one) -> float:  # noqa: ANN001
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            await make_one(i)

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    return n / (time.perf_counter() - start)


async def bench(url: str, n: int, concurrency: int) -> dict[str, float]:
    await upgrade(url)
    engine = make_engine(url, pool_size=max(5, concurrency), max_overflow=0)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE bench_raw (id INTEGER PRIMARY KEY, payload VARCHAR(200))"))

        async def raw(i: int) -> None:
            async with engine.begin() as conn:
                await conn.execute(
                    text("INSERT INTO bench_raw (id, payload) VALUES (:i, :p)"), {"i": i, "p": "x" * 60}
                )

        service = TicketService(
            sessionmaker=make_sessionmaker(engine), policy=load_policy("wuwei"), calendar=load_calendar(None)
        )
        ids: list[int] = []
        round_no = [0]

        async def create(i: int) -> None:
            ref = await service.open_from_call(
                caller=f"139{i:08d}",
                line_number="12345",
                department="",
                call_id=f"b{round_no[0]}-{i}",
                route="menu",
            )
            ids.append(ref.id)

        async def cycle(i: int) -> None:
            tid = ids[i]
            for action in (Dispatch(department="住建局"), Sign(), StartHandling(), Reply(text="已处理")):
                await service.act(tid, action, actor="bench")

        out = {}
        for label, c in (("serial", 1), (f"x{concurrency}", concurrency)):
            async with engine.begin() as conn:
                await conn.execute(text("DELETE FROM bench_raw"))
            ids.clear()
            round_no[0] += 1
            out[f"raw_insert/s {label}"] = await _rate(n, c, raw)
            out[f"create/s {label}"] = await _rate(n, c, create)
            # Four transitions per ticket, each its own transaction.
            out[f"transition/s {label}"] = 4 * await _rate(n, c, cycle)
        return out
    finally:
        await engine.dispose()


def report(backend: str, figures: dict[str, float]) -> None:
    for label in sorted({k.split(" ")[1] for k in figures}):
        base = figures[f"raw_insert/s {label}"]
        print(f"{backend:<10} {label:<7} raw INSERT+COMMIT {base:8.0f}/s (baseline 1.00)")
        for what in ("create/s", "transition/s"):
            v = figures[f"{what} {label}"]
            print(f"{backend:<10} {label:<7} {what:<13} {v:8.0f}/s  ratio {v / base:5.2f}")


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--backend", default="sqlite,postgresql")
    args = ap.parse_args()
    for backend in args.backend.split(","):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                report("sqlite", await bench(f"sqlite+aiosqlite:///{tmp}/bench.db", args.n, args.concurrency))
        elif backend == "postgresql":
            bindir = pg_bindir()
            if bindir is None:
                print("postgresql: skipped (no initdb/pg_ctl found)")
                continue
            server = DevPostgres(bindir).start()
            try:
                report("postgresql", await bench(server.create_db(), args.n, args.concurrency))
            finally:
                server.stop()
        else:
            print(f"--backend: unknown {backend!r} (sqlite, postgresql)", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
