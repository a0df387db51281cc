"""Knowledge-base search quality on the 50 citizen questions (knowledge/data/questions.jsonl),
and the same questions with one word swapped for a homophone, as a speech recognizer or a hurried
typist produces. Three rankers over the same 60 starter articles, in the same run:

- ours: `KnowledgeService.search` (jieba words + syllable pairs as folded pinyin, FTS5 bm25);
- trigram: SQLite FTS5's own `trigram` tokenizer over the raw characters, bm25, OR of query trigrams;
- bigram: character-bigram overlap counted in Python (the naive baseline).

Prints top-1 / top-3 hits per ranker and ours relative to each baseline; latency per query too.

    .venv/bin/python bench/bench_kb_search.py
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hotline.schema import upgrade  # noqa: E402
from infra.chinese import normalize  # noqa: E402
from infra.db import make_engine, make_sessionmaker  # noqa: E402
from knowledge.services import KnowledgeService  # noqa: E402
from knowledge.state import Actor  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "knowledge" / "data"
# One homophone per question where a common one exists (same pinyin, other characters).
HOMOPHONES = {"公积金": "公基金", "社保": "社宝", "养老": "养劳", "失业": "失页", "工伤": "工商", "工资": "工姿",
              "合同": "和同", "贷款": "代款", "医保": "医宝", "报销": "报消", "户口": "户扣", "身份证": "身分证",
              "护照": "护招", "居住证": "居住正", "个税": "个说", "发票": "发漂", "物业": "务业", "电梯": "电提",
              "公交": "公胶", "低保": "低宝", "结婚": "接婚", "律师": "律狮", "调解": "调节", "暖气": "暖器",
              "停水": "停谁", "噪音": "噪因", "污水": "乌水", "上学": "上雪", "出租车": "出组车", "驾校": "驾效"}  # fmt: skip


def perturb(q: str) -> str:
    for word, other in HOMOPHONES.items():
        if word in q:
            return q.replace(word, other, 1)
    return q


def bigrams(text: str) -> set[str]:
    t = normalize(text)
    return {t[i : i + 2] for i in range(len(t) - 1)}


def main() -> int:
    articles = [json.loads(x) for x in (DATA / "articles.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    questions = [json.loads(x) for x in (DATA / "questions.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    sets = {"questions": questions, "homophones": [{**q, "q": perturb(q["q"])} for q in questions]}
    changed = sum(a["q"] != b["q"] for a, b in zip(sets["questions"], sets["homophones"], strict=True))

    tri = sqlite3.connect(":memory:")
    tri.execute("CREATE VIRTUAL TABLE t USING fts5(slug UNINDEXED, title, keywords, body, tokenize='trigram')")
    tri.executemany("INSERT INTO t VALUES (?,?,?,?)",
                    [(a["id"], a["title"], " ".join(a["keywords"]), a["body"]) for a in articles])  # fmt: skip
    docs = {a["id"]: bigrams(a["title"] + "".join(a["keywords"]) * 2 + a["body"]) for a in articles}

    def trigram(q: str) -> list[str]:
        t = normalize(q)
        grams = sorted({t[i : i + 3] for i in range(len(t) - 2)})
        if not grams:
            return []
        match = " OR ".join('"' + g.replace('"', '""') + '"' for g in grams)
        rows = tri.execute("SELECT slug FROM t WHERE t MATCH ? ORDER BY bm25(t, 0, 10, 6, 1) LIMIT 3", (match,))
        return [r[0] for r in rows]

    def bigram(q: str) -> list[str]:
        qb = bigrams(q)
        scored = sorted(((len(qb & d), s) for s, d in docs.items()), reverse=True)
        return [s for n, s in scored[:3] if n > 0]

    async def ours_run() -> dict[str, tuple[int, int, float]]:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/kb.db"
            await upgrade(url)
            engine = make_engine(url)
            kb = KnowledgeService(sessionmaker=make_sessionmaker(engine))
            await kb.import_file(DATA / "articles.jsonl", actor=Actor("bench", "admin"))
            out = {}
            for name, qs in sets.items():
                t0 = time.perf_counter()
                results = [[h.id for h in await kb.search(q["q"], limit=3)] for q in qs]
                out[name] = score(qs, results, time.perf_counter() - t0)
            await engine.dispose()
            return out

    def score(qs: list[dict], results: list[list[str]], seconds: float) -> tuple[int, int, float]:
        top1 = sum(bool(r) and r[0] == q["answer"] for q, r in zip(qs, results, strict=True))
        top3 = sum(q["answer"] in r for q, r in zip(qs, results, strict=True))
        return top1, top3, 1000 * seconds / len(qs)

    figures = {"ours": asyncio.run(ours_run())}
    for name, ranker in (("trigram", trigram), ("bigram", bigram)):
        figures[name] = {}
        for set_name, qs in sets.items():
            t0 = time.perf_counter()
            results = [ranker(q["q"]) for q in qs]
            figures[name][set_name] = score(qs, results, time.perf_counter() - t0)
    print(f"{len(articles)} articles, {len(questions)} questions ({changed} with a homophone swapped in)")
    for set_name in sets:
        print(f"\n[{set_name}]")
        for name, per in figures.items():
            top1, top3, ms = per[set_name]
            print(f"  {name:8s} top-1 {top1:2d}/50  top-3 {top3:2d}/50  {ms:6.2f} ms/query")
        o = figures["ours"][set_name][1]
        for base in ("trigram", "bigram"):
            b = figures[base][set_name][1]
            print(f"  ours/{base} top-3 ratio: {o / b:.2f}" if b else f"  ours/{base}: baseline found none")
    return 0


if __name__ == "__main__":
    sys.exit(main())
