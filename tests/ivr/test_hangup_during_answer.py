"""A caller who hangs up while the engine answers still leaves an abandoned ticket (first contact)."""

import asyncio
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from hotline.schema import upgrade
from hotline_merge.loader import load_dialplan
from infra.db import make_engine
from ivr.agi import FastAgiServer
from ivr.services import CallService
from tests.tickets.conftest import FakeClock, make_service
from tickets.repository import TicketFilter

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def test_hangup_during_answer_leaves_an_abandoned_ticket(tmp_path, backend, request):
    url = (f"sqlite+aiosqlite:///{tmp_path / 't.db'}" if backend == "sqlite"
           else request.getfixturevalue("pg_server").create_db())
    await upgrade(url)
    engine = make_engine(url)
    tickets = make_service(engine, FakeClock(datetime(2026, 11, 23, 9, 0)))
    calls = CallService(dialplan=SimpleNamespace(current=load_dialplan(ROOT / "dialplans")), prompts=None,
                        tickets=tickets)
    server = FastAgiServer(calls.handlers())
    await server.start("127.0.0.1", 0)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"agi_network_script: call\nagi_channel: PJSIP/trunk-0001\nagi_uniqueid: 1700000000.9\n"
                     b"agi_callerid: 138-1234-5678\nagi_arg_1: 12345\n\n")
        assert (await reader.readline()).strip() == b"ANSWER"
        writer.write(b"HANGUP\n511 Command Not Permitted on a dead channel\n")
        await writer.drain()
        await reader.read()
        writer.close()
    finally:
        await server.close()
    (view,) = await tickets.search(TicketFilter())
    assert view.status == "abandoned" and view.caller == "+8613812345678" and view.route == "abandoned:answer"
    assert calls.stats.abandoned == 1
    await engine.dispose()
