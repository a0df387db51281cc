"""bench/bench_engine_cpu.py in a tiny run, so the benchmark cannot rot: both systems take a few
calls without a failure, the engine's tracker settles each, and CPU-ms per call print for both.

The benchmark runs its own Asterisk next to the session's PBX and holds /tmp/hotline-pbx.lock
(or runs under a parent `flock /tmp/hotline-pbx.lock pytest ...`).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.pbx
BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_engine_cpu.py"


def test_bench_engine_cpu_tiny_run_measures_both_systems():
    run = subprocess.run([sys.executable, str(BENCH), "--calls", "5", "--rate", "2"], capture_output=True,
                         text=True, timeout=540)
    assert run.returncode == 0, run.stderr[-3000:]
    ms = {}
    for system in ("ours", "pyst2"):
        m = re.search(rf"^RESULT system={system} calls=5 ok=5 joined=5 tracked=(-?\d+) "
                      rf"agi_cpu_ms_per_call=([\d.]+) asterisk_cpu_ms_per_call=([\d.]+)$", run.stdout, re.M)
        assert m, run.stdout
        ms[system] = float(m.group(2))
        if system == "ours":
            assert m.group(1) == "5"  # the engine's tracker settled every call
    assert ms["pyst2"] > 0  # five interpreters were forked and reaped
    assert re.search(r"^ratio pyst2/ours AGI CPU per call: \d+\.\d$", run.stdout, re.M), run.stdout
