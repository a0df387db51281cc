"""Dispatch suggestion on real data, held-out split: accuracy and per-class P/R/F1 against
baselines measured in the same run (majority class, keyword prior).

    .venv/bin/python bench/bench_dispatch.py [--data ../shared/data] [--seed 12345]

Department (topic): tipdm2020c/messages_labeled.csv (1842 labelled citizen messages, 7 topics).
Ticket type: fuzhou12345/tickets.csv (1000 real 12345 tickets with 性质). Read in place, never copied.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from asr.dispatch import (  # noqa: E402
    TOPIC_KEYWORDS,
    TYPE_KEYWORDS,
    Evaluation,
    KeywordPrior,
    NgramClassifier,
    evaluate,
    load_topic_messages,
    load_typed_tickets,
    stratified_split,
)


def report(name: str, ev: Evaluation, baseline: Evaluation | None = None) -> None:
    ratio = f"  ({ev.accuracy / baseline.accuracy:.2f}x accuracy, {ev.macro_f1 / baseline.macro_f1:.2f}x macro-F1 of majority)" if baseline and baseline.macro_f1 else ""
    print(f"  {name:<22} accuracy {ev.accuracy:.3f}  macro-F1 {ev.macro_f1:.3f}{ratio}")


def per_class(ev: Evaluation) -> None:
    print(f"    {'class':<10} {'prec':>6} {'recall':>6} {'F1':>6} {'n':>5}")
    for s in ev.classes:
        print(f"    {s.label:<10} {s.precision:6.3f} {s.recall:6.3f} {s.f1:6.3f} {s.support:5d}")


def run_task(title: str, rows: list[tuple[str, str]], prior: KeywordPrior, seed: int) -> None:
    train, test = stratified_split(rows, seed=seed)
    truth = [label for _, label in test]
    texts = [text for text, _ in test]
    print(f"\n== {title}: {len(train)} train / {len(test)} held out, classes {dict(Counter(truth))}")
    majority = Counter(label for _, label in train).most_common(1)[0][0]
    base = evaluate(truth, [majority] * len(test))
    report(f"majority ({majority})", base)
    report("keyword prior", evaluate(truth, [prior.predict(t)[0] for t in texts]), base)
    started = time.perf_counter()
    model = NgramClassifier().fit([t for t, _ in train], [label for _, label in train])
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    predicted = [model.predict(t)[0] for t in texts]
    per_ticket_ms = (time.perf_counter() - started) / len(texts) * 1000
    ev = evaluate(truth, predicted)
    report("char 1-2gram + SVM", ev, base)
    print(f"    train {fit_s:.2f} s, suggest {per_ticket_ms:.2f} ms per ticket (one at a time)")
    per_class(ev)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--seed", type=int, default=12345)
    args = parser.parse_args()
    data = Path(args.data)
    topics = data / "tipdm2020c" / "messages_labeled.csv"
    tickets = data / "fuzhou12345" / "tickets.csv"
    if not topics.exists() or not tickets.exists():
        print(f"skipped: data not found under {data} (see ../shared/data/README.md)")
        return 0
    run_task("department (topic)", load_topic_messages(topics), KeywordPrior(TOPIC_KEYWORDS), args.seed)
    run_task("ticket type (性质)", load_typed_tickets(tickets), KeywordPrior(TYPE_KEYWORDS, default="咨询"), args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
