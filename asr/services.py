"""SpeechService: the IVR asks for an utterance by call UUID; the AudioSocket call brings the audio.

How a speech step runs (ivr/ drives it):

    task = asyncio.create_task(speech.listen(uuid, grammar=phrases, timeout=5))
    await agi.exec("AudioSocket", f"{uuid},{host}:{port}")   # blocks until we close the socket
    utterance = await task

Either side may come first: a connection whose UUID nobody is listening for yet waits
`claim_timeout` seconds for its `listen`. When the utterance is final the service sends
a hangup frame and closes the socket, so `AudioSocket()` returns and the AGI goes on.

End of utterance: Vosk's endpointer (trailing silence after speech, from the model's
conf), or `end_silence` seconds of non-speech after speech as webrtcvad's voice activity
detector hears it (20 ms frames), or — sooner — a partial result the caller of `listen`
accepts as a sure decision (`decide_early`) followed by a short `early_silence` pause
-> reason `speech`; nothing recognized within `timeout` seconds of audio -> `no-speech`;
speech longer than `max_utterance` seconds -> `max-length`; a key -> `dtmf`. Times are
counted in audio received, so they mean the same in a test that streams faster than
real time; a wall-clock guard covers a channel that stops sending audio.

Without a model the service is `available == False`: `listen` answers at once with reason
`unavailable` and any AudioSocket connection is closed immediately, so the IVR keeps
working on keys.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asr.audiosocket import BYTES_PER_SECOND, AudioSocketCall, AudioSocketServer
from asr.events import (
    AudioReceived,
    DtmfReceived,
    EndReason,
    ErrorReceived,
    HangupReceived,
    PartialHeard,
    Utterance,
)
from asr.exceptions import ModelUnavailable, RecognizerOverloaded
from asr.intent import IntentMatcher, IntentResult, default_matcher, matcher_from_dialplan
from asr.recognizer import Decoded, RecognizerPool, load_pool
from infra.logs import log_event
from infra.metrics import Metrics

log = logging.getLogger(__name__)

# RMS above which a chunk counts as voiced when no VAD is used (SpeechLimits.vad_mode None).
# ~-40 dBFS: telephone line noise stays below.
_VOICED_RMS = 300.0
_VAD_FRAME = 320  # 20 ms of 8 kHz 16-bit audio: a frame length webrtcvad accepts

PartialCallback = Callable[[PartialHeard], None]
EarlyDecision = Callable[[str], bool]


@dataclass
class _Listener:
    grammar: Sequence[str] | None
    no_speech: float
    on_partial: PartialCallback | None
    result: asyncio.Future[Utterance]
    claimed: asyncio.Event = field(default_factory=asyncio.Event)
    decide_early: EarlyDecision | None = None


@dataclass
class SpeechLimits:
    max_utterance: float = 15.0  # seconds of audio before we stop listening and decode
    chunk_ms: int = 100  # audio handed to Vosk per decode step (5 AudioSocket frames)
    # Quiet audio after speech that ends the utterance even if Vosk's own endpointer has
    # not fired (it usually fires after 0.5 s; in free mode its timing varies with the
    # decoder's state, so this is the bound the caller can rely on).
    end_silence: float = 0.5
    # After a partial that `decide_early` accepts, this much non-speech ends the utterance.
    early_silence: float = 0.2
    # webrtcvad aggressiveness 0-3 for voiced/unvoiced frames; None: an RMS threshold instead.
    vad_mode: int | None = 2
    connect_timeout: float = 5.0  # listen() waits this long for the AudioSocket connection
    claim_timeout: float = 3.0  # a connection waits this long for its listen()
    max_connections: int = 500
    max_queued_seconds: float = 5.0  # audio backlog per call before the call is shed


class SpeechService:
    def __init__(
        self,
        *,
        pool: RecognizerPool | None,
        host: str = "127.0.0.1",
        port: int = 4574,
        limits: SpeechLimits | None = None,
        unavailable_reason: str = "",
        model_path: Path | None = None,
        threads: int = 0,
        threshold: float = 0.6,
        metrics: Metrics | None = None,
    ) -> None:
        self._pool = pool
        self.metrics = metrics or Metrics()
        self.limits = limits or SpeechLimits()
        self.unavailable_reason = "" if pool else (unavailable_reason or "no speech model loaded")
        # Only the composition root sets this, from settings; no call can name a model.
        self._model_path = model_path
        self._threads = threads
        self.threshold = threshold
        self._host = host
        self._matchers: tuple[int, Any, IntentMatcher] | None = None
        self._listeners: dict[str, _Listener] = {}
        self._arrived: dict[str, asyncio.Event] = {}
        self.server = AudioSocketServer(
            self._on_call,
            host=host,
            port=port,
            max_connections=self.limits.max_connections,
            max_queued_seconds=self.limits.max_queued_seconds,
        )

    @property
    def available(self) -> bool:
        return self._pool is not None

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def pool(self) -> RecognizerPool | None:
        return self._pool

    @property
    def address(self) -> str:
        """`host:port` for `AudioSocket(<uuid>,<address>)` in the dialplan or AGI."""
        return f"{self._host}:{self.server.port}"

    async def start(self, host: str | None = None, port: int | None = None) -> None:
        """Load the configured model (off the loop), then listen for AudioSocket calls."""
        if host is not None or port is not None:
            self._host = host or self._host
            self.server.rebind(host=self._host, port=port)
        if self._pool is None and self._model_path is not None:
            try:
                self._pool = await load_pool(self._model_path, threads=self._threads)
                self.unavailable_reason = ""
                info = self._pool.info
                log_event(log, "speech model loaded", path=str(info.path), seconds=round(info.load_seconds, 2),
                          threads=self._pool.threads, grammar=info.supports_grammar)
            except ModelUnavailable as exc:
                self.unavailable_reason = str(exc)
                log_event(log, "speech model unavailable", logging.ERROR, error=str(exc))
        await self.server.start()
        if not self.available:
            log_event(log, "speech unavailable, IVR runs on keys", logging.WARNING, reason=self.unavailable_reason)

    def matcher(self, plan: Any = None) -> IntentMatcher:
        """The intent matcher for this dialplan (built once per loaded plan), or the defaults."""
        key = id(plan)
        if self._matchers is None or self._matchers[0] != key or self._matchers[1] is not plan:
            built = matcher_from_dialplan(plan, threshold=self.threshold) if plan is not None else default_matcher(
                self.threshold
            )
            self._matchers = (key, plan, built)
        return self._matchers[2]

    def match(self, text: str, *, plan: Any = None) -> IntentResult:
        return self.matcher(plan).match(text)

    def phrases(self, plan: Any = None) -> list[str]:
        """Every phrase of the plan's matcher: pass as `listen(grammar=...)` for grammar mode."""
        return self.matcher(plan).phrases()

    async def close(self) -> None:
        await self.stop()

    async def stop(self, grace: float = 5.0) -> None:
        await self.server.stop(grace)
        for listener in self._listeners.values():
            if not listener.result.done():
                listener.result.set_result(Utterance("", reason="hangup"))
        if self._pool:
            await asyncio.to_thread(self._pool.shutdown)
            self._pool = None
            self.unavailable_reason = "stopped"

    async def listen(
        self,
        call_uuid: str,
        *,
        grammar: Sequence[str] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - the IVR's contract (docs/interfaces.md), not a cancel scope
        on_partial: PartialCallback | None = None,
        decide_early: EarlyDecision | None = None,
    ) -> Utterance:
        """Wait for the call's AudioSocket connection and return what the caller said.

        `grammar`: phrases to constrain recognition to (plus off-list speech as `[unk]`);
        None for free recognition. `timeout`: seconds of audio with nothing recognized
        before giving up (`no-speech`). `decide_early(partial_text)`: True when the partial
        already decides (a sure phrase match): the utterance then ends after `early_silence`.
        """
        if not self.available:
            return Utterance("", call_uuid, reason="unavailable")
        if call_uuid in self._listeners:
            raise ValueError(f"SpeechService.listen: call {call_uuid} is already listening")
        loop = asyncio.get_running_loop()
        listener = _Listener(grammar, timeout, on_partial, loop.create_future(), decide_early=decide_early)
        self._listeners[call_uuid] = listener
        self._arrived.setdefault(call_uuid, asyncio.Event()).set()
        try:
            # Until the connection claims the listener, only connect_timeout applies; after,
            # the recognition loop bounds itself (no-speech, max-length, wall guard).
            try:
                async with asyncio.timeout(self.limits.connect_timeout):
                    await listener.claimed.wait()
            except TimeoutError:
                return Utterance("", call_uuid, reason="timeout")
            return await listener.result
        finally:
            self._listeners.pop(call_uuid, None)
            self._arrived.pop(call_uuid, None)

    async def _on_call(self, call: AudioSocketCall) -> None:
        if not self.available:
            return  # closing at once returns the AGI to the dialplan; the IVR uses keys
        listener = self._listeners.get(call.uuid)
        if listener is None:
            arrived = self._arrived.setdefault(call.uuid, asyncio.Event())
            try:
                async with asyncio.timeout(self.limits.claim_timeout):
                    await arrived.wait()
            except TimeoutError:
                self._arrived.pop(call.uuid, None)
                log_event(log, "audiosocket call nobody listens for", logging.WARNING, uuid=call.uuid)
                return
            listener = self._listeners.get(call.uuid)
            if listener is None:
                return
        if listener.claimed.is_set():
            log_event(log, "second audiosocket connection for one call", logging.WARNING, uuid=call.uuid)
            return
        listener.claimed.set()
        try:
            utterance = await self._recognize(call, listener)
        except RecognizerOverloaded as exc:
            log_event(log, "speech shed", logging.WARNING, uuid=call.uuid, reason=str(exc))
            utterance = Utterance("", call.uuid, reason="overloaded")
        except BaseException:
            if not listener.result.done():
                listener.result.set_result(Utterance("", call.uuid, reason="error"))
            raise
        if not listener.result.done():
            listener.result.set_result(utterance)

    async def _recognize(self, call: AudioSocketCall, listener: _Listener) -> Utterance:
        assert self._pool is not None
        stream = await self._pool.open_stream(listener.grammar)
        limits = self.limits
        chunk_bytes = BYTES_PER_SECOND * limits.chunk_ms // 1000
        loop = asyncio.get_running_loop()
        guard = loop.time() + listener.no_speech + limits.max_utterance + 5.0
        buffer = bytearray()
        audio_bytes = 0
        last_partial = ""
        partials = 0
        heard = False
        last_voiced: float | None = None
        quiet_bytes = 0
        end_quiet = int(limits.end_silence * BYTES_PER_SECOND)
        early_quiet = int(limits.early_silence * BYTES_PER_SECOND)
        decided = False  # a partial decide_early accepted
        voiced = _voice_detector(limits.vad_mode)
        digits = ""
        reason: EndReason | None = None
        result: Decoded | None = None
        decode_s = 0.0
        try:
            while reason is None:
                event = await call.next_event(wait=max(0.0, guard - loop.time()))
                if event is None:
                    if call.overflowed:
                        reason = "overloaded"
                    elif call.ended:
                        reason = "error" if call.end_reason == "bad-frame" else "hangup"
                    else:
                        reason = "max-length" if heard else "no-speech"  # audio stopped coming
                    break
                if isinstance(event, DtmfReceived):
                    digits, reason = event.digit, "dtmf"
                elif isinstance(event, HangupReceived):
                    reason = "hangup"
                elif isinstance(event, ErrorReceived):
                    reason = "error"
                elif isinstance(event, AudioReceived):
                    buffer += event.pcm
                    audio_bytes += len(event.pcm)
                    if len(buffer) < chunk_bytes:
                        continue
                    chunk = bytes(buffer)
                    buffer.clear()
                    trailing = voiced(chunk)  # unvoiced bytes at the chunk's end
                    if trailing < len(chunk):
                        last_voiced = time.perf_counter()
                        quiet_bytes = trailing
                    else:
                        quiet_bytes += len(chunk)
                    t0 = time.perf_counter()
                    decoded = await stream.accept(chunk)
                    decode_s += time.perf_counter() - t0
                    if decoded.final and decoded.text:
                        result, reason = decoded, "speech"
                        break
                    if not decoded.final and decoded.text and decoded.text != last_partial:
                        last_partial, heard = decoded.text, True
                        partials += 1
                        if listener.on_partial:
                            listener.on_partial(PartialHeard(call.uuid, decoded.text))
                        decided = bool(listener.decide_early and listener.decide_early(decoded.text))
                    if heard and quiet_bytes >= (early_quiet if decided else end_quiet):
                        t0 = time.perf_counter()
                        flushed = await stream.finish()
                        decode_s += time.perf_counter() - t0
                        if flushed.text:
                            result, reason = flushed, "speech"
                            break
                        heard, last_partial = False, ""  # it was noise: keep listening
                    seconds = audio_bytes / BYTES_PER_SECOND
                    if not heard and seconds >= listener.no_speech:
                        reason = "no-speech"
                    elif seconds >= limits.max_utterance:
                        reason = "max-length"
            if result is None and reason in ("max-length", "hangup"):
                if buffer:
                    await stream.accept(bytes(buffer))
                result = await stream.finish()
        finally:
            stream.close()
        finished = time.perf_counter()
        text = result.text if result else ""
        utterance = Utterance(
            text=text,
            call_uuid=call.uuid,
            reason=reason,
            confidence=result.confidence if result else 0.0,
            digits=digits,
            mode=stream.mode,  # type: ignore[arg-type]
            audio_seconds=audio_bytes / BYTES_PER_SECOND,
            partials=partials,
            words=result.words if result else (),
            endpoint_latency=(finished - last_voiced) if (reason == "speech" and last_voiced) else None,
        )
        if utterance.audio_seconds > 0:
            self.metrics.asr_rtf.observe(decode_s / utterance.audio_seconds)
        log_event(
            log,
            "utterance",
            uuid=call.uuid,
            reason=reason,
            text=text,
            mode=stream.mode,
            seconds=round(utterance.audio_seconds, 2),
        )
        return utterance


def _voice_detector(mode: int | None) -> Callable[[bytes], int]:
    """chunk -> how many bytes at its end are unvoiced (len(chunk): none of it is speech)."""
    if mode is None:
        return lambda chunk: 0 if _rms(chunk) >= _VOICED_RMS else len(chunk)
    import webrtcvad

    vad = webrtcvad.Vad(mode)

    def trailing_unvoiced(chunk: bytes) -> int:
        quiet = 0
        for start in range(0, len(chunk) - _VAD_FRAME + 1, _VAD_FRAME):
            if vad.is_speech(chunk[start : start + _VAD_FRAME], 8000):
                quiet = 0
            else:
                quiet += _VAD_FRAME
        return quiet + len(chunk) % _VAD_FRAME

    return trailing_unvoiced


def _rms(pcm: bytes) -> float:
    samples = array("h", pcm)
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples))


def build_speech_service(settings: Any, *, limits: SpeechLimits | None = None,
                         metrics: Metrics | None = None) -> SpeechService:
    """The composition root's factory. Cheap and synchronous: the model (seconds, hundreds
    of MB) is loaded off the event loop by `start()`; a missing or broken model then gives
    an unavailable service, logged with its path, never a failed start-up."""
    return SpeechService(
        pool=None,
        host=settings.engine.audiosocket_host,
        port=settings.engine.audiosocket_port,
        limits=limits,
        model_path=Path(settings.asr.vosk_model) if settings.asr.vosk_model else None,
        threads=settings.asr.threads,
        threshold=settings.asr.confidence,
        unavailable_reason="" if settings.asr.vosk_model else "asr.vosk_model is empty",
        metrics=metrics,
    )
