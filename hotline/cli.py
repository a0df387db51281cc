"""The `hotline` command. Each package adds its own subcommands through `register(sub)`.

A command's handler takes the parsed arguments and returns an exit code; coroutine
handlers are run on a fresh event loop. Exit codes: 0 ok, 1 failed/invalid, 2 usage.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import sys
from collections.abc import Sequence

from config import ConfigError

# Packages that contribute subcommands, in the order `hotline --help` lists them.
COMMAND_MODULES = (
    "hotline.serve_cli",
    "hotline.pbx_cli",
    "hotline_merge.cli",
    "asr.cli",
    "tickets.cli",
    "agent_queue.cli",
    "accounts.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hotline", description="12345 government service hotline engine")
    parser.add_argument("--config", help="settings file (default config/hotline.toml, or $HOTLINE_CONFIG)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
        if inspect.iscoroutine(result):
            result = asyncio.run(result)
        return int(result or 0)
    except ConfigError as exc:
        print(f"hotline: config error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
