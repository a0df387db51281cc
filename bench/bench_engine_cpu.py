"""Engine CPU-milliseconds per call under SIPp load: ours (one asyncio process) vs pyst2 (a process per call).

    .venv/bin/python bench/bench_engine_cpu.py [--calls 100] [--rate 4] [--profile FILE]

The calls/s comparison of bench_ivr.py is media-bound on 2 cores and hides what each call costs
the AGI side. This bench runs the same journey on the same private Asterisk (its setup is
imported from bench_ivr.py: 12345 -> menu -> key 3 -> transfer prompt -> Queue) at a rate every
system carries without failures, and reads CPU time where each implementation spends it:

  ours   CPU of this process (the engine runs here) over the step: `time.process_time()` delta,
         less this process's CPU over an idle stretch of the same length (the AMI reader that
         counts queue joins and the SIPp wrapper also run here);
         The engine's 24 h tracker must settle every call (they give up in the queue, which has
         no agents here): a run where the engine lost calls fails;
  pyst2  CPU of the AGI script processes: Asterisk forks one per call and reaps it, so the
         children's CPU (cutime + cstime in /proc/<asterisk>/stat) grows by exactly theirs.

Asterisk's own CPU per call (utime + stime) is printed for both as context. `--profile FILE`
runs the engine's step under cProfile on CPU time and writes the top functions (where it goes).
The PBX lock (/tmp/hotline-pbx.lock) is held for the whole run. Progress on stderr; the table,
`RESULT ...` and `ratio ...` lines on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
_spec = importlib.util.spec_from_file_location("bench_ivr", ROOT / "bench" / "bench_ivr.py")
assert _spec is not None and _spec.loader is not None
ivr_bench = importlib.util.module_from_spec(_spec)
sys.modules["bench_ivr"] = ivr_bench  # its dataclasses look their module up
_spec.loader.exec_module(ivr_bench)

from agent_queue import actions  # noqa: E402
from hotline import pbx  # noqa: E402
from infra.logs import setup_logging  # noqa: E402
from tests.support.ami_watch import AmiWatch  # noqa: E402
from tests.support.sipp import Sipp  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
LABELS = ivr_bench.LABELS
progress = ivr_bench.progress


def proc_cpu(pid: int) -> tuple[float, float]:
    """(own CPU s, reaped children's CPU s) of a process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime) / TICK, (cutime + cstime) / TICK


def asterisk_pid(proc_pid: int) -> int:
    """The asterisk process itself (the launcher may be a chroot/sh wrapper that stays its parent)."""
    name = Path(f"/proc/{proc_pid}/comm").read_text().strip()
    if name == "asterisk":
        return proc_pid
    for kid in ivr_bench._children(proc_pid):
        if Path(f"/proc/{kid}/comm").read_text().strip() == "asterisk":
            return kid
    return proc_pid


@dataclass
class Measured:
    system: str
    calls: int
    ok: int
    joined: int
    seconds: float
    agi_cpu_s: float  # engine process (ours) or AGI script processes (pyst2)
    asterisk_cpu_s: float
    tracked: int = -1  # calls the engine's 24 h tracker settled (ours): the AMI filter lost none

    @property
    def agi_ms_per_call(self) -> float:
        return 1000 * self.agi_cpu_s / self.ok if self.ok else float("nan")

    @property
    def asterisk_ms_per_call(self) -> float:
        return 1000 * self.asterisk_cpu_s / self.ok if self.ok else float("nan")


async def measure(bench, system: str, args: argparse.Namespace, ast_pid: int, profile: Path | None) -> Measured:
    calls, rate = args.calls, args.rate
    await bench.idle()
    tracker = bench.engine.queue_manager.core.tracker if system == "ours" and bench.engine else None

    def settled() -> int:
        if tracker is None:
            return -1
        f = tracker.figures(time.time())
        return f.offered + f.short_abandoned

    settled0 = settled()
    mark = bench.ami.mark()
    profiler = None
    if profile is not None:
        import cProfile

        # CPU time, not wall time: the step is mostly waiting for the PBX.
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
    own0, ast0 = time.process_time(), proc_cpu(ast_pid)
    started = time.monotonic()
    result = await bench.sipp.call(
        ivr_bench.NUMBERS[system], steps=bench.caller_steps(), calls=calls, rate=rate, limit=calls,
        timeout_s=int(calls / rate + bench.call_seconds() + 20), name=f"cpu-{system}",
    )
    await bench.idle()
    seconds = time.monotonic() - started
    own1, ast1 = time.process_time(), proc_cpu(ast_pid)
    if profiler is not None:
        import io
        import pstats

        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(40)
        stats.sort_stats("cumulative").print_stats(60)
        profile.write_text(out.getvalue(), encoding="utf-8")
        progress(f"cProfile report (CPU time; own time, then cumulative): {profile}")
    joined = {e.get("Channel") for e in bench.ami.since(mark, "QueueCallerJoin", Queue=bench.j.queue)}
    if system == "ours":
        # This process's CPU when no call runs, over the same wall time, is not the engine's work per call.
        idle0 = time.process_time()
        await asyncio.sleep(min(seconds, 10.0))
        idle_rate = (time.process_time() - idle0) / min(seconds, 10.0)
        agi = max(0.0, own1 - own0 - idle_rate * seconds)
    else:
        agi = ast1[1] - ast0[1]
    m = Measured(system, calls, result.successful, len(joined), seconds, agi, ast1[0] - ast0[0],
                 settled() - settled0 if tracker is not None else -1)
    progress(f"{system:6s} {calls} calls at {rate}/s: sipp ok {m.ok}, joined {m.joined}; AGI side "
             f"{m.agi_ms_per_call:.1f} CPU-ms/call, asterisk {m.asterisk_ms_per_call:.1f} CPU-ms/call")
    return m


async def run(args: argparse.Namespace, var_dir: Path) -> int:
    from hotline.engine import Engine

    main_task = asyncio.current_task()
    assert main_task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, main_task.cancel)
    settings = ivr_bench.bench_settings(var_dir)
    layout = ivr_bench.bench_layout(settings)
    pbx.install(settings, progress=progress)
    journey = await ivr_bench.plan_journey(settings, layout)
    bench_pbx = ivr_bench.BenchPbx(settings, layout)
    ami = AmiWatch()
    engine = None
    results: list[Measured] = []
    try:
        bench_pbx.mount_proc()
        script = ivr_bench.install_pyst2(settings, layout, journey)
        bench_pbx.start(ivr_bench.bench_conf(journey, rtt_commands=10, script=script))
        launched = pbx.running_pid(settings)
        assert launched is not None, "the bench's Asterisk is not running"
        ast_pid = asterisk_pid(launched)
        await ami.connect("127.0.0.1", settings.ami.port, settings.ami.username, settings.ami_secret())
        await ami.action(actions.events("agent"))
        sipp_dir = var_dir / "sipp"
        sipp_dir.mkdir()
        ns = argparse.Namespace(margin=2.0)
        bench = ivr_bench.Bench(ns, settings, journey, Sipp(sipp_dir, pbx_port=settings.pbx.sip_port), ami, bench_pbx)
        engine = Engine(settings)
        await engine.start()
        bench.engine = engine
        progress(f"engine up (FastAGI 127.0.0.1:{settings.engine.agi_port}, speech off)")
        # Warm up: first-call imports, prompt cache, SQLite file creation are not per-call costs.
        await bench.sipp.call(ivr_bench.NUMBERS["ours"], steps=bench.caller_steps(), calls=3, rate=3, limit=3,
                              timeout_s=30, name="warm-ours")
        results.append(await measure(bench, "ours", args, ast_pid, args.profile))
        await engine.close()
        engine = None
        results.append(await measure(bench, "pyst2", args, ast_pid, None))
    finally:
        if engine is not None:
            await engine.close()
        await ami.close()
        for pid in ivr_bench._children(os.getpid()):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        bench_pbx.stop()
    print()
    print(f"Engine CPU per call: {ivr_bench.LINE} -> menu -> key {ivr_bench.KEY} -> transfer prompt -> "
          f"Queue({journey.queue}); {args.calls} calls at {args.rate}/s; {os.cpu_count()} CPU(s)")
    head = (f"{'system':28s} {'ok':>5s} {'joined':>7s} {'tracked':>8s} {'AGI CPU-ms/call':>16s} "
            f"{'asterisk CPU-ms/call':>21s}")
    print(head)
    print("-" * len(head))
    for m in results:
        print(f"{LABELS[m.system]:28s} {m.ok:>5d} {m.joined:>7d} {m.tracked if m.tracked >= 0 else '-':>8} "
              f"{m.agi_ms_per_call:>16.2f} "
              f"{m.asterisk_ms_per_call:>21.2f}")
    for m in results:
        print(f"RESULT system={m.system} calls={m.calls} ok={m.ok} joined={m.joined} tracked={m.tracked} "
              f"agi_cpu_ms_per_call={m.agi_ms_per_call:.2f} asterisk_cpu_ms_per_call={m.asterisk_ms_per_call:.2f}")
    by = {m.system: m for m in results}
    ours, base = by["ours"], by["pyst2"]
    if ours.ok and base.ok and ours.agi_cpu_s > 0:
        print(f"ratio pyst2/ours AGI CPU per call: {base.agi_ms_per_call / ours.agi_ms_per_call:.1f}")

    # ours: the engine's tracker must have settled every call (callers give up in the agentless queue).
    bad = [m for m in results if m.ok < m.calls or m.joined < m.calls or 0 <= m.tracked < m.calls]
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--calls", type=int, default=100, help="calls per system (default 100)")
    p.add_argument("--rate", type=int, default=4, help="calls per second, below every system's ceiling (default 4)")
    p.add_argument("--profile", type=Path, help="write a cProfile report (CPU time) of the engine's step here")

    args = p.parse_args(argv)
    if args.calls < 1 or args.rate < 1:
        p.error("--calls and --rate must be >= 1")
    if not shutil.which("sipp"):
        print("bench_engine_cpu: sipp is not installed (apt-get install sip-tester)", file=sys.stderr)
        return 1
    setup_logging("WARNING")
    with ivr_bench.pbx_lock(), tempfile.TemporaryDirectory(prefix="bench-cpu-") as tmp:
        try:
            return asyncio.run(run(args, Path(tmp)))
        except pbx.PbxError as exc:
            print(f"bench_engine_cpu: {exc}", file=sys.stderr)
            return 1
        except asyncio.CancelledError:
            print("bench_engine_cpu: interrupted", file=sys.stderr)
            return 130


if __name__ == "__main__":
    sys.exit(main())
