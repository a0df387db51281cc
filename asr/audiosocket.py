"""AudioSocket, Asterisk's raw-audio-over-TCP protocol: the parser, the framer and the server.

Wire format (Asterisk res_audiosocket): every frame is a type byte, a 16-bit big-endian
payload length, then the payload.

    0x00 hangup     length 0; either side ends the stream
    0x01 uuid       16 bytes, the call id given to `AudioSocket(<uuid>,host:port)`; always first
    0x03 dtmf       1 ASCII byte
    0x10 audio      signed 16-bit little-endian mono PCM at 8 kHz (20 ms = 320 bytes)
    0xff error      Asterisk reports an error; first payload byte is the code

Three layers, so each can be tested alone: `parse_frame` is a pure function of (type,
payload); `FrameDecoder` buffers a byte stream into frames and knows nothing of sockets;
`AudioSocketServer` owns the TCP side. A bad frame ends only that connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import uuid as uuidlib
from collections import deque
from collections.abc import Awaitable, Callable

from asr.events import (
    AudioReceived,
    DtmfReceived,
    ErrorReceived,
    FrameEvent,
    HangupReceived,
    UuidReceived,
)
from asr.exceptions import FrameError
from infra.logs import log_event

log = logging.getLogger(__name__)

KIND_HANGUP = 0x00
KIND_UUID = 0x01
KIND_DTMF = 0x03
KIND_AUDIO = 0x10
KIND_ERROR = 0xFF

HEADER = struct.Struct(">BH")
SAMPLE_RATE = 8000
BYTES_PER_SECOND = SAMPLE_RATE * 2
FRAME_BYTES = 320  # 20 ms, what Asterisk sends and what we send back
# Asterisk sends 320-byte frames; anything far beyond a second of audio in one frame is a
# broken or hostile peer, and refusing it keeps one frame from pinning memory.
MAX_AUDIO_PAYLOAD = BYTES_PER_SECOND
DTMF_DIGITS = frozenset("0123456789*#ABCD")


def parse_frame(kind: int, payload: bytes) -> FrameEvent:
    """One frame's type and payload -> a typed event; FrameError says what is wrong."""
    if kind == KIND_AUDIO:
        if not payload or len(payload) % 2:
            raise FrameError(f"audio frame: {len(payload)} bytes is not whole 16-bit samples")
        if len(payload) > MAX_AUDIO_PAYLOAD:
            raise FrameError(f"audio frame: {len(payload)} bytes exceeds {MAX_AUDIO_PAYLOAD}")
        return AudioReceived(bytes(payload))
    if kind == KIND_UUID:
        if len(payload) != 16:
            raise FrameError(f"uuid frame: {len(payload)} bytes, expected 16")
        return UuidReceived(str(uuidlib.UUID(bytes=bytes(payload))))
    if kind == KIND_DTMF:
        digit = bytes(payload).decode("ascii", "replace")
        if len(payload) != 1 or digit not in DTMF_DIGITS:
            raise FrameError(f"dtmf frame: payload {bytes(payload)!r} is not one key of 0-9*#A-D")
        return DtmfReceived(digit)
    if kind == KIND_HANGUP:
        if payload:
            raise FrameError(f"hangup frame: {len(payload)} payload bytes, expected none")
        return HangupReceived()
    if kind == KIND_ERROR:
        return ErrorReceived(payload[0] if payload else None)
    raise FrameError(f"unknown frame type 0x{kind:02x} ({len(payload)} payload bytes)")


def encode_frame(kind: int, payload: bytes = b"") -> bytes:
    if len(payload) > 0xFFFF:
        raise ValueError(f"AudioSocket payload of {len(payload)} bytes does not fit a 16-bit length")
    return HEADER.pack(kind, len(payload)) + payload


def uuid_frame(call_uuid: str) -> bytes:
    return encode_frame(KIND_UUID, uuidlib.UUID(call_uuid).bytes)


def audio_frame(pcm: bytes) -> bytes:
    return encode_frame(KIND_AUDIO, pcm)


def dtmf_frame(digit: str) -> bytes:
    return encode_frame(KIND_DTMF, digit.encode("ascii"))


def hangup_frame() -> bytes:
    return encode_frame(KIND_HANGUP)


def error_frame(code: int) -> bytes:
    return encode_frame(KIND_ERROR, bytes([code]))


class FrameDecoder:
    """Bytes as they arrive -> complete frames as events. Holds at most one partial frame.

    A bad frame stops decoding: `feed` returns the good events before it and sets `error`
    (a FrameError naming the byte offset); nothing after it is trusted, so later feeds
    return nothing.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._offset = 0  # stream offset of _buffer[0], so errors name the byte
        self.error: FrameError | None = None

    def feed(self, data: bytes) -> list[FrameEvent]:
        if self.error:
            return []
        self._buffer += data
        events: list[FrameEvent] = []
        while len(self._buffer) >= HEADER.size:
            kind, length = HEADER.unpack_from(self._buffer)
            # Refuse an oversized audio frame at its header, before buffering 64 KiB of it.
            if kind == KIND_AUDIO and length > MAX_AUDIO_PAYLOAD:
                self.error = FrameError(
                    f"byte {self._offset}: audio frame of {length} bytes exceeds {MAX_AUDIO_PAYLOAD}"
                )
                break
            end = HEADER.size + length
            if len(self._buffer) < end:
                break
            try:
                events.append(parse_frame(kind, bytes(self._buffer[HEADER.size : end])))
            except FrameError as exc:
                self.error = FrameError(f"byte {self._offset}: {exc}")
                break
            del self._buffer[:end]
            self._offset += end
        return events

    @property
    def pending(self) -> int:
        return len(self._buffer)


class AudioSocketCall:
    """One connected call: events in (bounded), frames out. Handed to the server's handler."""

    def __init__(self, call_uuid: str, writer: asyncio.StreamWriter, *, max_audio_frames: int) -> None:
        self.uuid = call_uuid
        self._writer = writer
        self._events: deque[FrameEvent] = deque()
        self._audio_queued = 0
        self._max_audio = max_audio_frames
        self._wakeup = asyncio.Event()
        self.ended = False  # no more events will come (hangup, EOF, bad frame, overflow)
        self.end_reason = ""
        self.overflowed = False

    # -- fed by the server's reader ---------------------------------------------------------
    def _push(self, event: FrameEvent) -> bool:
        """Queue an event; False when audio is piling up faster than it is consumed."""
        if isinstance(event, AudioReceived):
            if self._audio_queued >= self._max_audio:
                self.overflowed = True
                self._end("overflow")
                return False
            self._audio_queued += 1
        self._events.append(event)
        self._wakeup.set()
        return True

    def _end(self, reason: str) -> None:
        if not self.ended:
            self.ended = True
            self.end_reason = reason
        self._wakeup.set()

    # -- used by the handler ----------------------------------------------------------------
    async def next_event(self, wait: float | None = None) -> FrameEvent | None:
        """The next event in order; None when the stream has ended or `wait` seconds passed."""
        while not self._events:
            if self.ended:
                return None
            self._wakeup.clear()
            try:
                async with asyncio.timeout(wait):
                    await self._wakeup.wait()
            except TimeoutError:
                return None
        event = self._events.popleft()
        if isinstance(event, AudioReceived):
            self._audio_queued -= 1
        return event

    @property
    def queued_audio_frames(self) -> int:
        return self._audio_queued

    async def send_audio(self, pcm: bytes) -> None:
        """Play PCM to the caller, cut into 20 ms frames (silence, a beep, a prompt)."""
        for i in range(0, len(pcm), FRAME_BYTES):
            self._writer.write(audio_frame(pcm[i : i + FRAME_BYTES]))
        await self._writer.drain()

    async def hang_up(self) -> None:
        """Tell Asterisk we are done: AudioSocket() returns and the AGI continues."""
        if self._writer.is_closing():
            return
        with contextlib.suppress(ConnectionError):
            self._writer.write(hangup_frame())
            await self._writer.drain()


CallHandler = Callable[[AudioSocketCall], Awaitable[None]]


class AudioSocketServer:
    """Accepts Asterisk's AudioSocket connections and runs `handler(call)` for each one.

    The connection is closed when the handler returns, which returns control to the
    dialplan (or the AGI that ran `EXEC AudioSocket`). Connections beyond
    `max_connections` are refused with an error frame at once rather than queued, so the
    IVR falls back to keys instead of waiting.
    """

    def __init__(
        self,
        handler: CallHandler,
        *,
        host: str = "127.0.0.1",
        port: int = 4574,
        max_connections: int = 500,
        uuid_timeout: float = 5.0,
        max_queued_seconds: float = 5.0,
    ) -> None:
        self._handler = handler
        self._host = host
        self._port = port
        self._max_connections = max_connections
        self._uuid_timeout = uuid_timeout
        self._max_audio_frames = max(1, int(max_queued_seconds * 1000 / 20))
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.bad_frames = 0
        self.refused = 0

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def active(self) -> int:
        return len(self._tasks)

    def rebind(self, *, host: str | None = None, port: int | None = None) -> None:
        """Change the listening address before `start()` (the engine passes it late)."""
        if self._server is not None:
            raise RuntimeError("AudioSocketServer.rebind: already listening")
        self._host = host or self._host
        self._port = self._port if port is None else port

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, self._host, self._port)
        log_event(log, "audiosocket listening", host=self._host, port=self.port)

    async def stop(self, grace: float = 5.0) -> None:
        """Stop accepting, give running calls `grace` seconds, then cancel them."""
        if self._server is None:
            return
        self._server.close()
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        await self._server.wait_closed()
        self._server = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        peer = writer.get_extra_info("peername")
        if len(self._tasks) >= self._max_connections:
            self.refused += 1
            log_event(log, "audiosocket refused: too many calls", logging.WARNING, peer=peer)
            # Read the uuid first: closing with unread bytes makes the kernel reset the
            # connection, and Asterisk would see a reset instead of our error frame.
            with contextlib.suppress(TimeoutError, ConnectionError):
                async with asyncio.timeout(0.5):
                    await reader.read(4096)
            with contextlib.suppress(ConnectionError):
                writer.write(error_frame(0x01))
                await writer.drain()
            await _close(writer)
            return
        self._tasks.add(task)
        try:
            await self._serve(reader, writer, peer)
        except asyncio.CancelledError:
            # stop() cancelled this call after its grace period. Swallowed here because
            # asyncio's stream callback would log a cancelled connection task as an error.
            pass
        finally:
            self._tasks.discard(task)
            await _close(writer)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: object) -> None:
        decoder = FrameDecoder()
        pending: list[FrameEvent] = []
        try:
            async with asyncio.timeout(self._uuid_timeout):
                while not pending and not decoder.error:
                    data = await reader.read(4096)
                    if not data:
                        return
                    pending = decoder.feed(data)
        except TimeoutError:
            log_event(log, "audiosocket: no uuid frame in time", logging.WARNING, peer=peer)
            return
        if not pending:
            self.bad_frames += 1
            log_event(log, "audiosocket bad frame before uuid", logging.WARNING, peer=peer, error=str(decoder.error))
            return
        first, rest = pending[0], pending[1:]
        if not isinstance(first, UuidReceived):
            self.bad_frames += 1
            log_event(log, "audiosocket: first frame is not a uuid", logging.WARNING, peer=peer, frame=type(first).__name__)
            return

        call = AudioSocketCall(first.uuid, writer, max_audio_frames=self._max_audio_frames)
        handler = asyncio.create_task(self._run_handler(call), name=f"audiosocket-{call.uuid}")
        reading = asyncio.create_task(self._read(reader, decoder, call, peer, rest))
        try:
            await handler
        finally:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading

    async def _run_handler(self, call: AudioSocketCall) -> None:
        try:
            await self._handler(call)
        except Exception:
            # One call's bug must not take the server down; the caller falls back to keys.
            log.exception("audiosocket handler failed for call %s", call.uuid)
        await call.hang_up()

    async def _read(
        self,
        reader: asyncio.StreamReader,
        decoder: FrameDecoder,
        call: AudioSocketCall,
        peer: object,
        first: list[FrameEvent],
    ) -> None:
        try:
            events = first  # frames that arrived in the same read as the uuid
            while self._deliver(call, events):
                if decoder.error:
                    self.bad_frames += 1
                    log_event(
                        log, "audiosocket bad frame", logging.WARNING, uuid=call.uuid, peer=peer, error=str(decoder.error)
                    )
                    call._end("bad-frame")
                    return
                data = await reader.read(4096)
                if not data:
                    call._end("eof")
                    return
                events = decoder.feed(data)
        except ConnectionError as exc:
            call._end(f"connection: {exc}")


    @staticmethod
    def _deliver(call: AudioSocketCall, events: list[FrameEvent]) -> bool:
        """Queue events for the handler; False when the stream is over."""
        for event in events:
            if not call._push(event):
                log_event(log, "audiosocket: audio backlog over limit, ending call", logging.WARNING, uuid=call.uuid)
                return False
            if isinstance(event, HangupReceived | ErrorReceived):
                call._end("hangup" if isinstance(event, HangupReceived) else "error")
                return False
        return not call.ended


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError, OSError):
        await writer.wait_closed()
