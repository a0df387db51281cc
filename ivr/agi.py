"""FastAGI edge: the only module that speaks AGI.

Framing (reading lines with bounds and timeouts) is kept apart from parsing (pure functions
over one line), so the parsers are tested with bytes and the server with a fake Asterisk.
We do not use panoramisk's FastAGI: it wraps plain functions with `asyncio.coroutine`
(gone in Python 3.11) and its header loop spins at end-of-stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from infra.logs import log_event
from ivr.exceptions import (
    AgiCommandFailed,
    AgiDeadChannel,
    AgiHangup,
    AgiInvalidCommand,
    AgiProtocolError,
    AgiUsageError,
)

log = logging.getLogger("ivr.agi")

MAX_LINE = 8192
MAX_HEADERS = 200
_RESPONSE = re.compile(r"^(\d{3})(?:[ -](.*))?$")
_RESULT = re.compile(r"^result=(-?\d*)(?:\s+\((.*?)\))?(?:\s+(.*))?$")


@dataclass(frozen=True)
class AgiResponse:
    code: int
    result: int
    value: str = ""  # the result as sent: GET DATA digits keep their leading zeros here
    data: str = ""  # the text in parentheses, e.g. "timeout" or a variable's value
    extra: str = ""  # anything after, e.g. "endpos=1234"


def parse_header_line(line: str) -> tuple[str, str]:
    """`agi_channel: PJSIP/trunk-0001` -> ("channel", "PJSIP/trunk-0001")."""
    key, sep, value = line.partition(":")
    if not sep or not key.startswith("agi_") or " " in key:
        raise AgiProtocolError(f"malformed AGI header line: {line[:80]!r}")
    return key[4:], value.strip()


def parse_response(line: str) -> AgiResponse:
    """One status line from Asterisk -> AgiResponse, or the matching AGI exception."""
    if line == "HANGUP":
        raise AgiHangup("channel hung up")
    m = _RESPONSE.match(line)
    if not m:
        raise AgiProtocolError(f"malformed AGI response: {line[:80]!r}")
    code, rest = int(m.group(1)), (m.group(2) or "")
    if code == 510:
        raise AgiInvalidCommand(rest or "invalid or unknown command")
    if code == 511:
        raise AgiDeadChannel(rest or "command not permitted on a dead channel")
    if code == 520:
        raise AgiUsageError(rest or "invalid command syntax")
    if code != 200:
        raise AgiProtocolError(f"unexpected AGI status {code}: {line[:80]!r}")
    r = _RESULT.match(rest.strip())
    if not r or r.group(1) == "-":
        raise AgiProtocolError(f"malformed AGI result: {line[:80]!r}")
    value = r.group(1)
    # GET DATA answers `result= (timeout)` when nothing was keyed.
    return AgiResponse(code=200, result=int(value) if value else 0, value=value,
                       data=r.group(2) or "", extra=r.group(3) or "")


@dataclass(frozen=True)
class AgiRequest:
    """The AGI environment Asterisk sends first, validated at the edge."""

    script: str  # path part of agi://host:port/<script>
    channel: str
    uniqueid: str
    callerid: str
    calleridname: str
    dnid: str
    extension: str
    context: str
    arguments: tuple[str, ...] = ()
    params: dict[str, str] = field(default_factory=dict)
    raw: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_headers(cls, headers: dict[str, str]) -> AgiRequest:
        for required in ("channel", "uniqueid"):
            if not headers.get(required):
                raise AgiProtocolError(f"AGI header agi_{required} missing")
        script, _, query = headers.get("network_script", headers.get("request", "")).partition("?")
        if script.startswith("agi://"):
            script = script.split("/", 3)[3] if script.count("/") >= 3 else ""
        params = dict(p.partition("=")[::2] for p in query.split("&") if p)
        args = []
        n = 1
        while f"arg_{n}" in headers:
            args.append(headers[f"arg_{n}"])
            n += 1

        def clean(value: str | None) -> str:
            return "" if value in (None, "unknown") else value

        return cls(
            script=script.strip("/"),
            channel=headers["channel"],
            uniqueid=headers["uniqueid"],
            callerid=clean(headers.get("callerid")),
            calleridname=clean(headers.get("calleridname")),
            dnid=clean(headers.get("dnid")),
            extension=clean(headers.get("extension")),
            context=clean(headers.get("context")),
            arguments=tuple(args),
            params=params,
            raw=dict(headers),
        )


def _quote(arg: str) -> str:
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


class AgiChannel:
    """One call's AGI session: send a command, read its one response."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        request: AgiRequest,
        *,
        command_timeout: float = 30.0,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.request = request
        self.command_timeout = command_timeout
        self.hung_up = False
        self._lock = asyncio.Lock()

    async def command(self, text: str, *, timeout: float | None = None) -> AgiResponse:
        if self.hung_up:
            raise AgiHangup("channel already hung up")
        async with self._lock:
            self._writer.write(text.encode() + b"\n")
            await self._writer.drain()
            while True:
                line = await _read_line(self._reader, timeout or self.command_timeout)
                try:
                    return parse_response(line)
                except AgiHangup:
                    # Asterisk announces the hangup on its own line, then still answers the command.
                    self.hung_up = True
                    continue
                except AgiUsageError:
                    await _skip_usage(self._reader, self.command_timeout)
                    raise

    # -- the commands the IVR uses -------------------------------------------------
    async def answer(self) -> None:
        r = await self.command("ANSWER")
        if r.result != 0:
            raise AgiCommandFailed("ANSWER failed")

    async def set_variable(self, name: str, value: str) -> None:
        await self.command(f"SET VARIABLE {name} {_quote(value)}")

    async def get_variable(self, name: str) -> str | None:
        r = await self.command(f"GET VARIABLE {name}")
        return r.data if r.result == 1 else None

    async def stream_file(self, path: str, escape_digits: str = "") -> str | None:
        """Play a prompt; returns the digit that interrupted it, if any."""
        r = await self.command(f"STREAM FILE {path} {_quote(escape_digits)}", timeout=600)
        if r.result < 0:
            # -1 is a hangup or an unplayable file; either way this session is over, and a caller
            # still on the line falls back to the dialplan's queue because no decision was set.
            raise AgiHangup(f"STREAM FILE {path} returned -1")
        return chr(r.result) if r.result > 0 else None

    async def get_data(self, path: str, timeout_ms: int, max_digits: int) -> tuple[str, bool]:
        """Play a prompt and collect digits; returns (digits, timed_out)."""
        r = await self.command(f"GET DATA {path} {timeout_ms} {max_digits}", timeout=600)
        if r.result < 0:
            raise AgiHangup("GET DATA returned -1")
        return r.value, r.data == "timeout"

    async def wait_for_digit(self, timeout_ms: int) -> str | None:
        r = await self.command(f"WAIT FOR DIGIT {timeout_ms}", timeout=timeout_ms / 1000 + 10)
        if r.result < 0:
            raise AgiHangup("WAIT FOR DIGIT returned -1")
        return chr(r.result) if r.result > 0 else None

    async def exec(self, application: str, args: str = "", *, timeout: float | None = None) -> int:
        r = await self.command(f"EXEC {application} {_quote(args)}", timeout=timeout or 3600)
        if r.result == -2:
            raise AgiCommandFailed(f"application {application} not found")
        return r.result

    async def record_file(self, path: str, fmt: str, escape_digits: str, timeout_ms: int,
                          silence_s: int = 5) -> AgiResponse:
        return await self.command(
            f"RECORD FILE {path} {fmt} {_quote(escape_digits)} {timeout_ms} BEEP s={silence_s}",
            timeout=timeout_ms / 1000 + 30,
        )

    async def verbose(self, message: str, level: int = 3) -> None:
        await self.command(f"VERBOSE {_quote(message)} {level}")

    async def hangup(self) -> None:
        with contextlib.suppress(AgiHangup, AgiDeadChannel):
            await self.command("HANGUP")


async def _read_line(reader: asyncio.StreamReader, timeout: float) -> str:
    try:
        raw = await asyncio.wait_for(reader.readuntil(b"\n"), timeout)
    except asyncio.IncompleteReadError as exc:
        raise AgiHangup("AGI connection closed by Asterisk") from exc
    except asyncio.LimitOverrunError as exc:
        raise AgiProtocolError(f"AGI line longer than {MAX_LINE} bytes") from exc
    except TimeoutError as exc:
        raise AgiProtocolError(f"no AGI answer within {timeout:.0f} s") from exc
    try:
        return raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise AgiProtocolError("AGI line is not UTF-8") from exc


async def _skip_usage(reader: asyncio.StreamReader, timeout: float) -> None:
    while True:
        line = await _read_line(reader, timeout)
        if line.startswith("520 "):
            return


async def read_request(reader: asyncio.StreamReader, timeout: float = 10.0) -> AgiRequest:
    """Read the header block; EOF, garbage or an endless block is a protocol error, not a spin."""
    headers: dict[str, str] = {}
    while True:
        line = await _read_line(reader, timeout)
        if line == "":
            break
        if len(headers) >= MAX_HEADERS:
            raise AgiProtocolError(f"more than {MAX_HEADERS} AGI header lines")
        key, value = parse_header_line(line)
        headers[key] = value
    return AgiRequest.from_headers(headers)


Handler = Callable[[AgiChannel], Awaitable[None]]


class FastAgiServer:
    """asyncio FastAGI server: routes `agi://host:port/<script>` to a handler per script.

    Over `max_calls` sessions, new ones are closed at once: the dialplan sees AGISTATUS
    FAILURE and sends the caller to the fallback queue, which beats a slow answer.
    """

    def __init__(self, handlers: dict[str, Handler], *, max_calls: int = 1000,
                 command_timeout: float = 30.0) -> None:
        self.handlers = handlers
        self.max_calls = max_calls
        self.command_timeout = command_timeout
        self.active = 0
        self.served = 0
        self.shed = 0
        self.failed = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._on_connect, host, port, limit=MAX_LINE)

    @property
    def listening(self) -> bool:
        return self._server is not None and self._server.is_serving()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task:
            self._tasks.add(task)
        try:
            if self.active >= self.max_calls:
                self.shed += 1
                log_event(log, "agi session shed", logging.WARNING, active=self.active, limit=self.max_calls)
                return
            self.active += 1
            try:
                await self._serve(reader, writer)
            finally:
                self.active -= 1
        except asyncio.CancelledError:
            # Only close() cancels these tasks, and nobody awaits them: ending quietly avoids
            # Python 3.11's stream callback calling .exception() on a cancelled task.
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()
            if task:
                self._tasks.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await read_request(reader)
        except (AgiProtocolError, AgiHangup) as exc:
            self.failed += 1
            log_event(log, "agi request rejected", logging.WARNING, reason=str(exc))
            return
        handler = self.handlers.get(request.script)
        if handler is None:
            self.failed += 1
            log_event(log, "agi script unknown", logging.WARNING, script=request.script, channel=request.channel)
            return
        channel = AgiChannel(reader, writer, request, command_timeout=self.command_timeout)
        try:
            await handler(channel)
            self.served += 1
        except (AgiHangup, AgiDeadChannel):
            self.served += 1
            log_event(log, "caller hung up", channel=request.channel, script=request.script)
        except AgiProtocolError as exc:
            self.failed += 1
            log_event(log, "agi protocol error", logging.WARNING, channel=request.channel, reason=str(exc))
        except Exception:
            self.failed += 1
            log.exception("agi handler failed (caller goes to the fallback queue)",
                          extra={"fields": {"channel": request.channel}})

    async def close(self, timeout: float = 10.0) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._tasks:
            _done, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            for task in pending:
                task.cancel()
