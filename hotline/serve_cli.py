"""`hotline serve` (the engine) and `hotline run` (dev PBX + engine, as `make run` uses it)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from config import load_settings
from hotline import pbx
from hotline.pbx_cli import print_accounts
from infra.logs import setup_logging


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the engine: FastAGI, AudioSocket, AMI, database, web API")
    p.set_defaults(func=_serve, with_pbx=False)
    r = sub.add_parser("run", help="install and start the dev PBX, then the engine (Ctrl-C stops both)")
    r.set_defaults(func=_serve, with_pbx=True)


async def _serve(args: argparse.Namespace) -> int:
    # Lazy on purpose: the engine pulls in SQLAlchemy, Alembic, aiohttp and the speech stack
    # (`python -X importtime -c "import hotline.engine"`: 1.15 s cumulative on the dev box),
    # which every other `hotline` command would otherwise pay (`hotline --help` 0.4 s -> 1.4 s).
    from hotline.engine import Engine, EngineError

    settings = load_settings(Path(args.config) if args.config else None)
    setup_logging(settings.engine.log_level, settings.engine.log_format)
    if args.with_pbx:
        try:
            pbx.install(settings)
            pbx.start(settings)
        except pbx.PbxError as exc:
            print(f"hotline run: {exc}", file=sys.stderr)
            return 1
    engine = Engine(settings)
    try:
        await engine.start()
    except EngineError as exc:
        print(f"hotline serve: {exc}", file=sys.stderr)
        await engine.close()
        return 1
    if args.with_pbx:
        _print_welcome(settings)
    try:
        await engine.run_until_stopped()
    finally:
        await engine.close()
        if args.with_pbx:
            pbx.stop(settings)
    return 0


def _print_welcome(settings) -> None:  # noqa: ANN001
    out = sys.stdout
    print("\n12345 hotline is up.", file=out)
    print_accounts(settings, out)
    print(
        f"\nPoint a softphone at one agent account, dial *11 to log in to the queues.\n"
        f"Place a test call as a citizen (SIPp from this machine):\n"
        f"  sipp 127.0.0.1:{settings.pbx.sip_port} -sn uac -s 12345 -m 1 -d 20000\n"
        f"or dial a legacy number such as 12333 or 2253337 the same way.\n"
        f"Web: http://{settings.engine.web_host}:{settings.engine.web_port}/login (accounts: hotline users add NAME "
        f"--role agent --seat agent01): agent desktop /desktop,\n"
        f"department portal /portal, wallboard /wallboard, admin console /admin; citizens /public/;\n"
        f"API /api/openapi.json, metrics /metrics, readiness /readyz\n"
        f"Ctrl-C stops the engine and the PBX.\n",
        file=out, flush=True,
    )
