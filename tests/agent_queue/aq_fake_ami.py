"""A scripted fake Asterisk manager on a free loopback port (no PBX needed).

Each connection gets the banner; actions are parsed with the client's own framer and answered
by `replies[action_name](action_id) -> bytes`. Tests push unsolicited events with `push()` and
simulate an Asterisk restart with `restart()` (drop every connection, optionally mid-frame).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aq_wire as wire

from agent_queue.ami_framing import AmiFrameParser, AmiMessage


class FakeAmi:
    def __init__(self) -> None:
        self.replies: dict[str, Callable[[str], bytes] | None] = {
            "login": wire.login_ok,
            "ping": lambda aid: wire.frame("Response: Success", f"ActionID: {aid}", "Ping: Pong"),
            "logoff": lambda aid: wire.frame("Response: Goodbye", f"ActionID: {aid}", "Message: Thanks"),
            "queuestatus": wire.queue_status,
            "queueadd": wire.queue_add_ok,
        }
        self.received: list[AmiMessage] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.connections = 0
        self.action_seen = asyncio.Event()
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self, port: int = 0) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self, *, partial: bytes = b"") -> None:
        """Stop listening and drop every connection (after `partial`, an unfinished frame)."""
        assert self.server is not None
        self.server.close()
        for w in self.writers:
            if partial:
                w.write(partial)
            w.close()
        self.writers.clear()
        await self.server.wait_closed()

    async def restart(self, *, partial: bytes = b"") -> None:
        await self.stop(partial=partial)
        await self.start(self.port)

    def push(self, data: bytes) -> None:
        for w in self.writers:
            w.write(data)

    async def wait_action(self, name: str) -> AmiMessage:
        while True:
            for msg in self.received:
                if msg.get("action").lower() == name.lower():
                    self.received.remove(msg)
                    return msg
            self.action_seen.clear()
            await self.action_seen.wait()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        writer.write(wire.BANNER)
        parser = AmiFrameParser()
        parser.banner = ""
        try:
            while data := await reader.read(4096):
                for msg in parser.feed(data):
                    self.received.append(msg)
                    self.action_seen.set()
                    reply = self.replies.get(msg.get("action").lower())
                    if reply is not None:
                        writer.write(reply(msg.action_id))
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
