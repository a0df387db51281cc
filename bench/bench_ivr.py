"""IVR benchmark: the highest calls per second with zero failed calls, ours vs plain dialplan vs pyst2.

    .venv/bin/python bench/bench_ivr.py [--max-rate 64] [--sustain 6] [--calls N] [--rtt-commands 200]

One run, one machine, one real Asterisk, three implementations of the same caller journey
(12345 -> main menu -> key 3 -> "transferring you to 市人社局" -> Queue(hrss-12333)):

  ours      the product: compiled `12345` -> [hotline-call] -> FastAGI -> ivr.services.CallService
            running hotline_merge's CallFlow (it also opens a ticket row in SQLite per call);
  dialplan  the same journey in plain Asterisk dialplan: Answer, Read(menu prompt), Playback(transfer
            prompt), Set(the same IVR_* variables), Queue() -- same prompt files, no ticket;
  pyst2     a classic process-per-call AGI script: `AGI(/opt/hotline-bench/pyst2_ivr.py)` forks a
            Python interpreter per call that uses pyst2's `asterisk.agi.AGI` over stdin/stdout and
            sends the same AGI commands as ours (ANSWER, GET DATA, STREAM FILE, SET VARIABLE x5).

A call counts as good only if SIPp completed it (INVITE/200/ACK, RFC 2833 key "0", BYE/200)
AND it joined the expected queue (AMI QueueCallerJoin) before the caller hung up, which SIPp
does `--margin` seconds after the transfer prompt would have ended. Everything else -- a SIPp
error or timeout, the fallback queue, a late join -- is a failed call. Each rate step places
`rate x --sustain` calls (or `--calls`) at that rate; rates double until a step has a failure
or `--max-rate` is reached, then a binary search narrows the highest rate without failures.

AGI command round trip: one more call type per system runs `--rtt-commands` SET VARIABLE commands
in a row and times each one where the AGI client sees it (ours: `AgiChannel.set_variable` inside
a handler added to the engine's own FastAGI server; pyst2: `AGI.set_variable` inside the script,
samples written to a file), a few calls at once; p50/p99 over all samples.

Where it runs: an Asterisk of its own, separate from the dev/test PBX (own config, run, spool,
log and lib directories, own SIP/AMI/AGI ports), started and stopped here; the engine runs in
this process (speech off: the menu is keypad only). The pyst2 script needs a Python inside the
PBX chroot: Debian's `python3` is installed there once with the chroot's apt (kept in the cache
for later runs) and pyst2 (+ six) are copied from this virtualenv into /opt/hotline-bench/pylib.
With a system asterisk (no chroot) the script runs on this virtualenv's interpreter.

The PBX lock (/tmp/hotline-pbx.lock) is held for the whole run. When an ancestor process already
holds it (`flock /tmp/hotline-pbx.lock pytest ...` running the smoke test), that counts as held.
Progress goes to stderr; the table and `RESULT ...` / `ratio ...` lines go to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import errno
import fcntl
import importlib.util
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent_queue import actions  # noqa: E402
from config import Settings, load_settings  # noqa: E402
from hotline import pbx  # noqa: E402
from hotline_merge.flow import CallFlow, Collect, DigitsEntered, Finish, Play, Played  # noqa: E402
from hotline_merge.loader import load_dialplan  # noqa: E402
from infra.logs import setup_logging  # noqa: E402
from ivr.prompts import PromptLibrary  # noqa: E402
from tests.support.ami_watch import AmiWatch  # noqa: E402
from tests.support.sipp import Sipp  # noqa: E402

LOCK_FILE = Path("/tmp/hotline-pbx.lock")
TZ = ZoneInfo("Asia/Shanghai")
LINE = "12345"
KEY = "0"  # 0 = agent: the one key of the main menu that queues at once
NUMBERS = {"ours": LINE, "dialplan": "90012345", "pyst2": "90112345"}
RTT_NUMBERS = {"ours": "90212345", "pyst2": "90312345"}
SYSTEMS = ("ours", "dialplan", "pyst2")
LABELS = {"ours": "ours (FastAGI engine)", "dialplan": "plain dialplan", "pyst2": "pyst2 AGI per call"}
BENCH_DIR = "/opt/hotline-bench"  # pbx view
PRE_KEY_MS = 1200  # the caller listens to the menu this long, then keys "0"
KEY_MS = 400  # tests.support.sipp waits this long after each key


def progress(msg: str) -> None:
    print(f"[bench_ivr {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- PBX lock


def _ancestors() -> set[int]:
    pids, pid = set(), os.getpid()
    while pid > 1:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
        pids.add(pid)
    return pids


def _flock_holders(path: Path) -> set[int]:
    """PIDs holding a flock on `path`, from /proc/locks (waiters, marked '->', are skipped)."""
    inode = path.stat().st_ino
    holders = set()
    with contextlib.suppress(OSError):
        for line in Path("/proc/locks").read_text().splitlines():
            parts = line.split()
            if len(parts) < 6 or parts[1] != "FLOCK":
                continue
            if parts[5].rsplit(":", 1)[-1] == str(inode):
                holders.add(int(parts[4]))
    return holders


@contextlib.contextmanager
def pbx_lock():
    fh = LOCK_FILE.open("a")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            if _flock_holders(LOCK_FILE) & _ancestors():
                progress(f"{LOCK_FILE} is held by a parent process (flock ... pytest): running under it")
            else:
                progress(f"waiting for {LOCK_FILE} (someone else is using the PBX)")
                fcntl.flock(fh, fcntl.LOCK_EX)
        yield
    finally:
        fh.close()


# --------------------------------------------------------------------------- settings and PBX


def _free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_settings(var_dir: Path) -> Settings:
    """Own ports and var dir; speech off (no model), so the menu is the keypad path."""
    env = {
        "HOTLINE_VAR_DIR": str(var_dir),
        "HOTLINE_PBX_SIP_BIND": "127.0.0.1",
        "HOTLINE_PBX_SIP_PORT": str(_free_port(socket.SOCK_DGRAM)),
        "HOTLINE_AMI_PORT": str(_free_port()),
        "HOTLINE_ENGINE_AGI_PORT": str(_free_port()),
        "HOTLINE_ENGINE_AUDIOSOCKET_PORT": str(_free_port()),
        "HOTLINE_ENGINE_WEB_PORT": str(_free_port()),
        "HOTLINE_ENGINE_LOG_LEVEL": "WARNING",
        "HOTLINE_VOSK_MODEL": "",
    }
    return load_settings(environ=env)


def bench_layout(settings: Settings) -> pbx.Layout:
    """The dev PBX's layout with private etc/run/spool/log/lib dirs (prompts are shared)."""
    base = pbx.layout_for(settings)
    if base.root is None:
        return base  # a system asterisk already keeps everything under settings.var_dir
    return dataclasses.replace(
        base, etc_dir="/etc/hotline-asterisk-bench", varlib_dir="/var/lib/asterisk-bench",
        spool_dir="/var/spool/asterisk-bench", run_dir="/run/asterisk-bench",
        log_dir="/var/log/asterisk-bench",
    )


class BenchPbx:
    """The benchmark's own Asterisk: hotline.pbx.start/stop on `layout` (private dirs), with
    the baseline contexts as extra config."""

    def __init__(self, settings: Settings, layout: pbx.Layout) -> None:
        self.settings = settings
        self.layout = layout

    def rx(self, command: str, timeout: float = 20) -> str:
        return pbx.rx(self.settings, command, layout=self.layout, timeout=timeout)

    def mount_proc(self) -> None:
        if self.layout.root is not None:
            pbx.mount_proc(self.layout.root)

    def start(self, extra_conf: str, boot_timeout: float = 60) -> None:
        pbx.start(self.settings, progress, boot_timeout=boot_timeout, layout=self.layout,
                  extra_config={"bench-ivr.conf": extra_conf})

    def stop(self) -> None:
        pbx.stop(self.settings, progress, layout=self.layout)


# --------------------------------------------------------------------------- the journey


@dataclass(frozen=True)
class Journey:
    """What the product's CallFlow does for 12345 + key 3, for the baselines to copy."""

    menu: str  # pbx path of the menu prompt, no extension
    menu_timeout_s: int
    transfer: str
    transfer_ms: int
    queue: str
    route: str
    department: str


async def plan_journey(settings: Settings, layout: pbx.Layout) -> Journey:
    plan = load_dialplan(settings.dialplan.path)
    flow = CallFlow(plan, LINE, at=datetime.now(TZ), speech=False)  # the engine here runs without a model
    collect = flow.start()
    play = flow.feed(DigitsEntered(KEY))
    finish = flow.feed(Played())
    if not (isinstance(collect, Collect) and isinstance(play, Play) and isinstance(finish, Finish)):
        raise SystemExit(f"bench_ivr: the {LINE} flow changed shape: {collect!r} / {play!r} / {finish!r}")
    d = finish.decision
    if d.action != "queue":
        raise SystemExit(f"bench_ivr: {LINE} + {KEY} no longer queues: {d.action}")
    recordings = settings.dialplan.path / "recordings" if settings.dialplan.path.is_dir() else None
    prompts = PromptLibrary(host_dir=layout.host(layout.prompt_dir), pbx_dir=layout.prompt_dir,
                            recordings_dir=recordings)
    menu = await prompts.ensure(collect.prompt_id, collect.text)
    transfer = await prompts.ensure(play.prompt_id, play.text)
    with wave.open(str(layout.host(transfer + ".wav")), "rb") as w:
        transfer_ms = round(w.getnframes() * 1000 / w.getframerate())
    return Journey(menu=menu, menu_timeout_s=collect.timeout_s, transfer=transfer, transfer_ms=transfer_ms,
                   queue=d.queue or "", route=d.route, department=d.department or "")


def bench_conf(j: Journey, *, rtt_commands: int, script: str) -> str:
    """Contexts of the two baselines and the round-trip calls (pulled in by the extensions
    template's `#tryinclude bench-ivr.conf`, which only this benchmark's config dir has)."""
    n = NUMBERS
    return f"""; Written by bench/bench_ivr.py into its own PBX config; not part of the product.
[hotline-inbound]
exten => {n['dialplan']},1,Goto(bench-dialplan-ivr,s,1)
exten => {n['pyst2']},1,Goto(bench-pyst2-ivr,s,1)
exten => {RTT_NUMBERS['ours']},1,Goto(bench-rtt,ours,1)
exten => {RTT_NUMBERS['pyst2']},1,Goto(bench-rtt,pyst2,1)

; 12345 -> menu -> 3 -> transfer prompt -> queue, in plain dialplan (no ticket: no database here).
[bench-dialplan-ivr]
exten => s,1,Answer()
 same => n,Set(CHANNEL(language)=zh)
 same => n,Read(KEY,{j.menu},1,,1,{j.menu_timeout_s})
 same => n,GotoIf($["${{KEY}}" = "{KEY}"]?key3)
 same => n,Set(IVR_ROUTE=fallback:unexpected-key)
 same => n,Queue(hotline-fallback,t)
 same => n,Hangup()
 same => n(key3),Playback({j.transfer})
 same => n,Set(IVR_ROUTE={j.route})
 same => n,Set(TICKET_ID=${{UNIQUEID}})
 same => n,Set(IVR_DEPARTMENT={j.department})
 same => n,Set(IVR_QUEUE={j.queue})
 same => n,Set(IVR_ACTION=queue)
 same => n,Queue(${{IVR_QUEUE}},t)
 same => n,Hangup()

; The same journey as a classic AGI script, one process per call; the dialplan around it is
; [hotline-call]'s: without a decision the caller goes to the fallback queue.
[bench-pyst2-ivr]
exten => s,1,Set(CHANNEL(language)=zh)
 same => n,AGI({script},ivr)
 same => n,GotoIf($["${{AGISTATUS}}" = "SUCCESS" & "${{IVR_ACTION}}" = "queue"]?queue)
 same => n,Set(IVR_ROUTE=fallback:${{AGISTATUS}})
 same => n,Queue(hotline-fallback,t)
 same => n,Hangup()
 same => n(queue),Queue(${{IVR_QUEUE}},t)
 same => n,Hangup()

; AGI round trip: {rtt_commands} SET VARIABLE commands timed by the AGI client; the caller hangs up.
[bench-rtt]
exten => ours,1,Answer()
 same => n,AGI(agi://${{HOTLINE_AGI}}/bench-rtt,{rtt_commands})
 same => n,Wait(60)
exten => pyst2,1,Answer()
 same => n,AGI({script},rtt,{rtt_commands},{BENCH_DIR}/out/rtt-${{UNIQUEID}}.txt)
 same => n,Wait(60)
"""


PYST2_SCRIPT = '''#!{python}
"""pyst2 baseline of bench/bench_ivr.py (written by it): the 12345 -> 3 -> queue journey, one
process per call, the same AGI commands as the engine sends."""
import sys
import time

sys.path.insert(0, {pylib!r})
from asterisk.agi import AGI, AGIHangup  # noqa: E402


def main():
    agi = AGI()
    mode = agi.env.get("agi_arg_1", "ivr")
    try:
        if mode == "rtt":
            samples = []
            for i in range(int(agi.env.get("agi_arg_2", "100"))):
                t0 = time.perf_counter()
                agi.set_variable("BENCH_RTT", str(i))
                samples.append(time.perf_counter() - t0)
            with open(agi.env["agi_arg_3"], "w") as fh:
                fh.write("\\n".join("%.9f" % s for s in samples))
            return
        agi.answer()
        digit = agi.get_data({menu!r}, {menu_timeout_ms}, 1)
        if digit != {key!r}:
            return  # no decision: the dialplan's fallback queue
        agi.stream_file({transfer!r}, "0123456789*#")
        agi.set_variable("IVR_ROUTE", {route!r})
        agi.set_variable("TICKET_ID", agi.env.get("agi_uniqueid", ""))
        agi.set_variable("IVR_DEPARTMENT", {department!r})
        agi.set_variable("IVR_QUEUE", {queue!r})
        agi.set_variable("IVR_ACTION", "queue")
    except AGIHangup:
        pass


main()
'''


def install_pyst2(settings: Settings, layout: pbx.Layout, j: Journey) -> str:
    """Put the script, pyst2 and six where the PBX sees them; returns the script's pbx path."""
    if layout.root is not None:
        python = "/usr/bin/python3"
        if not layout.host(python).exists():
            progress("installing Debian's python3 into the PBX chroot for the pyst2 baseline (once)")
            env = "DEBIAN_FRONTEND=noninteractive"
            for cmd in (f"{env} apt-get update -qq",
                        f"{env} apt-get install -y -qq --no-remove python3",
                        "apt-get clean"):
                proc = subprocess.run(["chroot", str(layout.root), "/bin/sh", "-c", cmd], capture_output=True,
                                      text=True, timeout=600)
                if proc.returncode != 0:
                    raise SystemExit(f"bench_ivr: `{cmd}` in the chroot failed:\n{proc.stderr[-2000:]}")
        bench_dir = BENCH_DIR
    else:
        python = sys.executable
        bench_dir = str(settings.var_dir / "hotline-bench")
    host_dir = layout.host(bench_dir)
    pylib = host_dir / "pylib"
    pyst2 = importlib.util.find_spec("asterisk.agi")
    six = importlib.util.find_spec("six")
    if pyst2 is None or pyst2.origin is None or six is None or six.origin is None:
        raise SystemExit("bench_ivr: pyst2 is not installed in this virtualenv (pip install pyst2)")
    shutil.rmtree(pylib, ignore_errors=True)
    pylib.mkdir(parents=True)
    shutil.copytree(Path(pyst2.origin).parent, pylib / "asterisk", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(six.origin, pylib / "six.py")
    (host_dir / "out").mkdir(exist_ok=True)
    for old in (host_dir / "out").glob("rtt-*.txt"):
        old.unlink()
    script = host_dir / "pyst2_ivr.py"
    script.write_text(PYST2_SCRIPT.format(
        python=python, pylib=f"{bench_dir}/pylib", menu=j.menu, menu_timeout_ms=j.menu_timeout_s * 1000,
        key=KEY, transfer=j.transfer, route=j.route, department=j.department, queue=j.queue,
    ), encoding="utf-8")
    script.chmod(0o755)
    return f"{bench_dir}/pyst2_ivr.py"


# --------------------------------------------------------------------------- measuring

@dataclass
class StepResult:
    rate: int
    calls: int
    sipp_ok: int
    sipp_failed: int
    joined: int
    stuck: int  # channels still up well after SIPp's hangup
    seconds: float
    cpu_ms_per_call: float | None = None  # this process (engine + the AMI reader) per call, ours only

    @property
    def failed(self) -> int:
        return max(self.calls - self.sipp_ok, self.calls - self.joined, self.stuck)


@dataclass
class SystemResult:
    system: str
    steps: list[StepResult] = field(default_factory=list)

    @property
    def best(self) -> StepResult | None:
        good = [s for s in self.steps if s.failed == 0]
        return max(good, key=lambda s: s.rate) if good else None

    @property
    def first_failing(self) -> StepResult | None:
        bad = [s for s in self.steps if s.failed]
        return min(bad, key=lambda s: s.rate) if bad else None


class Bench:
    def __init__(self, args: argparse.Namespace, settings: Settings, journey: Journey, sipp: Sipp,
                 ami: AmiWatch, bench_pbx: BenchPbx) -> None:
        self.args = args
        self.settings = settings
        self.j = journey
        self.sipp = sipp
        self.ami = ami
        self.pbx = bench_pbx
        self.engine = None

    def caller_steps(self) -> list[tuple[str, object]]:
        hold_ms = self.j.transfer_ms + int(self.args.margin * 1000)
        return [("pause", PRE_KEY_MS), ("dtmf", KEY), ("pause", max(0, hold_ms - KEY_MS))]

    def call_seconds(self) -> float:
        return (PRE_KEY_MS + self.j.transfer_ms) / 1000 + self.args.margin

    async def channels_up(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while True:
            status = await self.ami.action(actions.core_status())
            up = int(status.get("CoreCurrentCalls", "0") or 0)
            if up == 0 or time.monotonic() > deadline:
                return up
            await asyncio.sleep(0.25)

    async def idle(self, timeout: float = 10) -> int:
        """Wait until the step's channels are gone, so steps do not overlap; returns how many
        were still up after `timeout` (0 normally) and hangs those up, so an overloaded step
        (SIPp gave up on its BYE) does not leave callers queued into the next one."""
        up = await self.channels_up(timeout)
        if up:
            progress(f"{up} channel(s) still up {timeout:.0f} s after SIPp's hangup: hanging them up")
            await self.ami.action(actions.hangup(channel="/^PJSIP/"), timeout=30)
            if left := await self.channels_up(30):
                progress(f"warning: {left} channel(s) still up after the AMI Hangup")
        return up

    async def step(self, system: str, rate: int) -> StepResult:
        calls = self.args.calls or max(10, round(rate * self.args.sustain))
        await self.idle()
        mark = self.ami.mark()
        started = time.monotonic()
        cpu_before = time.process_time()
        result = await self.sipp.call(
            NUMBERS[system], steps=self.caller_steps(), calls=calls, rate=rate, limit=calls,
            timeout_s=int(calls / rate + self.call_seconds() + 15), name=f"{system}-{rate}",
        )
        await asyncio.sleep(0.5)  # a join just before the last BYE
        joined = {e.get("Channel") for e in self.ami.since(mark, "QueueCallerJoin", Queue=self.j.queue)}
        # SIPp and Asterisk are other processes: this process's CPU is the engine's (and the reader's).
        cpu_ms = (time.process_time() - cpu_before) * 1000 / calls if system == "ours" else None
        stuck = await self.idle(10)
        step = StepResult(rate, calls, result.successful, result.failed, len(joined), stuck,
                          time.monotonic() - started, cpu_ms)
        verdict = "ok" if step.failed == 0 else f"FAILED {step.failed}"
        progress(f"{system:8s} {rate:3d} CPS x {calls:4d} calls: sipp ok {step.sipp_ok} failed {step.sipp_failed}, "
                 f"joined {self.j.queue} {step.joined}{f', stuck {stuck}' if stuck else ''} -> {verdict} ({step.seconds:.0f} s)"
                 f"{f', engine {cpu_ms:.1f} CPU-ms/call' if cpu_ms is not None else ''}")
        if step.failed and result.stderr.strip():
            progress("  sipp: " + result.stderr.strip().splitlines()[-1][:200])
        return step

    async def search(self, system: str) -> SystemResult:
        """Double the rate until a step fails (or the cap), then bisect between pass and fail."""
        out = SystemResult(system)
        cap = self.args.max_rate
        rate = min(self.args.start_rate, cap)
        lo, hi = 0, None
        while True:
            s = await self.step(system, rate)
            out.steps.append(s)
            if s.failed:
                hi = rate
                break
            lo = rate
            if rate >= cap:
                break
            rate = min(rate * 2, cap)
        while hi is not None and hi - lo > max(1, int(lo * self.args.resolution)):
            mid = (lo + hi) // 2
            if mid in (lo, hi):
                break
            s = await self.step(system, mid)
            out.steps.append(s)
            lo, hi = (mid, hi) if s.failed == 0 else (lo, mid)
        return out

    async def rtt(self, system: str) -> list[float]:
        """Seconds per SET VARIABLE as the AGI client saw it, over --rtt-calls calls."""
        calls, n = self.args.rtt_calls, self.args.rtt_commands
        samples: list[float] = []
        if system == "ours":
            from ivr.agi import AgiChannel

            async def handler(agi: AgiChannel) -> None:
                for i in range(int(agi.request.arguments[0]) if agi.request.arguments else n):
                    t0 = time.perf_counter()
                    await agi.set_variable("BENCH_RTT", str(i))
                    samples.append(time.perf_counter() - t0)

            self.engine.agi.handlers["bench-rtt"] = handler
        await self.idle()
        result = await self.sipp.call(RTT_NUMBERS[system], steps=[("pause", 3000)], calls=calls,
                                      rate=max(1, calls // 2), limit=calls, timeout_s=120, name=f"rtt-{system}")
        if result.failed:
            progress(f"warning: {result.failed} round-trip call(s) of {system} failed in SIPp")
        if system == "pyst2":
            out_dir = self.pbx.layout.host(_bench_dir(self.settings, self.pbx.layout)) / "out"
            for f in sorted(out_dir.glob("rtt-*.txt")):
                samples += [float(x) for x in f.read_text().split()]
        progress(f"{system:8s} AGI round trip: {len(samples)} samples from {calls} calls")
        return samples


def _bench_dir(settings: Settings, layout: pbx.Layout) -> str:
    return BENCH_DIR if layout.root is not None else str(settings.var_dir / "hotline-bench")


def pct(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[round(q) - 1]


def report(args: argparse.Namespace, j: Journey, results: dict[str, SystemResult],
           rtts: dict[str, list[float]]) -> None:
    print()
    print(f"IVR benchmark: {LINE} -> menu -> key {KEY} -> transfer prompt ({j.transfer_ms / 1000:.1f} s) -> "
          f"Queue({j.queue}); good call = SIPp completed it and it joined {j.queue} "
          f"<= {args.margin:.1f} s after the prompt; {os.cpu_count()} CPU(s)")
    head = f"{'system':24s} {'max CPS, 0 failed':>18s} {'calls there':>12s} {'first failing CPS':>18s} " \
           f"{'failed there':>13s} {'steps':>6s}"
    print(head)
    print("-" * len(head))
    for name in SYSTEMS:
        r = results.get(name)
        if r is None:
            continue
        best, bad = r.best, r.first_failing
        capped = best is not None and bad is None and best.rate >= args.max_rate
        max_cps = f"{'>=' if capped else ''}{best.rate if best else 0}"
        print(f"{LABELS[name]:24s} {max_cps:>18s} {best.calls if best else 0:>12d} "
              f"{bad.rate if bad else '-':>18} {f'{bad.failed}/{bad.calls}' if bad else '-':>13s} "
              f"{len(r.steps):>6d}")
    print()
    for name in SYSTEMS:
        r = results.get(name)
        if r is not None:
            best, bad = r.best, r.first_failing
            print(f"RESULT system={name} max_cps={best.rate if best else 0} "
                  f"failed_at_max={best.failed if best else 'none'} "
                  f"capped={'yes' if bad is None else 'no'} "
                  f"first_failing_cps={bad.rate if bad else 'none'}"
                  + (f" engine_cpu_ms_per_call={best.cpu_ms_per_call:.2f}"
                     if best is not None and best.cpu_ms_per_call is not None else ""))
    ours = results.get("ours")
    for other in ("dialplan", "pyst2"):
        r = results.get(other)
        if ours is None or r is None:
            continue
        a, b = (ours.best.rate if ours.best else 0), (r.best.rate if r.best else 0)
        ratio = f"{a / b:.2f}" if b else "inf"
        print(f"ratio ours/{other}: {ratio}  (max CPS {a} / {b})")
    if rtts:
        print()
        print(f"{'AGI round trip, SET VARIABLE':36s} {'samples':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'max ms':>8s}")
        for name, samples in rtts.items():
            ms = [s * 1000 for s in samples]
            print(f"{LABELS[name]:36s} {len(ms):>8d} {pct(ms, 50):>8.3f} {pct(ms, 99):>8.3f} "
                  f"{max(ms) if ms else float('nan'):>8.3f}")
            print(f"RESULT rtt={name} samples={len(ms)} p50_ms={pct(ms, 50):.3f} p99_ms={pct(ms, 99):.3f}")


# --------------------------------------------------------------------------- main


def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    kids.append(int(entry.name))
    return kids


async def run(args: argparse.Namespace, var_dir: Path) -> int:
    from hotline.engine import Engine

    started = time.monotonic()
    main_task = asyncio.current_task()
    assert main_task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):  # stop cleanly: PBX and engine down, SIPp killed
        loop.add_signal_handler(sig, main_task.cancel)
    settings = bench_settings(var_dir)
    layout = bench_layout(settings)
    pbx.install(settings, progress=progress)
    journey = await plan_journey(settings, layout)
    progress(f"journey: {LINE} -> {journey.menu} -> {KEY} -> {journey.transfer} ({journey.transfer_ms} ms) "
             f"-> Queue({journey.queue})")
    systems = [s for s in SYSTEMS if s in args.systems]
    bench_pbx = BenchPbx(settings, layout)
    engine = None
    ami = AmiWatch()
    results: dict[str, SystemResult] = {}
    rtts: dict[str, list[float]] = {}
    try:
        bench_pbx.mount_proc()  # apt in the chroot wants /proc too
        script = install_pyst2(settings, layout, journey) if "pyst2" in systems else "/bin/false"
        bench_pbx.start(bench_conf(journey, rtt_commands=args.rtt_commands, script=script))
        await ami.connect("127.0.0.1", settings.ami.port, settings.ami.username, settings.ami_secret())
        # The queue joins are all this reader needs; fewer events keep its CPU out of the figures.
        await ami.action(actions.events("agent"))
        sipp_dir = var_dir / "sipp"
        sipp_dir.mkdir()
        bench = Bench(args, settings, journey, Sipp(sipp_dir, pbx_port=settings.pbx.sip_port), ami, bench_pbx)
        for system in systems:
            if system == "ours":
                engine = Engine(settings)
                await engine.start()
                bench.engine = engine
                progress(f"engine up (FastAGI 127.0.0.1:{settings.engine.agi_port}, speech off)")
            results[system] = await bench.search(system)
            if system in RTT_NUMBERS and args.rtt_calls:
                rtts[system] = await bench.rtt(system)
            if engine is not None:
                failures = engine.agi.failed, engine.agi.shed, engine.calls.stats.engine_failures
                progress(f"engine: agi failed {failures[0]}, shed {failures[1]}, ticket failures {failures[2]}")
                await engine.close()
                engine = None
    finally:
        if engine is not None:
            await engine.close()
        await ami.close()
        for pid in _children(os.getpid()):  # a SIPp left by an interrupted step
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        bench_pbx.stop()
    report(args, journey, results, rtts)
    progress(f"done in {time.monotonic() - started:.0f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--max-rate", type=int, default=64, help="highest calls per second tried (default 64)")
    p.add_argument("--start-rate", type=int, default=4, help="first rate; doubled until a failure (default 4)")
    p.add_argument("--sustain", type=float, default=6.0,
                   help="seconds of arrivals per step: calls = rate x sustain (default 6)")
    p.add_argument("--calls", type=int, default=0, help="calls per step instead of rate x sustain")
    p.add_argument("--resolution", type=float, default=0.1,
                   help="stop bisecting when the gap is within this share of the rate (default 0.1)")
    p.add_argument("--margin", type=float, default=2.0,
                   help="seconds after the transfer prompt the caller waits for the queue (default 2)")
    p.add_argument("--rtt-calls", type=int, default=6, help="calls for the AGI round trip (default 6)")
    p.add_argument("--rtt-commands", type=int, default=200, help="SET VARIABLEs per round-trip call")
    p.add_argument("--systems", default=",".join(SYSTEMS), help="subset, e.g. ours,dialplan")
    args = p.parse_args(argv)
    args.systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = set(args.systems) - set(SYSTEMS)
    if unknown or args.max_rate < 1 or args.start_rate < 1:
        p.error(f"unknown systems {sorted(unknown)}" if unknown else "rates must be >= 1")
    if not shutil.which("sipp"):
        print("bench_ivr: sipp is not installed (apt-get install sip-tester)", file=sys.stderr)
        return 1
    setup_logging("WARNING")  # the engine's warnings (shed sessions, protocol errors) with their fields
    with pbx_lock(), tempfile.TemporaryDirectory(prefix="bench-ivr-") as tmp:
        try:
            return asyncio.run(run(args, Path(tmp)))
        except pbx.PbxError as exc:
            print(f"bench_ivr: {exc}", file=sys.stderr)
            return 1
        except asyncio.CancelledError:
            print("bench_ivr: interrupted", file=sys.stderr)
            return 130


if __name__ == "__main__":
    sys.exit(main())
