"""Run the hotline_merge commands the way `hotline` does, without needing every other package's CLI."""

from __future__ import annotations

import argparse

from hotline_merge.cli import register


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hotline")
    parser.add_argument("--config")
    sub = parser.add_subparsers(dest="command")
    sub.required = True
    register(sub)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse reports usage errors by exiting 2
        return int(exc.code or 0)
    return int(args.func(args) or 0)
