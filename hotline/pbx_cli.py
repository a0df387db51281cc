"""`hotline pbx install|start|stop|status|config`: the dev/test Asterisk."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from config import load_settings
from hotline import pbx


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pbx", help="install, start and stop the dev PBX (Asterisk)")
    actions = p.add_subparsers(dest="pbx_action", metavar="ACTION")
    actions.required = True
    for name, helptext in (
        ("install", "install Asterisk (system package or a cached Debian sid chroot); idempotent"),
        ("start", "generate config from asterisk/templates and the dialplan, start Asterisk"),
        ("stop", "stop Asterisk"),
        ("status", "print what is installed and running, as JSON"),
        ("config", "only (re)generate the config files"),
        ("accounts", "print the SIP accounts for softphones"),
    ):
        a = actions.add_parser(name, help=helptext)
        a.set_defaults(func=_handler)


def _handler(args: argparse.Namespace) -> int:
    settings = load_settings(Path(args.config) if args.config else None)
    try:
        match args.pbx_action:
            case "install":
                pbx.install(settings)
            case "start":
                pbx.install(settings)
                pbx.start(settings)
            case "stop":
                pbx.stop(settings)
            case "status":
                print(json.dumps(pbx.status(settings), indent=2, ensure_ascii=False))
            case "config":
                print(pbx.write_config(settings))
            case "accounts":
                print_accounts(settings)
    except pbx.PbxError as exc:
        print(f"hotline pbx {args.pbx_action}: {exc}", file=sys.stderr)
        return 1
    return 0


def print_accounts(settings, out=sys.stdout) -> None:  # noqa: ANN001
    data = pbx.ensure_secrets(settings)
    host = "127.0.0.1" if settings.pbx.sip_bind in ("0.0.0.0", "::") else settings.pbx.sip_bind
    print(f"SIP server {host}:{settings.pbx.sip_port} (UDP). Agent softphone accounts:", file=out)
    for name, password in sorted(data["agents"].items()):
        print(f"  user {name}  password {password}", file=out)
