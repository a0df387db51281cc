"""`hotline dialplan check` cost against the size of the dialplan: 1000 vs 8000 extra lines.

    .venv/bin/python bench/bench_dialplan_check.py [--small 1000 --large 8000]

The shipped dialplans/ plus one generated file of N merged lines (distinct numbers) is
validated the way `hotline dialplan check` does it (hotline_merge.loader.validate_dialplan).
It prints seconds for each size and the ratio large/small against the size ratio: linear
checking gives a time ratio near the size ratio (8), quadratic checking near its square (64).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hotline_merge.loader import validate_dialplan  # noqa: E402


def make_plan(folder: Path, extra_lines: int) -> Path:
    for f in (ROOT / "dialplans").glob("*.yaml"):
        shutil.copy(f, folder / f.name)
    rows = ["lines:"]
    for n in range(extra_lines):
        rows.append(f'  - {{number: "8{n:07d}", name: 测试线路{n}, department: 市民政局, mode: merged}}')
    (folder / "90-generated.yaml").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


def timed_check(extra_lines: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        folder = make_plan(Path(tmp), extra_lines)
        started = time.perf_counter()
        plan, errors = validate_dialplan(folder)
        took = time.perf_counter() - started
    if plan is None:
        raise SystemExit("generated dialplan invalid:\n" + "\n".join(str(e) for e in errors[:5]))
    return took


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", type=int, default=1000)
    ap.add_argument("--large", type=int, default=8000)
    args = ap.parse_args()
    timed_check(50)  # warm imports and pydantic's validators
    small = timed_check(args.small)
    large = timed_check(args.large)
    size_ratio = args.large / args.small
    print(f"dialplan check, {args.small} lines: {small:.2f} s")
    print(f"dialplan check, {args.large} lines: {large:.2f} s")
    print(f"time ratio {large / small:.1f} for size ratio {size_ratio:.0f} "
          f"(linear ~{size_ratio:.0f}, quadratic ~{size_ratio ** 2:.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
