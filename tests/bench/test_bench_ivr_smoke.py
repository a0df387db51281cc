"""bench/bench_ivr.py in its tiny mode, so the benchmark cannot rot: all three systems (our
engine, plain dialplan, pyst2 AGI) take a few calls without a failure and the ratios print.

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
BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_ivr.py"


def test_bench_ivr_tiny_mode_has_no_failed_call_and_prints_the_ratios():
    tiny = ["--calls", "5", "--start-rate", "2", "--max-rate", "2", "--rtt-calls", "2", "--rtt-commands", "20"]
    run = subprocess.run([sys.executable, str(BENCH), *tiny], capture_output=True, text=True, timeout=540)
    assert run.returncode == 0, run.stderr[-3000:]
    for system in ("ours", "dialplan", "pyst2"):
        assert re.search(rf"^RESULT system={system} max_cps=2 failed_at_max=0 ", run.stdout, re.M), run.stdout
    assert re.search(r"^RESULT system=ours .* engine_cpu_ms_per_call=\d+\.\d\d$", run.stdout, re.M), run.stdout
    assert re.search(r"^ratio ours/dialplan: \d+\.\d\d ", run.stdout, re.M), run.stdout
    assert re.search(r"^ratio ours/pyst2: \d+\.\d\d ", run.stdout, re.M), run.stdout
    for system in ("ours", "pyst2"):
        assert re.search(rf"^RESULT rtt={system} samples=40 p50_ms=\d", run.stdout, re.M), run.stdout
