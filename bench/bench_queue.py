"""Queue benchmark: simulator vs the Erlang A bound, and control-loop CPU per 1000 AMI events.

    .venv/bin/python bench/bench_queue.py [--calls-per-hour 200 --aht 180 --patience 60]

Part 1 runs a flat day (one queue, constant arrivals) for each staffing level and prints
the simulated answer rate beside Erlang A's; the ratio sim/ErlangA should stay near 1.
Part 2 feeds the same recorded-format AMI byte stream through (a) a baseline loop: frame +
parse into typed events only, and (b) the same plus Board/SLA/control (QueueCore.on_event
and a tick every 50 events); it prints CPU ms per 1000 events of each and their ratio.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent_queue.ami_framing import AmiFrameParser  # noqa: E402
from agent_queue.control import ControlPolicy, QueueCore  # noqa: E402
from agent_queue.events import parse_event  # noqa: E402
from agent_queue.simulator import load_profile, simulate  # noqa: E402
from agent_queue.sla import SlaTracker  # noqa: E402
from agent_queue.staffing import erlang_a  # noqa: E402
from agent_queue.state import AgentSpec  # noqa: E402


def flat_profile(dirpath: Path, agents: int, cph: float, aht: float, patience: float) -> Path:
    f = dirpath / f"flat{agents}.toml"
    f.write_text(
        f"[day]\ncalls = {cph * 24}\naht_s = {aht}\npatience_s = {patience}\nshort_abandon_s = 0\nseed = 11\n"
        f"shape = [{', '.join(['1'] * 48)}]\n[[queues]]\nname = \"q\"\nshare = 1.0\n"
        f"[[shifts]]\nstart = \"00:00\"\nend = \"00:00\"\nagents = {agents}\nhome = \"q\"\n"
    )
    return f


def stream(n_calls: int) -> bytes:
    out = []
    agents = [f"agent{i:02d}" for i in range(1, 21)]
    for i in range(n_calls):
        uid = f"1700000000.{i}"
        a = agents[i % len(agents)]
        q = "hotline-general"
        out.append(
            f"Event: QueueCallerJoin\r\nChannel: PJSIP/trunk-{i:08x}\r\nCallerIDNum: 1380013{i % 10000:04d}\r\n"
            f"Uniqueid: {uid}\r\nQueue: {q}\r\nPosition: 1\r\nCount: 1\r\n\r\n"
            f"Event: AgentCalled\r\nUniqueid: {uid}\r\nQueue: {q}\r\nInterface: PJSIP/{a}\r\nMemberName: {a}\r\n\r\n"
            f"Event: AgentConnect\r\nUniqueid: {uid}\r\nQueue: {q}\r\nInterface: PJSIP/{a}\r\nMemberName: {a}\r\n"
            f"HoldTime: {i % 30}\r\nRingTime: 2\r\n\r\n"
            f"Event: AgentComplete\r\nUniqueid: {uid}\r\nQueue: {q}\r\nInterface: PJSIP/{a}\r\nMemberName: {a}\r\n"
            f"HoldTime: {i % 30}\r\nTalkTime: 150\r\nReason: caller\r\n\r\n"
        )
    return "".join(out).encode()


def cpu_per_1000(data: bytes, with_control: bool) -> tuple[float, int]:
    specs = [AgentSpec(f"agent{i:02d}", frozenset({"hotline-general"}), home="hotline-general") for i in range(1, 21)]
    core = QueueCore(specs=specs, tracker=SlaTracker(), policy=ControlPolicy(callbacks=False))
    parser = AmiFrameParser()
    parser.banner = ""
    start = time.process_time()
    n = 0
    now = 0.0
    for i in range(0, len(data), 4096):
        for msg in parser.feed(data[i : i + 4096]):
            ev = parse_event(msg.event_name, msg.lowered(), msg.headers)
            n += 1
            if with_control:
                now += 0.5
                core.on_event(ev, now)
                if n % 50 == 0:
                    core.tick(now)
    return (time.process_time() - start) * 1000 / n * 1000, n


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls-per-hour", type=float, default=200)
    ap.add_argument("--aht", type=float, default=180)
    ap.add_argument("--patience", type=float, default=60)
    args = ap.parse_args()
    logging.disable(logging.INFO)
    print("1) answer rate vs staffing: simulator (24 h flat day) vs Erlang A")
    print(f"   {args.calls_per_hour:.0f} calls/h, AHT {args.aht:.0f} s, patience {args.patience:.0f} s")
    print(f"   {'agents':>6} {'sim':>8} {'erlangA':>8} {'ratio':>6}")
    load = args.calls_per_hour * args.aht / 3600
    with tempfile.TemporaryDirectory() as d:
        for n in range(max(1, int(load) - 2), int(load) + 6):
            r = simulate(load_profile(flat_profile(Path(d), n, args.calls_per_hour, args.aht, args.patience)),
                         policy="rrmemory")
            bound = erlang_a(n, args.calls_per_hour, args.aht, args.patience).answered
            print(f"   {n:6d} {r.answer_rate:8.4f} {bound:8.4f} {r.answer_rate / bound:6.3f}")
    print("2) CPU per 1000 AMI events (same stream, same run)")
    data = stream(5000)
    base, n = cpu_per_1000(data, with_control=False)
    ctl, _ = cpu_per_1000(data, with_control=True)
    print(f"   events {n}; baseline parse-only {base:.1f} ms/1000; with state+SLA+control {ctl:.1f} ms/1000;"
          f" ratio {ctl / base:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
