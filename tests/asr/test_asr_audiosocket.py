"""AudioSocket: the pure parser and framer (bytes in, events out) and the server with a fake Asterisk."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from asr_fakes import FakeAsterisk

from asr.audiosocket import (
    KIND_AUDIO,
    KIND_ERROR,
    KIND_HANGUP,
    MAX_AUDIO_PAYLOAD,
    AudioSocketCall,
    AudioSocketServer,
    FrameDecoder,
    audio_frame,
    dtmf_frame,
    encode_frame,
    error_frame,
    hangup_frame,
    parse_frame,
    uuid_frame,
)
from asr.events import AudioReceived, DtmfReceived, ErrorReceived, HangupReceived, UuidReceived
from asr.exceptions import FrameError

CALL = "6f1c2a4e-8b0d-4c3e-9a57-1d2e3f405162"


def test_every_frame_type_parses() -> None:
    assert parse_frame(0x01, uuid.UUID(CALL).bytes) == UuidReceived(CALL)
    assert parse_frame(0x10, b"\x01\x00\xff\xff") == AudioReceived(b"\x01\x00\xff\xff")
    assert parse_frame(0x03, b"7") == DtmfReceived("7")
    assert parse_frame(0x03, b"#") == DtmfReceived("#")
    assert parse_frame(0x00, b"") == HangupReceived()
    assert parse_frame(0xFF, b"\x04") == ErrorReceived(4)
    assert parse_frame(0xFF, b"") == ErrorReceived(None)


@pytest.mark.parametrize(
    ("kind", "payload", "message"),
    [
        (0x01, b"\x00" * 15, "uuid frame: 15 bytes"),
        (0x10, b"\x00" * 3, "not whole 16-bit samples"),
        (0x10, b"", "not whole 16-bit samples"),
        (0x03, b"12", "not one key"),
        (0x03, b"x", "not one key"),
        (0x00, b"\x00", "hangup frame"),
        (0x42, b"abc", "unknown frame type 0x42"),
    ],
)
def test_bad_frames_are_named(kind: int, payload: bytes, message: str) -> None:
    with pytest.raises(FrameError, match=message):
        parse_frame(kind, payload)


def test_encoding_is_type_then_big_endian_length() -> None:
    assert encode_frame(KIND_AUDIO, b"\x01\x02\x03\x04") == b"\x10\x00\x04\x01\x02\x03\x04"
    assert hangup_frame() == b"\x00\x00\x00"
    assert uuid_frame(CALL)[:3] == b"\x01\x00\x10"
    assert audio_frame(b"\x00" * 320)[:3] == b"\x10\x01\x40"
    assert error_frame(2) == b"\xff\x00\x01\x02"


def test_decoder_reassembles_frames_fed_one_byte_at_a_time() -> None:
    wire = uuid_frame(CALL) + audio_frame(b"\x10\x00" * 160) + dtmf_frame("5") + hangup_frame()
    decoder = FrameDecoder()
    events = []
    for byte in wire:
        events.extend(decoder.feed(bytes([byte])))
    assert events == [UuidReceived(CALL), AudioReceived(b"\x10\x00" * 160), DtmfReceived("5"), HangupReceived()]
    assert decoder.pending == 0
    # The same bytes in one read give the same events.
    assert FrameDecoder().feed(wire) == events


def test_decoder_keeps_a_partial_frame_and_names_the_offset_of_a_bad_one() -> None:
    decoder = FrameDecoder()
    good = uuid_frame(CALL)
    assert decoder.feed(good + b"\x10\x00") == [UuidReceived(CALL)]
    assert decoder.pending == 2
    decoder = FrameDecoder()
    # The good frame before the bad one is kept; nothing after it is trusted.
    assert decoder.feed(good + b"\x42\x00\x00" + dtmf_frame("1")) == [UuidReceived(CALL)]
    assert decoder.error is not None
    assert str(decoder.error) == f"byte {len(good)}: unknown frame type 0x42 (0 payload bytes)"
    assert decoder.feed(dtmf_frame("2")) == []


def test_decoder_refuses_an_oversized_audio_frame_at_its_header() -> None:
    # Only the header has arrived: it must fail now, not after buffering the payload.
    decoder = FrameDecoder()
    assert decoder.feed(b"\x10" + (MAX_AUDIO_PAYLOAD + 2).to_bytes(2, "big")) == []
    assert decoder.error is not None and "exceeds" in str(decoder.error)


# --- the server ----------------------------------------------------------------------------


class Recorder:
    """A handler that records every event of every call until the stream ends."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.calls: dict[str, list[object]] = {}
        self.stop_after = stop_after
        self.done = asyncio.Event()

    async def __call__(self, call: AudioSocketCall) -> None:
        events = self.calls.setdefault(call.uuid, [])
        while (event := await call.next_event(wait=10)) is not None:
            events.append(event)
            if self.stop_after and len(events) >= self.stop_after:
                break
        self.done.set()


@pytest.fixture
async def recorder_server():
    recorder = Recorder()
    server = AudioSocketServer(recorder, port=0, uuid_timeout=0.5, max_queued_seconds=0.2)
    await server.start()
    yield server, recorder
    await server.stop(grace=1)


async def test_server_delivers_events_in_order_and_hangs_up_when_done(recorder_server) -> None:
    server, recorder = recorder_server
    client = await FakeAsterisk.connect(server.port, CALL)
    await client.send(audio_frame(b"\x01\x00" * 160) + dtmf_frame("9") + audio_frame(b"\x02\x00" * 160))
    await client.send(hangup_frame())
    frames = await client.read_until_closed(wait=5)
    assert recorder.calls[CALL] == [
        AudioReceived(b"\x01\x00" * 160),
        DtmfReceived("9"),
        AudioReceived(b"\x02\x00" * 160),
        HangupReceived(),
    ]
    assert frames[-1] == (KIND_HANGUP, b"")  # AudioSocket() returns in the dialplan


async def test_bad_frame_closes_that_call_not_the_server(recorder_server) -> None:
    server, recorder = recorder_server
    bad = await FakeAsterisk.connect(server.port, CALL)
    await bad.send(audio_frame(b"\x00" * 320) + b"\x42\x00\x01x")
    await bad.read_until_closed(wait=5)
    assert server.bad_frames == 1
    assert recorder.calls[CALL] == [AudioReceived(b"\x00" * 320)]  # what came before the bad frame

    other = str(uuid.uuid4())
    good = await FakeAsterisk.connect(server.port, other)
    await good.send(dtmf_frame("1") + hangup_frame())
    await good.read_until_closed(wait=5)
    assert recorder.calls[other] == [DtmfReceived("1"), HangupReceived()]


async def test_connection_must_start_with_a_uuid(recorder_server) -> None:
    server, recorder = recorder_server
    client = await FakeAsterisk.connect(server.port)
    await client.send(audio_frame(b"\x00" * 320))
    await client.read_until_closed(wait=5)
    silent = await FakeAsterisk.connect(server.port)  # says nothing at all
    await silent.read_until_closed(wait=5)  # closed by the uuid timeout, not by the test's
    assert recorder.calls == {}
    assert server.bad_frames == 1


async def test_error_frame_from_asterisk_ends_the_call(recorder_server) -> None:
    server, recorder = recorder_server
    client = await FakeAsterisk.connect(server.port, CALL)
    await client.send(error_frame(3))
    await client.read_until_closed(wait=5)
    assert recorder.calls[CALL] == [ErrorReceived(3)]


async def test_audio_backlog_is_bounded() -> None:
    stuck = asyncio.Event()
    seen: list[AudioSocketCall] = []

    async def never_reads(call: AudioSocketCall) -> None:
        seen.append(call)
        await stuck.wait()  # a decoder that never catches up

    server = AudioSocketServer(never_reads, port=0, max_queued_seconds=0.2)  # 10 frames
    await server.start()
    try:
        client = await FakeAsterisk.connect(server.port, CALL)
        await client.stream(b"\x00" * 320 * 50)
        for _ in range(100):
            if seen and seen[0].overflowed:
                break
            await asyncio.sleep(0.01)
        call = seen[0]
        assert call.overflowed and call.ended
        assert call.queued_audio_frames == 10
        stuck.set()
        await client.read_until_closed(wait=5)
    finally:
        await server.stop(grace=1)


async def test_connections_over_the_limit_are_refused_with_an_error_frame() -> None:
    release = asyncio.Event()

    async def hold(call: AudioSocketCall) -> None:
        await release.wait()

    server = AudioSocketServer(hold, port=0, max_connections=1)
    await server.start()
    try:
        first = await FakeAsterisk.connect(server.port, CALL)
        await asyncio.sleep(0.05)
        second = await FakeAsterisk.connect(server.port, str(uuid.uuid4()))
        frames = await second.read_until_closed(wait=5)
        assert frames == [(KIND_ERROR, b"\x01")]
        assert server.refused == 1
        release.set()
        await first.read_until_closed(wait=5)
    finally:
        await server.stop(grace=1)


async def test_a_failing_handler_does_not_stop_the_server() -> None:
    async def broken(call: AudioSocketCall) -> None:
        raise RuntimeError("bug in one call")

    server = AudioSocketServer(broken, port=0)
    await server.start()
    try:
        for _ in range(2):
            client = await FakeAsterisk.connect(server.port, str(uuid.uuid4()))
            frames = await client.read_until_closed(wait=5)
            assert frames == [(KIND_HANGUP, b"")]
    finally:
        await server.stop(grace=1)


async def test_server_can_play_audio_back_in_20ms_frames() -> None:
    async def beep(call: AudioSocketCall) -> None:
        await call.send_audio(b"\x01\x00" * 400)  # 50 ms: two 20 ms frames and a 10 ms rest

    server = AudioSocketServer(beep, port=0)
    await server.start()
    try:
        client = await FakeAsterisk.connect(server.port, CALL)
        frames = await client.read_until_closed(wait=5)
        assert [kind for kind, _ in frames] == [KIND_AUDIO] * 3 + [KIND_HANGUP]
        assert [len(payload) for kind, payload in frames if kind == KIND_AUDIO] == [320, 320, 160]
    finally:
        await server.stop(grace=1)
