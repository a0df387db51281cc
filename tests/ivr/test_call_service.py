"""CallService over FastAGI without a PBX: a fake Asterisk on a free TCP port sends the AGI
environment and answers each command, the fakes behind the ports (ivr/ports.py) record what
the call flow asked of tickets and prompts. The real-PBX proof is tests/e2e/test_ivr_calls.py."""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from asr.services import SpeechService
from hotline.engine import DialplanHolder
from hotline_merge.loader import load_dialplan
from hotline_merge.models import Dialplan
from ivr import ports
from ivr.agi import FastAgiServer
from ivr.prompts import PromptLibrary
from ivr.services import CallService
from tests.hotline_merge.conftest import SMALL
from tickets.return_visit import ReturnVisitService
from tickets.services import TicketService

NOON = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
ENV = ("agi_network: yes\nagi_network_script: call\nagi_channel: PJSIP/trunk-00000001\n"
       "agi_uniqueid: 1700000000.7\nagi_callerid: 13812345678\nagi_dnid: 12345\nagi_arg_1: {dnis}\n\n")
HANGUP = "HANGUP\n511 Command Not Permitted"


@dataclass
class Ref:
    id: int
    number: str


@dataclass
class FakeTickets:
    calls: list[tuple[str, dict]] = field(default_factory=list)

    async def open_from_call(self, **kw: object) -> Ref:
        self.calls.append(("open", kw))
        return Ref(41, "WW20261123000041")

    async def mark_abandoned(self, ticket_id: int, *, stage: str) -> None:
        self.calls.append(("abandoned", {"id": ticket_id, "stage": stage}))

    async def record_not_accepted(self, ticket_id: int, *, matter: str) -> None:
        self.calls.append(("not accepted", {"id": ticket_id}))

    async def close_direct(self, ticket_id: int, *, answer: str) -> None:
        self.calls.append(("close", {"id": ticket_id}))

    async def attach_voicemail(self, ticket_id: int, *, recording_path: str) -> None:
        self.calls.append(("voicemail", {"id": ticket_id}))

    async def progress_text(self, ticket_number: str) -> str | None:
        return None


@dataclass
class FakePrompts:
    texts: dict[str, str] = field(default_factory=dict)
    by_path: dict[str, str] = field(default_factory=dict)

    async def ensure(self, prompt_id: str, text: str) -> str:
        path = f"/prompts/{prompt_id.replace('.', '_')}"
        self.texts[prompt_id], self.by_path[path] = text, text
        return path


@dataclass
class Holder:
    current: Dialplan


@pytest.fixture
def plan(tmp_path: Path) -> Dialplan:
    path = tmp_path / "plan.yaml"
    path.write_text(SMALL, encoding="utf-8")
    return load_dialplan(path)


async def _call(service: CallService, answer: Callable[[str], str], dnis: str = "12345") -> list[str]:
    """One call from the fake Asterisk: every command the engine sent, in order."""
    server = FastAgiServer(service.handlers())
    await server.start("127.0.0.1", 0)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(ENV.format(dnis=dnis).encode())
        await writer.drain()
        commands: list[str] = []
        while line := await asyncio.wait_for(reader.readline(), 10):
            commands.append(line.decode().strip())
            writer.write(answer(commands[-1]).encode() + b"\n")
            await writer.drain()
        writer.close()
    finally:
        await server.close()
    assert server.failed == 0
    return commands


def _variables(commands: list[str]) -> dict[str, str]:
    out = {}
    for c in commands:
        if c.startswith("SET VARIABLE "):
            name, value = c.removeprefix("SET VARIABLE ").split(" ", 1)
            out[name] = value.strip('"')
    return out


def _service(plan: Dialplan, tickets: FakeTickets, prompts: FakePrompts) -> CallService:
    return CallService(dialplan=Holder(plan), prompts=prompts, tickets=tickets, clock=lambda: NOON)


async def test_a_key_at_the_menu_opens_a_ticket_and_queues_the_caller(plan: Dialplan) -> None:
    tickets, prompts = FakeTickets(), FakePrompts()

    def asterisk(command: str) -> str:
        return "200 result=1" if command.startswith("GET DATA") else "200 result=0"

    commands = await _call(_service(plan, tickets, prompts), asterisk)
    assert commands[0] == "ANSWER"
    assert commands[1].startswith("GET DATA /prompts/menu_main ")
    assert prompts.texts["menu.main"] == "人社请按1，税务请按2，更多请按3。"
    assert _variables(commands) == {"IVR_ROUTE": "parallel", "TICKET_ID": "WW20261123000041",
                                    "IVR_DEPARTMENT": "市人社局", "IVR_QUEUE": "hrss", "IVR_ACTION": "queue"}
    assert commands[-1] == "SET VARIABLE IVR_ACTION \"queue\""  # the decision is the last word
    (kind, opened), = tickets.calls
    assert kind == "open" and opened["caller"] == "+8613812345678" and opened["department"] == "市人社局"
    assert opened["call_id"] == "1700000000.7" and opened["route"] == "parallel"


async def test_a_caller_who_hangs_up_in_the_menu_leaves_an_abandoned_ticket_and_no_decision(plan: Dialplan) -> None:
    tickets, prompts = FakeTickets(), FakePrompts()

    def asterisk(command: str) -> str:
        return HANGUP if command.startswith("GET DATA") else "200 result=0"

    service = _service(plan, tickets, prompts)
    commands = await _call(service, asterisk)
    assert not any(c.startswith("SET VARIABLE") for c in commands)
    assert [k for k, _ in tickets.calls] == ["open", "abandoned"]
    assert tickets.calls[0][1]["route"] == "abandoned:menu.main"
    assert service.stats.abandoned == 1


async def test_a_silent_caller_hears_the_menu_once_a_short_reprompt_then_goes_to_an_agent(plan: Dialplan) -> None:
    tickets, prompts = FakeTickets(), FakePrompts()

    def asterisk(command: str) -> str:
        return "200 result= (timeout)" if command.startswith("GET DATA") else "200 result=0 endpos=8000"

    commands = await _call(_service(plan, tickets, prompts), asterisk)
    asked = [c.split()[2] for c in commands if c.startswith("GET DATA")]
    assert len(asked) == 2 and asked[0].endswith("/menu_main")  # the menu once, then the re-prompt
    assert "没有收到您的按键" in prompts.by_path[asked[1]]
    played = [c.split()[2] for c in commands if c.startswith("STREAM FILE")]
    assert len(played) == 1 and "转接人工服务" in prompts.by_path[played[0]]
    assert _variables(commands)["IVR_ROUTE"] == "agent-after-silence"
    assert _variables(commands)["IVR_QUEUE"] == "general"
    assert commands[-1] == "SET VARIABLE IVR_ACTION \"queue\""


def _accepts(real: type, proto: type, name: str) -> bool:
    wanted = inspect.signature(getattr(proto, name))
    have = inspect.signature(getattr(real, name))
    names = {p.name for p in have.parameters.values()}
    return all(p.name in names for p in wanted.parameters.values())


@pytest.mark.parametrize(("real", "proto"), [
    (TicketService, ports.TicketPort), (ReturnVisitService, ports.VisitPort), (SpeechService, ports.SpeechPort),
    (PromptLibrary, ports.PromptPort), (DialplanHolder, ports.DialplanPort),
])
def test_the_services_the_engine_passes_fit_the_ports(real: type, proto: type) -> None:
    members = [n for n in vars(proto) if not n.startswith("_")]
    assert members
    for name in members:
        if isinstance(vars(proto)[name], property):
            assert name in getattr(real, "__dataclass_fields__", {}) or hasattr(real, name), name
        else:
            assert _accepts(real, proto, name), f"{real.__name__}.{name} does not take {proto.__name__}'s arguments"
