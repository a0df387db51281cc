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
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from infra.logs import log_event
from infra.phone import canonical_number
from ivr.exceptions import (
    AgiCommandFailed,
    AgiDeadChannel,
    AgiError,
    AgiHangup,
    AgiInvalidCommand,
    AgiProtocolError,
    AgiUsageError,
)

log = logging.getLogger("ivr.agi")

MAX_LINE = 8192
MAX_HEADERS = 200
# Asterisk sends its whole header block at once; a peer that dribbles it holds a slot for nothing.
HEADER_DEADLINE = 5.0
# AGI results are C ints; anything wider is not Asterisk talking.
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
DTMF = "0123456789*#ABCD"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_RESPONSE = re.compile(r"^(\d{3})(?:[ -](.*))?$")
_RESULT = re.compile(r"^result=(-?\d*)(?:\s+\((.*?)\))?(?:\s+(.*))?$")


class AgiHeaderTimeout(AgiProtocolError):
    """The header block did not arrive within the deadline (a slow or idle peer)."""

    error_id = "agi-header-timeout"


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
    if _CONTROL.search(line):
        # Asterisk never sends them; they would reach tickets (a NUL breaks PostgreSQL) and logs
        raise AgiProtocolError(f"control character in AGI header {key}")
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
    if value and not _INT_MIN <= int(value[:12]) <= _INT_MAX:
        raise AgiProtocolError(f"AGI result out of range: {line[:80]!r}")
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
            # one canonical form (E.164-like) or "" for anonymous / withheld / non-numeric IDs;
            # what Asterisk sent stays in `raw`
            callerid=canonical_number(headers.get("callerid")) or "",
            calleridname=clean(headers.get("calleridname")),
            dnid=clean(headers.get("dnid")),
            extension=clean(headers.get("extension")),
            context=clean(headers.get("context")),
            arguments=tuple(args),
            params=params,
            raw=dict(headers),
        )


def _digit(result: int, command: str) -> str | None:
    """A DTMF result (the key's character code) as the key, None for 0; anything else is garbage."""
    if result == 0:
        return None
    key = chr(result) if 0 < result < 0x110000 else ""
    if key not in DTMF or not key:
        raise AgiProtocolError(f"{command}: result={result} is not a DTMF key")
    return key


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
        try:
            r = await self.command("ANSWER")
        except (AgiInvalidCommand, AgiUsageError) as exc:
            raise AgiCommandFailed(f"ANSWER refused: {exc}") from exc
        if r.result != 0:
            raise AgiCommandFailed(f"ANSWER failed (result={r.result})")

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
        return _digit(r.result, "STREAM FILE")

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
        return _digit(r.result, "WAIT FOR DIGIT")

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


async def read_request(reader: asyncio.StreamReader, timeout: float = 10.0,
                       deadline: float = HEADER_DEADLINE) -> AgiRequest:
    """Read the header block; EOF, garbage or an endless block is a protocol error, not a spin.

    `timeout` bounds each line, `deadline` the whole block: one valid line every few seconds
    must not hold a session open for minutes."""
    headers: dict[str, str] = {}
    try:
        async with asyncio.timeout(deadline):
            while True:
                line = await _read_line(reader, timeout)
                if line == "":
                    break
                if len(headers) >= MAX_HEADERS:
                    raise AgiProtocolError(f"more than {MAX_HEADERS} AGI header lines")
                key, value = parse_header_line(line)
                headers[key] = value
    except TimeoutError as exc:
        raise AgiHeaderTimeout(f"AGI header block not complete within {deadline:g} s "
                               f"({len(headers)} lines read)") from exc
    return AgiRequest.from_headers(headers)


Handler = Callable[[AgiChannel], Awaitable[None]]


class FastAgiServer:
    """asyncio FastAGI server: routes `agi://host:port/<script>` to a handler per script.

    A session is first a *pending* connection (reading its header block, bounded by
    `header_deadline`), then a *live call*. The two are counted apart: at most `max_pending`
    connections may be reading headers (when full, the oldest is dropped, since a real Asterisk
    sends its block in one go), so slow or idle peers never take one of the `max_calls` slots.
    Over `max_calls` live calls, new ones are closed at once: the dialplan sees AGISTATUS FAILURE
    and sends the caller to the fallback queue, which beats a slow answer.
    """

    def __init__(self, handlers: dict[str, Handler], *, max_calls: int = 1000,
                 command_timeout: float = 30.0, header_deadline: float = HEADER_DEADLINE,
                 max_pending: int | None = None) -> None:
        self.handlers = handlers
        self.max_calls = max_calls
        self.command_timeout = command_timeout
        self.header_deadline = header_deadline
        self.max_pending = max_pending or max_calls
        self.active = 0  # live calls (header block read, handler running)
        self.pending = 0  # connections still reading their header block
        self.served = 0
        self.shed = 0  # live calls refused over max_calls
        self.dropped = 0  # pending connections dropped: too slow, idle, or pushed out by newer ones
        self.failed = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()
        self._pending: dict[asyncio.Task, asyncio.StreamWriter] = {}
        self._last_reject_log = -1e9

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
            request = await self._read_headers(reader, writer, task)
            if request is None:
                return
            if self.active >= self.max_calls:
                self.shed += 1
                log_event(log, "agi session shed", logging.WARNING, active=self.active, limit=self.max_calls)
                return
            self.active += 1
            try:
                await self._serve(request, reader, writer)
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

    async def _read_headers(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                            task: asyncio.Task | None) -> AgiRequest | None:
        if len(self._pending) >= self.max_pending:
            # the oldest pending peer has had the longest to send a few hundred bytes
            oldest = next(iter(self._pending))
            self._pending.pop(oldest).transport.abort()
            self.dropped += 1
        if task:
            self._pending[task] = writer
        self.pending += 1
        try:
            return await read_request(reader, deadline=self.header_deadline)
        except AgiProtocolError as exc:
            self.dropped += isinstance(exc, AgiHeaderTimeout)
            self.failed += 1
            self._rejected(str(exc))
            return None
        except (AgiHangup, ConnectionError) as exc:
            self.failed += 1
            self._rejected(str(exc) or type(exc).__name__)
            return None
        finally:
            self.pending -= 1
            if task:
                self._pending.pop(task, None)

    def _rejected(self, reason: str) -> None:
        """One warning per 10 s with the running counts: a flood must not flood the log too."""
        now = time.monotonic()
        if now - self._last_reject_log >= 10.0:
            self._last_reject_log = now
            log_event(log, "agi request rejected", logging.WARNING, reason=reason, failed=self.failed,
                      dropped=self.dropped, pending=self.pending)
        else:
            log_event(log, "agi request rejected", logging.DEBUG, reason=reason)

    async def _serve(self, request: AgiRequest, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
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
        except AgiError as exc:
            # odd answers from the peer (510 to ANSWER, results no Asterisk sends): a warning, not a traceback
            self.failed += 1
            log_event(log, "agi session ended on a protocol error", logging.WARNING, channel=request.channel,
                      error=type(exc).__name__, reason=str(exc))
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
