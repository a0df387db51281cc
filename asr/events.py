"""Typed events: what the AudioSocket edge heard, and what recognition produced.

The parser turns every frame into one of the `*Received` events at once, so nothing past
`asr/audiosocket.py` ever sees a type byte.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class UuidReceived:
    """Frame 0x01: the call's id, the first frame on every connection."""

    uuid: str


@dataclass(frozen=True)
class AudioReceived:
    """Frame 0x10: signed 16-bit little-endian mono PCM at 8 kHz (20 ms = 320 bytes)."""

    pcm: bytes


@dataclass(frozen=True)
class DtmfReceived:
    """Frame 0x03: one key, as its ASCII character."""

    digit: str


@dataclass(frozen=True)
class HangupReceived:
    """Frame 0x00: Asterisk ends the stream (the caller hung up or the channel left AudioSocket)."""


@dataclass(frozen=True)
class ErrorReceived:
    """Frame 0xff: Asterisk reports an error; `code` is the payload's first byte (None if empty)."""

    code: int | None


FrameEvent = UuidReceived | AudioReceived | DtmfReceived | HangupReceived | ErrorReceived


@dataclass(frozen=True)
class PartialHeard:
    """A partial hypothesis while the caller is still speaking (for barge-in and logs)."""

    call_uuid: str
    text: str


# Why listening stopped. speech: silence after speech; no-speech: nothing said before the
# no-speech timeout; max-length: the caller talked past the limit; dtmf: a key was pressed;
# hangup/error: the channel went away; timeout: no AudioSocket connection arrived in time;
# unavailable: no model, speech is off; overloaded: decoders saturated, shed to keys.
EndReason = Literal[
    "speech", "no-speech", "max-length", "dtmf", "hangup", "error", "timeout", "unavailable", "overloaded"
]


@dataclass(frozen=True)
class Utterance:
    """The result `SpeechService.listen` returns; `text` is "" when nothing was recognized."""

    text: str
    call_uuid: str = ""
    reason: EndReason = "speech"
    confidence: float = 0.0
    digits: str = ""
    mode: Literal["grammar", "free", "none"] = "none"
    audio_seconds: float = 0.0
    partials: int = 0
    words: tuple[tuple[str, float], ...] = field(default_factory=tuple)
    # Seconds from the end of speech (the last voiced audio) to the final result: the
    # latency the caller feels. None when the utterance did not end on silence.
    endpoint_latency: float | None = None

    @property
    def heard(self) -> bool:
        return bool(self.text)
