"""`hotline dialplan check|compile|diff|schema` and `hotline route`.

Exit codes: 0 ok, 1 invalid dialplan / unknown number, 2 usage (bad flags, missing path).
Errors go to stderr, one `FILE:LINE:COL: message` per line.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from config import load_settings
from hotline_merge.compiler import compile_dialplan, write_outputs
from hotline_merge.diff import load_routing, routing_changes
from hotline_merge.exceptions import DialplanInvalid, DialplanIssue, NoSuchLine
from hotline_merge.loader import validate_dialplan
from hotline_merge.models import SCHEMA_FILE_NAME, Dialplan
from hotline_merge.schema import render_schema
from hotline_merge.simulate import TextMatcher, dry_run

USAGE = 2


def register(
    sub: Any,
    *,
    text_matcher: Callable[[Dialplan], TextMatcher] | None = None,
    prompt_check: Callable[[Dialplan, Path], Awaitable[list[Any]]] | None = None,
) -> None:
    """`text_matcher` builds `hotline route --text`'s matcher; `prompt_check` renders the prompts
    and returns what is wrong with them (too long, a language switch) for `dialplan check`. The
    root passes the speech and IVR packages' own, since this pure package imports neither."""
    dialplan = sub.add_parser("dialplan", help="check, compile and compare dialplan YAML")
    dsub = dialplan.add_subparsers(dest="dialplan_command", metavar="ACTION")
    dsub.required = True

    check = dsub.add_parser("check", help="validate; one FILE:LINE:COL: message per error on stderr")
    check.add_argument("path", nargs="?", help="YAML file or folder (default: settings dialplan.path)")
    check.add_argument("--no-audio", action="store_true",
                       help="skip rendering prompts (lengths and phoneme traces are not checked)")
    check.set_defaults(func=cmd_check, prompt_check=prompt_check)

    comp = dsub.add_parser("compile", help="write Asterisk contexts, queues and routing.json")
    comp.add_argument("path", nargs="?", help="YAML file or folder (default: settings dialplan.path)")
    comp.add_argument("--out", required=True, help="output folder")
    comp.set_defaults(func=cmd_compile)

    diff = dsub.add_parser("diff", help="what NEW changes in routing compared with OLD")
    diff.add_argument("old", help="dialplan YAML file/folder, or a compiled routing.json")
    diff.add_argument("new", help="dialplan YAML file/folder, or a compiled routing.json")
    diff.set_defaults(func=cmd_diff)

    schema = dsub.add_parser("schema", help=f"print or write the JSON Schema ({SCHEMA_FILE_NAME})")
    schema.add_argument("--out", help="write to this file instead of stdout")
    schema.set_defaults(func=cmd_schema)

    route = sub.add_parser("route", help="dry-run a call: where would it go? (no PBX)")
    route.add_argument("--dnis", required=True, help="dialled number, e.g. 12345 or 2253337")
    route.add_argument("--digits", default="", help="keys pressed, one per menu (e.g. 91)")
    route.add_argument("--text", help="what the caller says at the first menu that listens")
    route.add_argument("--at", help="call time, ISO 8601 (default now; naive means Asia/Shanghai)")
    route.add_argument("--dialplan", help="YAML file or folder (default: settings dialplan.path)")
    route.add_argument("--json", action="store_true", help="print the decision as JSON")
    route.set_defaults(func=cmd_route, text_matcher=text_matcher)


# -- helpers ----------------------------------------------------------------------------------


class _Usage(Exception):
    pass


def _default_path(args: argparse.Namespace, given: str | None) -> Path:
    if given:
        path = Path(given)
    else:
        config = getattr(args, "config", None)
        path = load_settings(Path(config) if config else None).dialplan.path
    if not path.exists():
        raise _Usage(f"{path}: no such file or folder")
    return path


def _print_errors(errors: list[DialplanIssue]) -> None:
    for issue in errors:
        print(issue, file=sys.stderr)


def _load(path: Path) -> Dialplan | None:
    plan, errors = validate_dialplan(path)
    _print_errors(errors)
    return plan


def _usage(message: str) -> int:
    print(f"hotline: {message}", file=sys.stderr)
    return USAGE


# -- commands ---------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    try:
        path = _default_path(args, args.path)
    except _Usage as exc:
        return _usage(str(exc))
    plan = _load(path)
    if plan is None:
        return 1
    prompt_check = getattr(args, "prompt_check", None)
    if prompt_check is not None and not args.no_audio:
        # Rendered lengths and phoneme traces: needs espeak-ng + sox (`--no-audio` skips).
        try:
            problems = asyncio.run(prompt_check(plan, path))
        except Exception as exc:  # noqa: BLE001 - a missing tool is reported, not a traceback
            print(f"{path}: prompts not rendered ({exc}); use --no-audio to skip", file=sys.stderr)
            return 1
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            return 1
    numbers = {line.number for line in plan.lines}
    print(
        f"{path}: ok ({len(plan.lines)} lines on {len(numbers)} numbers, {len(plan.menus)} menus, "
        f"{len(plan.queues)} queues)"
    )
    return 0


def cmd_compile(args: argparse.Namespace) -> int:
    try:
        path = _default_path(args, args.path)
    except _Usage as exc:
        return _usage(str(exc))
    plan = _load(path)
    if plan is None:
        return 1
    for written in write_outputs(compile_dialplan(plan), Path(args.out)):
        print(written)
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    tables = []
    for given in (args.old, args.new):
        path = Path(given)
        if not path.exists():
            return _usage(f"{path}: no such file or folder")
        try:
            tables.append(load_routing(path))
        except DialplanInvalid as exc:
            _print_errors(exc.errors)
            return 1
    changes = routing_changes(*tables)
    print("\n".join(changes) if changes else "no routing changes")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    text = render_schema()
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _parse_at(text: str | None) -> dt.datetime:
    if text is None:
        return dt.datetime.now(dt.UTC)
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise _Usage(f"--at {text!r}: expected ISO 8601, e.g. 2026-11-23T03:00:00+08:00") from exc


def cmd_route(args: argparse.Namespace) -> int:
    try:
        path = _default_path(args, args.dialplan)
        at = _parse_at(args.at)
    except _Usage as exc:
        return _usage(str(exc))
    if any(c not in "0123456789*#" for c in args.digits):
        return _usage(f"--digits {args.digits!r}: only 0-9, * and # can be pressed")
    plan = _load(path)
    if plan is None:
        return 1
    build_matcher = getattr(args, "text_matcher", None)
    if args.text and build_matcher is None:
        return _usage("--text: no speech matcher in this build of the command")
    matcher = build_matcher(plan) if args.text else None
    try:
        run = dry_run(plan, args.dnis, at=at, digits=args.digits, text=args.text, matcher=matcher)
    except NoSuchLine as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 1
    if args.text and not run.text_used:
        print("hotline: --text not used: no menu on this path listens for speech", file=sys.stderr)
    if run.unused_digits:
        print(f"hotline: digits not used: {run.unused_digits}", file=sys.stderr)
    decision = run.decision.as_json()
    if args.json:
        print(json.dumps(decision, ensure_ascii=False, indent=2))
    else:
        for key, value in decision.items():
            if key == "prompts":
                for n, text in enumerate(value, 1):
                    print(f"prompt {n}: {text}")
            elif value is not None:
                print(f"{key}: {value}")
    return 0
