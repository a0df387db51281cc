"""Test helpers: a fake Asterisk AudioSocket client, synthesized speech, model locations."""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import subprocess
from pathlib import Path

from asr.audiosocket import FRAME_BYTES, HEADER, KIND_HANGUP, audio_frame, hangup_frame, uuid_frame
from tests.support.models import korean_model_path  # noqa: F401 - re-exported for the asr tests

DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data"

# Test-only Korean intents: phrases the Korean model recognizes reliably from espeak-ng's
# voice (chosen by trying candidates; espeak's Korean is far from a real caller's).
KOREAN_INTENTS = {
    "상담원 연결": ("agent", None),
    "병원 예약": ("department", "보건소"),
    "쓰레기 수거": ("department", "환경과"),
    "민원 접수 확인": ("progress", None),
    "전기 요금": ("department", "한국전력"),
}
CHINESE_INTENTS = {
    "转人工": ("agent", None),
    "社保": ("department", "市人社局"),
    "公积金": ("department", "市住房公积金中心"),
    "查询进度": ("progress", None),
}
ESPEAK_VOICE = {"ko": ("ko+f2", "140"), "zh": ("cmn", "150")}


def run_cli(argv: list[str]) -> int:
    """`hotline` with only asr's commands registered (other packages are not needed here)."""
    import argparse

    from asr import cli as asr_cli

    parser = argparse.ArgumentParser(prog="hotline")
    parser.add_argument("--config")
    asr_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


def chinese_model_path() -> Path | None:
    value = os.environ.get("HOTLINE_VOSK_MODEL", "")
    return Path(value) if value and Path(value).is_dir() else None


def can_synthesize() -> bool:
    return bool(shutil.which("espeak-ng") and shutil.which("sox"))


@functools.lru_cache(maxsize=64)
def synthesize(text: str, lang: str = "ko", lead: float = 0.3, tail: float = 1.2) -> bytes:
    """espeak-ng -> sox -> 8 kHz signed 16-bit mono raw PCM, with silence around it."""
    voice, rate = ESPEAK_VOICE[lang]
    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", rate, "--stdout", text], capture_output=True, check=True).stdout
    return subprocess.run(
        ["sox", "-t", "wav", "-", "-r", "8000", "-b", "16", "-c", "1", "-e", "signed-integer", "-t", "raw", "-",
         "pad", str(lead), str(tail)],
        input=wav,
        capture_output=True,
        check=True,
    ).stdout


def silence(seconds: float) -> bytes:
    return b"\0" * (int(seconds * 8000) * 2)


class FakeAsterisk:
    """What res_audiosocket does on the wire: uuid first, then 20 ms audio frames."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.received: list[tuple[int, bytes]] = []

    @classmethod
    async def connect(cls, port: int, call_uuid: str | None = None) -> FakeAsterisk:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer)
        if call_uuid:
            await client.send(uuid_frame(call_uuid))
        return client

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def stream(self, pcm: bytes, *, then_silence: float = 0.0, realtime: bool = False) -> bool:
        """Send audio frame by frame; False once the server has closed the connection."""
        pcm = pcm + silence(then_silence)
        try:
            for i in range(0, len(pcm), FRAME_BYTES):
                self.writer.write(audio_frame(pcm[i : i + FRAME_BYTES]))
                if realtime:
                    await self.writer.drain()
                    await asyncio.sleep(0.02)
                elif i % (FRAME_BYTES * 50) == 0:
                    await self.writer.drain()
                    await asyncio.sleep(0)  # let the server read, as a real socket would interleave
            await self.writer.drain()
        except ConnectionError:
            return False
        return True

    async def read_until_closed(self, wait: float = 30.0) -> list[tuple[int, bytes]]:
        """Frames the server sent, until it closed the socket."""
        data = b""
        async with asyncio.timeout(wait):
            while chunk := await self.reader.read(4096):
                data += chunk
        while len(data) >= HEADER.size:
            kind, length = HEADER.unpack_from(data)
            self.received.append((kind, data[HEADER.size : HEADER.size + length]))
            data = data[HEADER.size + length :]
        return self.received

    async def hang_up(self) -> None:
        try:
            await self.send(hangup_frame())
        except ConnectionError:
            pass

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except ConnectionError:
            pass

    def got_hangup(self) -> bool:
        return any(kind == KIND_HANGUP for kind, _ in self.received)
