"""`hotline tickets ...` commands: deadline, upgrade, export, report, sweep, token, revoke."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from tickets.exceptions import TicketError
from tickets.policy import TICKET_TYPES


def _settings(args: argparse.Namespace) -> object:
    from config import load_settings

    return load_settings(Path(args.config) if getattr(args, "config", None) else None)


def register(sub: argparse._SubParsersAction, *, upgrade: Callable[[str], Awaitable[None]] | None = None) -> None:
    """`upgrade` migrates a database URL to the newest schema: the composition root owns the
    one Alembic environment for every package's tables and passes it in."""
    p = sub.add_parser("tickets", help="tickets: deadlines, migrations, export, reports")
    tsub = p.add_subparsers(dest="tickets_command", metavar="ACTION")
    tsub.required = True

    d = tsub.add_parser("deadline", help="print the due times a policy gives for a ticket type")
    d.add_argument("--policy", required=True, help="policy name (config/policies/NAME.toml)")
    d.add_argument("--type", required=True, dest="ticket_type", help="/".join(TICKET_TYPES))
    d.add_argument(
        "--from", required=True, dest="start", help="ISO 8601 acceptance time, e.g. 2026-11-23T09:00+08:00"
    )
    d.add_argument("--level", help="handling level within the policy (default: the type's level)")
    d.add_argument("--co-departments", type=int, default=0, help="number of co-handling departments")
    d.add_argument("--calendar", help="admin calendar file for years the library does not cover")
    d.add_argument("--json", action="store_true", help="machine-readable output")
    d.set_defaults(func=cmd_deadline)

    if upgrade is not None:
        u = tsub.add_parser("upgrade", help="migrate the configured database to the newest schema")
        u.set_defaults(func=cmd_upgrade, upgrade=upgrade)

    e = tsub.add_parser("export", help="export tickets as JSON lines (tickets/EXPORT.md)")
    e.add_argument("--from", dest="start", help="accepted at or after (ISO date/time)")
    e.add_argument("--to", dest="end", help="accepted before (ISO date/time)")
    e.add_argument("--out", help="file to write (default stdout)")
    e.add_argument("--unmasked", action="store_true", help="full phone numbers (personal data!)")
    e.set_defaults(func=cmd_export)

    r = tsub.add_parser("report", help="monthly figures: 办结率, 按时办结率, 满意率, ranking, hot topics")
    r.add_argument("--month", help="YYYY-MM (default: this month)")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=cmd_report)

    s = tsub.add_parser("sweep", help="raise 督办 for overdue tickets now")
    s.set_defaults(func=cmd_sweep)

    t = tsub.add_parser("token", help="issue an API token")
    t.add_argument("--name", required=True)
    t.add_argument("--role", required=True, choices=["agent", "department", "supervisor", "admin"])
    t.add_argument("--department", help="required for role department")
    t.add_argument("--days", type=int, default=90, help="valid for this many days (0: until revoked; default 90)")
    t.set_defaults(func=cmd_token)

    v = tsub.add_parser("revoke", help="revoke an API token (or every token of a name) at once")
    who = v.add_mutually_exclusive_group(required=True)
    who.add_argument("--name", help="every token issued under this name")
    who.add_argument("--token", help="this token")
    v.set_defaults(func=cmd_revoke)


def _err(msg: str) -> int:
    print(f"hotline tickets: {msg}", file=sys.stderr)
    return 1


def cmd_deadline(args: argparse.Namespace) -> int:
    from tickets.calendar import load_calendar
    from tickets.deadlines import deadline_sheet
    from tickets.policy import load_policy

    try:
        start = datetime.fromisoformat(args.start)
    except ValueError:
        return _err(f"--from: {args.start!r} is not an ISO 8601 time")
    if args.ticket_type not in TICKET_TYPES:
        return _err(f"--type: {args.ticket_type!r} is not one of {'/'.join(TICKET_TYPES)}")
    try:
        calendar_file = Path(args.calendar) if args.calendar else None
        if calendar_file is None and getattr(args, "config", None):
            calendar_file = _settings(args).tickets.calendar_file  # type: ignore[attr-defined]
        sheet = deadline_sheet(
            load_policy(args.policy),
            load_calendar(calendar_file),
            args.ticket_type,
            start,
            level=args.level,
            co_departments=args.co_departments,
        )
    except TicketError as exc:
        return _err(str(exc))
    data = sheet.as_dict()
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        for key, value in data.items():
            print(f"{key:>24}  {value}")
    return 0


async def cmd_upgrade(args: argparse.Namespace) -> int:
    settings = _settings(args)
    settings.var_dir.mkdir(parents=True, exist_ok=True)  # type: ignore[attr-defined]
    await args.upgrade(settings.database_url)  # type: ignore[attr-defined]
    print("database at head")
    return 0


def _when(text: str | None, flag: str) -> datetime | None:
    if not text:
        return None
    try:
        from tickets.deadlines import to_local

        return to_local(datetime.fromisoformat(text))
    except ValueError as exc:
        raise TicketError(f"{flag}: {text!r} is not an ISO 8601 date or time", field=flag) from exc


async def cmd_export(args: argparse.Namespace) -> int:
    from infra.db import make_engine, make_sessionmaker
    from tickets.export import export_jsonl

    try:
        start, end = _when(args.start, "--from"), _when(args.end, "--to")
    except TicketError as exc:
        return _err(str(exc))
    engine = make_engine(_settings(args).database_url)  # type: ignore[attr-defined]
    try:
        if args.out:
            # Local file written line by line between awaits; no event loop to share in a CLI run.
            with open(args.out, "w", encoding="utf-8") as out:  # noqa: ASYNC230
                n = await export_jsonl(
                    make_sessionmaker(engine), out, start=start, end=end, mask=not args.unmasked
                )
        else:
            n = await export_jsonl(
                make_sessionmaker(engine), sys.stdout, start=start, end=end, mask=not args.unmasked
            )
    finally:
        await engine.dispose()
    print(f"exported {n} tickets", file=sys.stderr)
    return 0


async def cmd_report(args: argparse.Namespace) -> int:
    from infra.db import make_engine, make_sessionmaker
    from tickets.reports import build_report, month_bounds
    from tickets.services import system_clock

    month = args.month or system_clock().strftime("%Y-%m")
    try:
        start, end = month_bounds(month)
    except ValueError as exc:
        return _err(f"--{exc}")
    engine = make_engine(_settings(args).database_url)  # type: ignore[attr-defined]
    try:
        report = await build_report(make_sessionmaker(engine), start, end)
    finally:
        await engine.dispose()
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return 0

    def pct(v: float | None) -> str:
        return "-" if v is None else f"{v * 100:.2f}%"

    print(f"{month}: valid {report.valid}, direct {report.direct}, dispatched {report.dispatched}")
    print(f"  接通率 {pct(report.answer_rate)}  办结率 {pct(report.closure_rate)}  按时办结率 {pct(report.on_time_rate)}"
          f"  满意率 {pct(report.satisfaction_rate)}  督办 {report.supervised}")  # fmt: skip
    for row in report.ranking:
        print(f"  {row.rank:>3}. {row.department}  按时 {pct(row.on_time_rate)}  满意 {pct(row.satisfaction_rate)}"
              f"  派 {row.dispatched}")  # fmt: skip
    print("  hot: " + ", ".join(f"{k} {v}" for k, v in report.hot_categories + report.hot_terms))
    return 0


async def cmd_sweep(args: argparse.Namespace) -> int:
    from tickets.factory import build_ticket_service

    engine, service = build_ticket_service(_settings(args))
    try:
        raised = await service.sweep()
    finally:
        await engine.dispose()
    for number, reason in raised:
        print(f"{number} {reason}")
    return 0


async def cmd_token(args: argparse.Namespace) -> int:
    from infra.db import make_engine, make_sessionmaker
    from tickets.services import system_clock
    from tickets.tokens import TokenStore

    engine = make_engine(_settings(args).database_url)  # type: ignore[attr-defined]
    try:
        token = await TokenStore(make_sessionmaker(engine)).issue(
            name=args.name, role=args.role, department=args.department, now=system_clock(), days=args.days
        )
    except TicketError as exc:
        return _err(str(exc))
    finally:
        await engine.dispose()
    print(token)
    return 0


async def cmd_revoke(args: argparse.Namespace) -> int:
    from infra.db import make_engine, make_sessionmaker
    from tickets.services import system_clock
    from tickets.tokens import TokenStore

    engine = make_engine(_settings(args).database_url)  # type: ignore[attr-defined]
    try:
        count = await TokenStore(make_sessionmaker(engine)).revoke(token=args.token, name=args.name,
                                                                   now=system_clock())
    except TicketError as exc:
        return _err(str(exc))
    finally:
        await engine.dispose()
    print(f"revoked {count} token(s)")
    return 0 if count else 1
