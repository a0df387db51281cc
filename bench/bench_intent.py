"""Speech intent on paraphrased requests: accuracy per department and the confusion pairs.

    .venv/bin/python bench/bench_intent.py [--data bench/data/intent_eval.jsonl] [--dialplan dialplans]

The evaluation set (bench/data/intent_eval.jsonl) is requests written the way callers talk —
colloquial, rambling, with homophone slips (社宝, 公基金, 暖器) — one JSON object per line:
`{"text": ..., "department": ...}`, or `{"text": ..., "intent": "agent"|"progress"|"emergency",
"target": "119"}`. It is kept apart from the dialplan's phrases and duty terms, which are what
the matcher and its model learn from. Both matchers run in the same process: the phrase
matcher alone (the baseline) and phrases + the department model (what the engine uses).

A department request counts as routed right when the matcher names the right department
outright, or asks back (`confirm`) with the right one — the caller presses 1 and is routed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from asr.intent import IntentMatcher, IntentResult, matcher_from_dialplan  # noqa: E402
from hotline_merge.loader import load_dialplan  # noqa: E402


@dataclass
class Tally:
    decided: int = 0  # right department, no question asked
    confirmed: int = 0  # right department after asking back
    wrong: int = 0  # wrong department without asking (the harmful case)
    asked_wrong: int = 0  # asked back with the wrong department (caller says no)
    unknown: int = 0
    confusions: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def n(self) -> int:
        return self.decided + self.confirmed + self.wrong + self.asked_wrong + self.unknown

    @property
    def routed(self) -> int:
        return self.decided + self.confirmed


def load_rows(path: Path) -> list[dict[str, str]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except ValueError as exc:
            raise SystemExit(f"{path}:{number}: not JSON: {exc}") from exc
    return rows


def score(matcher: IntentMatcher, rows: list[dict[str, str]]) -> tuple[dict[str, Tally], Tally, float]:
    per: dict[str, Tally] = {}
    other = Tally()  # agent, progress, emergency rows
    started = time.perf_counter()
    for row in rows:
        result: IntentResult = matcher.match(row["text"])
        if "department" in row:
            truth = row["department"]
            t = per.setdefault(truth, Tally())
            if result.kind != "department":
                t.unknown += 1
                t.confusions[(truth, result.kind)] += 1
            elif result.department == truth:
                if result.confirm:
                    t.confirmed += 1
                else:
                    t.decided += 1
            else:
                if result.confirm:
                    t.asked_wrong += 1
                else:
                    t.wrong += 1
                t.confusions[(truth, result.department or "?")] += 1
        else:
            expected = (row["intent"], row.get("target"))
            got = (result.kind, result.target if row["intent"] == "emergency" else None)
            if got == expected:
                other.decided += 1
            else:
                other.wrong += 1
                other.confusions[(f"{expected[0]}:{expected[1] or ''}", f"{got[0]}:{got[1] or ''}")] += 1
    ms = (time.perf_counter() - started) / max(1, len(rows)) * 1000
    return per, other, ms


def report(title: str, per: dict[str, Tally], other: Tally, ms: float, *, detail: bool) -> float:
    total = Tally()
    for t in per.values():
        for name in ("decided", "confirmed", "wrong", "asked_wrong", "unknown"):
            setattr(total, name, getattr(total, name) + getattr(t, name))
        total.confusions.update(t.confusions)
    accuracy = total.routed / total.n if total.n else 0.0
    print(f"\n== {title}: {total.n} department requests, {accuracy:.1%} routed right "
          f"({total.decided} outright + {total.confirmed} after asking back); "
          f"{total.wrong} wrong without asking, {total.asked_wrong} asked back wrong, {total.unknown} unknown; "
          f"agent/progress/emergency {other.decided}/{other.n}; {ms:.2f} ms per utterance")
    if detail:
        print(f"  {'department':<16} {'right':>6} {'asked':>6} {'wrong':>6} {'unk':>4} {'n':>4}  accuracy")
        for dept, t in sorted(per.items(), key=lambda kv: kv[1].routed / kv[1].n):
            print(f"  {dept:<16} {t.decided:6d} {t.confirmed:6d} {t.wrong + t.asked_wrong:6d} {t.unknown:4d} "
                  f"{t.n:4d}  {t.routed / t.n:.0%}")
    print("  confusion pairs (truth -> answer):")
    for (truth, got), count in (total.confusions + other.confusions).most_common(15 if detail else 5):
        print(f"    {truth} -> {got}: {count}")
    return accuracy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(ROOT / "bench" / "data" / "intent_eval.jsonl"))
    parser.add_argument("--dialplan", default=str(ROOT / "dialplans"))
    args = parser.parse_args()
    rows = load_rows(Path(args.data))
    plan = load_dialplan(args.dialplan)
    departments = {d.name for d in plan.departments}
    unknown = sorted({r["department"] for r in rows if "department" in r} - departments)
    if unknown:
        raise SystemExit(f"{args.data}: departments not in the dialplan: {', '.join(unknown)}")
    covered = {r["department"] for r in rows if "department" in r}
    print(f"{len(rows)} utterances, {len(covered)} of the dialplan's {len(departments)} departments")

    base = matcher_from_dialplan(plan, model=False)
    started = time.perf_counter()
    combined = matcher_from_dialplan(plan)
    print(f"department model trained at start-up in {time.perf_counter() - started:.2f} s")
    before = report("phrase matcher alone (baseline)", *score(base, rows), detail=False)
    after = report("phrases + department model (the engine)", *score(combined, rows), detail=True)
    print(f"\nrouted right: {after:.1%} vs {before:.1%} baseline ({after / before:.2f}x)" if before else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
