"""The queue service asks Asterisk for only the events it reads, on every (re)login."""

from __future__ import annotations

import asyncio
import re

from agent_queue.control import ControlPolicy, QueueCore
from agent_queue.events import AmiConnectedEvent
from agent_queue.services import ENGINE_EVENT_FILTERS, QueueService
from agent_queue.sla import SlaTracker


class _Client:
    connected = True

    def __init__(self) -> None:
        self.sent: list[dict] = []
        self.handlers = []

    def subscribe(self, kind, handler):  # noqa: ANN001, ANN201
        self.handlers.append(handler)
        return lambda: None

    async def send(self, action, within=None):  # noqa: ANN001, ANN201
        self.sent.append(dict(action))
        return []


async def test_filters_are_sent_after_each_login_and_pass_what_the_engine_reads() -> None:
    client = _Client()
    svc = QueueService(client=client, core=QueueCore(specs=[], tracker=SlaTracker(), policy=ControlPolicy()))
    await svc.start()
    try:
        for attempt in (1, 2):  # first login, then a reconnect: filters live as long as a session
            await client.handlers[0](AmiConnectedEvent(host="127.0.0.1", port=5038, attempt=attempt))
            await asyncio.sleep(0)
            await asyncio.sleep(0)
        filters = [a for a in client.sent if a["Action"] == "Filter"]
        assert [f["Filter"] for f in filters] == list(ENGINE_EVENT_FILTERS) * 2
        assert all(f["Operation"] == "Add" for f in filters)
    finally:
        await svc.stop()
    # Asterisk matches each regex against the whole event text; any match passes it.
    def passes(text: str) -> bool:
        return any(re.search(f, text) for f in ENGINE_EVENT_FILTERS)

    for name in ("QueueCallerJoin", "QueueCallerAbandon", "QueueMemberStatus", "AgentConnect", "AgentComplete",
                 "Hangup", "OriginateResponse", "FullyBooted"):
        assert passes(f"Event: {name}\r\nPrivilege: agent,all\r\n")
    assert passes("Event: VarSet\r\nVariable: HOTLINE_CALLBACK\r\nValue: 1\r\n")
    for noise in ("Event: Newexten\r\nApplication: AGI\r\n", "Event: AGIExecStart\r\nCommand: STREAM FILE\r\n",
                  "Event: VarSet\r\nVariable: IVR_ROUTE\r\nValue: x\r\n", "Event: Newstate\r\n"):
        assert not passes(noise)
