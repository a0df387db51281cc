"""`hotline intent`, `hotline asr check`, `hotline asr fetch-model`, `hotline suggest`.

The speech modules are imported inside the handlers that need them, measured with
`python -X importtime -c "import asr.intent"` (pypinyin's phrase dictionary: 0.45 s cumulative)
and `... -c "import asr.recognizer"` (vosk and jieba: 0.20 s): `hotline --help` and every other
subcommand would otherwise pay for them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from asr.exceptions import ModelFetchFailed, ModelUnavailable
from config import load_settings
from hotline_merge.loader import load_dialplan


def register(sub: Any) -> None:
    intent = sub.add_parser("intent", help="match caller text to an intent (the speech step's matcher)")
    intent.add_argument("text", help="what the caller said, e.g. 我想问一下社保")
    intent.add_argument("--json", action="store_true", help="print one JSON object")
    intent.add_argument("--dialplan", help="dialplan YAML file or folder (default settings.dialplan.path)")
    intent.set_defaults(func=_intent)

    asr = sub.add_parser("asr", help="speech recognition model tools")
    asr_sub = asr.add_subparsers(dest="asr_command", metavar="ASR_COMMAND")
    asr_sub.required = True
    check = asr_sub.add_parser("check", help="load the configured Vosk model; report rate, load time, memory")
    check.add_argument("--model", help="model folder (default settings.asr.vosk_model / HOTLINE_VOSK_MODEL)")
    check.set_defaults(func=_check)
    fetch = asr_sub.add_parser("fetch-model", help="download and verify vosk-model-small-cn-0.22 (needs internet)")
    fetch.add_argument("--dest", help="folder to unpack into (default <var_dir>/models)")
    fetch.add_argument("--sha256", help="published SHA-256 of the zip; without it nothing is installed")
    fetch.set_defaults(func=_fetch)

    suggest = sub.add_parser("suggest", help="suggest department and ticket type for a ticket's text")
    suggest.add_argument("text")
    suggest.add_argument("--topics", help="CSV `label,text` to train the department model on")
    suggest.add_argument("--tickets", help="CSV with 性质 and 诉求件内容 columns to train the ticket type on")
    suggest.add_argument("--dialplan", help="name departments as this dialplan does (default settings.dialplan.path)")
    suggest.set_defaults(func=_suggest)


def _load_matcher(args: argparse.Namespace) -> tuple[Any, str]:
    """The dialplan's matcher when a dialplan loads, else the shipped defaults."""
    from asr.intent import default_matcher, matcher_from_dialplan  # lazy: see the module docstring

    settings = load_settings(Path(args.config) if args.config else None)
    threshold = settings.asr.confidence
    path = Path(args.dialplan) if args.dialplan else settings.dialplan.path
    if not path.exists() or (path.is_dir() and not any(path.glob("*.y*ml"))):
        if args.dialplan:
            raise FileNotFoundError(f"{path}: no dialplan there")
        return default_matcher(threshold), f"defaults (no dialplan at {path})"
    return matcher_from_dialplan(load_dialplan(path), threshold=threshold), str(path)


def _intent(args: argparse.Namespace) -> int:
    try:
        matcher, source = _load_matcher(args)
    except Exception as exc:  # DialplanInvalid, FileNotFoundError: say which file and stop
        errors = getattr(exc, "errors", None)
        print(f"hotline intent: cannot load the dialplan: {exc}", file=sys.stderr)
        for issue in errors or []:
            print(f"  {issue}", file=sys.stderr)
        return 1
    result = matcher.match(args.text)
    if args.json:
        print(json.dumps(result.as_json(), ensure_ascii=False))
    else:
        where = result.department or result.target or ""
        print(f"{result.kind} {where} confidence={result.confidence:.2f} matched={result.matched or '-'}")
        print(f"(intents from {source})", file=sys.stderr)
    return 0


def _check(args: argparse.Namespace) -> int:
    from asr.recognizer import check_model  # lazy: see the module docstring

    settings = load_settings(Path(args.config) if args.config else None)
    path = args.model or settings.asr.vosk_model
    if not path:
        print(
            "hotline asr check: no model configured (set asr.vosk_model or HOTLINE_VOSK_MODEL);"
            " speech is off and the IVR runs on keys only",
            file=sys.stderr,
        )
        return 1
    try:
        info = check_model(Path(path))
    except ModelUnavailable as exc:
        print(f"hotline asr check: {exc}", file=sys.stderr)
        return 1
    print(f"model        {info.path}")
    print(f"sample rate  {info.sample_rate} Hz (calls arrive at 8000 Hz and are resampled by Vosk)")
    print(f"grammar      {'yes' if info.supports_grammar else 'no (large model: free mode only)'}")
    print(f"load time    {info.load_seconds:.2f} s")
    print(f"memory       {info.rss_delta_bytes / 2**20:.0f} MiB (RSS delta)")
    return 0


def _fetch(args: argparse.Namespace) -> int:
    from asr.recognizer import fetch_model  # lazy: see the module docstring

    settings = load_settings(Path(args.config) if args.config else None)
    dest = Path(args.dest) if args.dest else settings.var_dir / "models"
    try:
        path = fetch_model(dest, sha256=args.sha256)
    except ModelFetchFailed as exc:
        print(f"hotline asr fetch-model: {exc}", file=sys.stderr)
        return 1
    print(f"installed {path}; set HOTLINE_VOSK_MODEL={path} (or asr.vosk_model) and run `hotline asr check`")
    return 0


def _suggest(args: argparse.Namespace) -> int:
    from asr.dispatch import DispatchSuggester  # lazy: imports asr.intent, see the module docstring

    suggester = DispatchSuggester.from_files(
        topics=Path(args.topics) if args.topics else None,
        tickets=Path(args.tickets) if args.tickets else None,
    )
    settings = load_settings(Path(args.config) if args.config else None)
    path = Path(args.dialplan) if args.dialplan else settings.dialplan.path
    if path.exists():
        from hotline_merge.loader import load_dialplan

        suggester = suggester.for_dialplan(load_dialplan(path))  # the dialplan's department names
    print(json.dumps(suggester.suggest(args.text).as_json(), ensure_ascii=False))
    return 0
