"""`hotline kb ...`: import, export, search, flagged, sweep against the configured database."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from knowledge.exceptions import KnowledgeError
from knowledge.services import STARTER
from knowledge.state import Actor

CLI_ACTOR = Actor("cli", "admin")


def register(sub: argparse._SubParsersAction, *, upgrade: Callable[[str], Awaitable[None]]) -> None:
    """`upgrade` migrates a database URL (the composition root owns the schema environment)."""
    p = sub.add_parser("kb", help="knowledge base: import, export, search")
    ksub = p.add_subparsers(dest="kb_command", metavar="ACTION")
    ksub.required = True
    p.set_defaults(upgrade=upgrade)
    i = ksub.add_parser("import", help="import articles from JSON lines (default: the starter set)")
    i.add_argument("file", nargs="?", default=str(STARTER), help=f"JSONL file (default {STARTER.name})")
    i.add_argument("--publish", action="store_true", help="publish every imported article at once")
    i.set_defaults(func=cmd_import)
    e = ksub.add_parser("export", help="export every article (working copy) as JSON lines")
    e.add_argument("--out", help="file to write (default stdout)")
    e.set_defaults(func=cmd_export)
    s = ksub.add_parser("search", help="search published articles")
    s.add_argument("query")
    s.add_argument("--limit", type=int, default=3)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_search)
    f = ksub.add_parser("flagged", help="published articles past their review date or expiring soon")
    f.set_defaults(func=cmd_flagged)
    w = ksub.add_parser("sweep", help="expire published articles whose validity has ended")
    w.set_defaults(func=cmd_sweep)


async def _service(args: argparse.Namespace):  # noqa: ANN202
    from config import load_settings
    from infra.db import make_engine, make_sessionmaker
    from knowledge.services import KnowledgeService

    settings = load_settings(Path(args.config) if getattr(args, "config", None) else None)
    await args.upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    return engine, KnowledgeService(sessionmaker=make_sessionmaker(engine))


async def cmd_import(args: argparse.Namespace) -> int:
    engine, kb = await _service(args)
    try:
        report = await kb.import_file(Path(args.file), actor=CLI_ACTOR, publish=args.publish)
    except KnowledgeError as exc:
        print(f"hotline kb import: {exc.message}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    print(f"{args.file}: {len(report.created)} created, {len(report.updated)} updated, "
          f"{len(report.unchanged)} unchanged")  # fmt: skip
    return 0


async def cmd_export(args: argparse.Namespace) -> int:
    engine, kb = await _service(args)
    try:
        lines = await kb.export_lines()
    finally:
        await engine.dispose()
    text = "".join(line + "\n" for line in lines)
    if args.out:
        await asyncio.to_thread(Path(args.out).write_text, text, encoding="utf-8")
        print(f"{args.out}: {len(lines)} articles")
    else:
        sys.stdout.write(text)
    return 0


async def cmd_search(args: argparse.Namespace) -> int:
    engine, kb = await _service(args)
    try:
        hits = await kb.search(args.query, limit=args.limit)
    finally:
        await engine.dispose()
    if args.json:
        print(json.dumps([h.__dict__ for h in hits], ensure_ascii=False))
    else:
        for h in hits:
            print(f"{h.score:8.3f}  {h.id}  {h.title}（{h.department}）")
    return 0 if hits else 1


async def cmd_flagged(args: argparse.Namespace) -> int:
    engine, kb = await _service(args)
    try:
        flagged = await kb.flagged()
    finally:
        await engine.dispose()
    for view, why in flagged:
        print(f"{view.id}  {view.title}（{view.department}）: {why}")
    return 0


async def cmd_sweep(args: argparse.Namespace) -> int:
    engine, kb = await _service(args)
    try:
        expired = await kb.sweep()
    finally:
        await engine.dispose()
    print(f"{len(expired)} expired" + (": " + ", ".join(expired) if expired else ""))
    return 0
