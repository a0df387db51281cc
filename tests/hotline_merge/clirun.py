"""Run the hotline_merge commands the way `hotline` does (with the root's speech matcher for --text)."""

from __future__ import annotations

import argparse

from hotline.cli import speech_text_matcher
from hotline_merge.cli import register


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hotline")
    parser.add_argument("--config")
    sub = parser.add_subparsers(dest="command")
    sub.required = True
    register(sub, text_matcher=speech_text_matcher)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse reports usage errors by exiting 2
        return int(exc.code or 0)
    return int(args.func(args) or 0)
