"""The `hotline` command. Each package adds its own subcommands through `register(sub)`.

A command's handler takes the parsed arguments and returns an exit code; coroutine
handlers are run on a fresh event loop. Exit codes: 0 ok, 1 failed/invalid, 2 usage.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import accounts.cli
import agent_queue.cli
import asr.cli
import hotline_merge.cli
import ivr.prompts_cli
import tickets.cli
from config import ConfigError
from hotline import pbx_cli, serve_cli
from hotline_merge.models import Dialplan
from hotline_merge.simulate import TextMatcher


def speech_text_matcher(plan: Dialplan) -> TextMatcher:
    """`hotline route --text`: the speech package's matcher, handed to the pure domain here."""
    # Lazy: asr.intent loads pypinyin's phrase dictionary (`python -X importtime -c "import
    # asr.intent"`: 0.45 s cumulative), which only --text needs.
    from asr.intent import matcher_from_dialplan

    return matcher_from_dialplan(plan).match


async def check_prompts(plan: Dialplan, path: Path) -> list[Any]:
    """`hotline dialplan check` on rendered audio: lengths and phoneme traces (ivr renders)."""
    return await ivr.prompts_cli.check_rendered(plan, path)


async def upgrade_database(url: str) -> None:
    """`hotline tickets upgrade`: every package's migrations (hotline/schema.py)."""
    # Lazy: Alembic costs 0.22 s of `hotline --help`'s start-up (`python -X importtime -c
    # "import hotline.cli"`: 0.64 s with it at the top, 0.42 s without).
    from hotline import schema

    await schema.upgrade(url)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hotline", description="12345 government service hotline engine")
    parser.add_argument("--config", help="settings file (default config/hotline.toml, or $HOTLINE_CONFIG)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    # In the order `hotline --help` lists them.
    serve_cli.register(sub)
    pbx_cli.register(sub)
    hotline_merge.cli.register(sub, text_matcher=speech_text_matcher, prompt_check=check_prompts)
    asr.cli.register(sub)
    ivr.prompts_cli.register(sub)
    tickets.cli.register(sub, upgrade=upgrade_database)
    agent_queue.cli.register(sub)
    accounts.cli.register(sub, upgrade=upgrade_database)
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
