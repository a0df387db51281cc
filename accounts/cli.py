"""`hotline users add|passwd|disable|enable|list`: the people who sign in to the web pages."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from accounts.store import ROLES, AccountError, AccountStore


def register(sub: argparse._SubParsersAction, *, upgrade: Callable[[str], Awaitable[None]] | None = None) -> None:
    """`upgrade` migrates the database to the newest schema (the composition root owns the schema)."""
    p = sub.add_parser("users", help="web sign-in accounts: add, passwd, disable, enable, list")
    p.set_defaults(upgrade=upgrade)
    usub = p.add_subparsers(dest="users_command", metavar="ACTION")
    usub.required = True

    a = usub.add_parser("add", help="add a user (asks for the password, or reads it with --password-stdin)")
    a.add_argument("username")
    a.add_argument("--role", required=True, choices=ROLES)
    a.add_argument("--department", help="the department's name (required for role department)")
    a.add_argument("--seat", help="the agent's seat in the dialplan, e.g. agent01")
    a.add_argument("--name", default="", dest="display_name", help="display name, e.g. 张三")
    a.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    a.set_defaults(func=cmd_add)

    w = usub.add_parser("passwd", help="set a user's password (signs the user out everywhere)")
    w.add_argument("username")
    w.add_argument("--password-stdin", action="store_true")
    w.set_defaults(func=cmd_passwd)

    d = usub.add_parser("disable", help="disable a user (signs the user out everywhere)")
    d.add_argument("username")
    d.set_defaults(func=cmd_disable, disabled=True)
    e = usub.add_parser("enable", help="enable a disabled user again")
    e.add_argument("username")
    e.set_defaults(func=cmd_disable, disabled=False)

    ls = usub.add_parser("list", help="list users")
    ls.set_defaults(func=cmd_list)


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise AccountError("password: the two entries differ", field="password")
    return first


async def _store(args: argparse.Namespace):  # noqa: ANN202
    from config import load_settings
    from infra.db import make_engine, make_sessionmaker

    settings = load_settings(Path(args.config) if getattr(args, "config", None) else None)
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    if getattr(args, "upgrade", None) is not None:
        await args.upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    return engine, AccountStore(make_sessionmaker(engine))


async def _run(args: argparse.Namespace, action) -> int:  # noqa: ANN001
    engine, store = await _store(args)
    try:
        await action(store)
    except AccountError as exc:
        print(f"hotline users: {exc.message}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    return 0


async def cmd_add(args: argparse.Namespace) -> int:
    async def add(store: AccountStore) -> None:
        acc = await store.add(args.username, _password(args), role=args.role, department=args.department,
                              seat=args.seat, display_name=args.display_name)  # fmt: skip
        print(f"user {acc.username} added ({acc.role})")

    return await _run(args, add)


async def cmd_passwd(args: argparse.Namespace) -> int:
    async def passwd(store: AccountStore) -> None:
        await store.set_password(args.username, _password(args))
        print(f"password of {args.username} changed")

    return await _run(args, passwd)


async def cmd_disable(args: argparse.Namespace) -> int:
    async def toggle(store: AccountStore) -> None:
        await store.set_disabled(args.username, args.disabled)
        print(f"user {args.username} {'disabled' if args.disabled else 'enabled'}")

    return await _run(args, toggle)


async def cmd_list(args: argparse.Namespace) -> int:
    async def show(store: AccountStore) -> None:
        for acc in await store.list():
            extra = " ".join(x for x in (acc.department or "", f"seat={acc.seat}" if acc.seat else "") if x)
            state = "disabled" if acc.disabled else "active"
            print(f"{acc.username:<20} {acc.role:<11} {state:<8} {acc.display_name} {extra}".rstrip())

    return await _run(args, show)
