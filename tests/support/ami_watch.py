"""A tiny independent AMI reader for tests: the oracle that checks what Asterisk really did.

Deliberately not the product's AMI client, so a bug there cannot hide itself in the tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable

Event = dict[str, str]


class AmiWatch:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Condition()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task | None = None
        self._ids = itertools.count(1)
        self._responses: dict[str, asyncio.Future] = {}

    async def connect(self, host: str, port: int, username: str, secret: str, timeout: float = 20) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                self._reader, self._writer = await asyncio.open_connection(host, port)
                break
            except OSError:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.2)
        await self._reader.readline()  # banner
        self._task = asyncio.create_task(self._read_loop())
        reply = await self.action({"Action": "Login", "Username": username, "Secret": secret})
        if reply.get("Response") != "Success":
            raise RuntimeError(f"AMI login failed: {reply}")

    async def _read_loop(self) -> None:
        assert self._reader is not None
        block: Event = {}
        while True:
            line = await self._reader.readline()
            if not line:
                return
            text = line.decode(errors="replace").rstrip("\r\n")
            if text:
                key, _, value = text.partition(":")
                block[key.strip()] = value.strip()
                continue
            if not block:
                continue
            msg, block = block, {}
            fut = self._responses.pop(msg.get("ActionID", ""), None) if "Response" in msg else None
            if fut is not None and not fut.done():
                fut.set_result(msg)
            if "Event" in msg:
                async with self._changed:
                    self.events.append(msg)
                    self._changed.notify_all()

    async def action(self, fields: dict[str, str], timeout: float = 10) -> Event:
        assert self._writer is not None
        action_id = f"watch-{next(self._ids)}"
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        self._responses[action_id] = fut
        payload = "".join(f"{k}: {v}\r\n" for k, v in {**fields, "ActionID": action_id}.items()) + "\r\n"
        self._writer.write(payload.encode())
        await self._writer.drain()
        return await asyncio.wait_for(fut, timeout)

    def mark(self) -> int:
        return len(self.events)

    def since(self, mark: int, name: str | None = None, **match: str) -> list[Event]:
        return [e for e in self.events[mark:] if _matches(e, name, match)]

    async def wait_for(self, name: str, *, since: int = 0, count: int = 1, timeout: float = 30,
                       where: Callable[[Event], bool] | None = None, **match: str) -> list[Event]:
        def found() -> list[Event]:
            return [e for e in self.events[since:] if _matches(e, name, match) and (where is None or where(e))]

        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: len(found()) >= count), timeout)
            except TimeoutError:
                got = found()
                raise AssertionError(
                    f"expected {count} {name} event(s) matching {match} within {timeout}s, saw {len(got)}"
                ) from None
        return found()

    async def close(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


def _matches(event: Event, name: str | None, match: dict[str, str]) -> bool:
    if name is not None and event.get("Event") != name:
        return False
    return all(event.get(k) == v for k, v in match.items())
