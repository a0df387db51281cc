"""Vosk edge: model loading and a pool of per-call recognizers decoded on bounded threads.

The model is loaded once, from the path in settings only (no call or request can name
one), and shared read-only by every `KaldiRecognizer`. Decoding is CPU work in C that
releases the GIL, so it runs on a thread pool sized to the cores; a semaphore bounds the
chunks waiting for a thread, so a saturated pool slows the callers' streams down (their
audio queues up in the AudioSocket call, which is bounded in turn) instead of growing
memory without limit.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import jieba
import vosk

from asr.exceptions import ModelFetchFailed, ModelUnavailable, RecognizerOverloaded

T = TypeVar("T")

# Files every Vosk model folder has; checked first so a wrong path gets a clear message
# instead of Kaldi's "Failed to create a model".
_REQUIRED = ("am/final.mdl", "conf/model.conf")
_HAN = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class ModelRelease:
    name: str
    url: str
    sha256: str | None  # None: not pinned here; the admin passes the published digest


# No checksum for this archive could be verified from these offline machines, so none is
# pinned: `fetch_model` refuses to install without one (from --sha256) rather than trust
# whatever the network returned.
CHINESE_MODEL = ModelRelease(
    name="vosk-model-small-cn-0.22",
    url="https://alphacephei.com/vosk/models/vosk-model-small-cn-0.22.zip",
    sha256=None,
)


@dataclass(frozen=True)
class ModelInfo:
    path: Path
    sample_rate: int
    load_seconds: float
    rss_delta_bytes: int
    supports_grammar: bool


@dataclass(frozen=True)
class Decoded:
    """One step of a stream: a partial hypothesis, or a final result at an endpoint."""

    final: bool
    text: str
    words: tuple[tuple[str, float], ...] = ()

    @property
    def confidence(self) -> float:
        if not self.words:
            return 1.0 if self.text else 0.0
        return sum(conf for _, conf in self.words) / len(self.words)


def _rss_bytes() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _model_sample_rate(path: Path) -> int:
    try:
        for line in (path / "conf" / "mfcc.conf").read_text().splitlines():
            if line.startswith("--sample-frequency="):
                return int(float(line.split("=", 1)[1]))
    except (OSError, ValueError):
        pass
    return 16000  # Kaldi's default when mfcc.conf does not say


def validate_model_dir(path: Path) -> None:
    if not str(path):
        raise ModelUnavailable("asr.vosk_model is empty: speech is off")
    if not path.is_dir():
        raise ModelUnavailable(f"{path}: no such model folder (asr.vosk_model / HOTLINE_VOSK_MODEL)")
    missing = [name for name in _REQUIRED if not (path / name).is_file()]
    if missing:
        raise ModelUnavailable(f"{path}: not a Vosk model folder, missing {', '.join(missing)}")


def load_model(path: Path) -> tuple[vosk.Model, ModelInfo]:
    """Load a model (blocking: seconds and hundreds of MB); ModelUnavailable names the path."""
    path = Path(path)
    validate_model_dir(path)
    # Kaldi logs to stderr, outside our masking formatter; -2 keeps only errors (its
    # per-call "[unk] missing in vocabulary" warning for models without [unk] is noise).
    vosk.SetLogLevel(-2)
    rss_before = _rss_bytes()
    started = time.perf_counter()
    try:
        model = vosk.Model(str(path))
    except Exception as exc:  # vosk raises a bare Exception("Failed to create a model")
        raise ModelUnavailable(f"{path}: Vosk could not load the model ({exc}); is it complete?") from exc
    info = ModelInfo(
        path=path,
        sample_rate=_model_sample_rate(path),
        load_seconds=time.perf_counter() - started,
        rss_delta_bytes=max(0, _rss_bytes() - rss_before),
        # Small (lookahead) models compile a grammar at run time; big HCLG models cannot.
        supports_grammar=(path / "graph" / "HCLr.fst").exists() or (path / "graph" / "Gr.fst").exists(),
    )
    return model, info


def check_model(path: Path) -> ModelInfo:
    """Load, then decode a second of silence, so a model that loads but cannot decode fails here."""
    model, info = load_model(path)
    try:
        recognizer = vosk.KaldiRecognizer(model, 8000)
        recognizer.AcceptWaveform(b"\0" * 16000)
        json.loads(recognizer.FinalResult())
    except Exception as exc:
        raise ModelUnavailable(f"{path}: the model loaded but could not decode ({exc})") from exc
    return info


def grammar_json(phrases: Sequence[str]) -> str:
    """Vosk grammar: space-separated words per phrase, plus `[unk]` so off-list speech is not
    forced onto a phrase. Chinese phrases are cut into words with jieba, because the model's
    vocabulary holds words, not whole phrases."""
    out: list[str] = []
    for phrase in phrases:
        phrase = phrase.strip()
        if not phrase:
            continue
        if _HAN.search(phrase) and " " not in phrase:
            phrase = " ".join(w for w in jieba.lcut(phrase, HMM=False) if w.strip())
        out.append(phrase)
    return json.dumps([*dict.fromkeys(out), "[unk]"], ensure_ascii=False)


def _parse_result(raw: str, final: bool) -> Decoded:
    data = json.loads(raw)
    if not final:
        return Decoded(False, data.get("partial", "").strip())
    words = tuple((w["word"], float(w.get("conf", 1.0))) for w in data.get("result", []) if w.get("word") != "[unk]")
    text = data.get("text", "").replace("[unk]", "").strip()
    return Decoded(True, " ".join(text.split()), words)


class RecognitionStream:
    """One call's recognizer. Chunks must be fed one at a time (awaited), which keeps the
    non-thread-safe KaldiRecognizer on one thread at a time."""

    def __init__(self, pool: RecognizerPool, recognizer: Any, mode: str) -> None:
        self._pool = pool
        self._recognizer = recognizer
        self.mode = mode
        self._closed = False

    def _step(self, pcm: bytes) -> Decoded:
        if self._recognizer.AcceptWaveform(pcm):
            return _parse_result(self._recognizer.Result(), final=True)
        return _parse_result(self._recognizer.PartialResult(), final=False)

    async def accept(self, pcm: bytes) -> Decoded:
        return await self._pool.run(self._step, pcm)

    async def finish(self) -> Decoded:
        """Flush: whatever was heard so far, as a final result."""
        return await self._pool.run(lambda: _parse_result(self._recognizer.FinalResult(), final=True))

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._pool._streams -= 1
            self._recognizer = None


class RecognizerPool:
    """The shared model, the decoder threads and the accounting that bounds them."""

    def __init__(
        self,
        model: vosk.Model,
        info: ModelInfo,
        *,
        threads: int = 0,
        max_streams: int = 0,
        max_waiting_chunks: int = 0,
        sample_rate: int = 8000,
    ) -> None:
        self.model = model
        self.info = info
        self.threads = threads or os.cpu_count() or 1
        self.max_streams = max_streams  # 0: no limit beyond the AudioSocket connection cap
        self.sample_rate = sample_rate
        self._executor = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="vosk")
        # Chunks running plus waiting for a thread; a stream awaiting this is backpressure.
        self._slots = asyncio.Semaphore(max_waiting_chunks or self.threads * 4)
        self._streams = 0

    @property
    def streams(self) -> int:
        return self._streams

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        async with self._slots:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def open_stream(self, grammar: Sequence[str] | None = None) -> RecognitionStream:
        """A recognizer for one call; grammar mode when phrases are given and the model can."""
        if self.max_streams and self._streams >= self.max_streams:
            raise RecognizerOverloaded(f"recognizer pool: {self._streams} streams open, limit {self.max_streams}")
        use_grammar = bool(grammar) and self.info.supports_grammar
        spec = grammar_json(grammar or ()) if use_grammar else None

        def create() -> Any:
            if spec is None:
                recognizer = vosk.KaldiRecognizer(self.model, self.sample_rate)
            else:
                recognizer = vosk.KaldiRecognizer(self.model, self.sample_rate, spec)
            recognizer.SetWords(True)
            return recognizer

        # Compiling a grammar takes milliseconds to seconds: off the loop like decoding.
        self._streams += 1
        try:
            recognizer = await self.run(create)
        except BaseException:
            self._streams -= 1
            raise
        return RecognitionStream(self, recognizer, "grammar" if use_grammar else "free")

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


def fetch_model(
    dest: Path,
    *,
    release: ModelRelease = CHINESE_MODEL,
    sha256: str | None = None,
    opener: Callable[..., Any] = urllib.request.urlopen,
    timeout: float = 30.0,
) -> Path:
    """Download `release`, check its SHA-256, unpack under `dest`; returns the model folder."""
    expected = (sha256 or release.sha256 or "").lower()
    target = dest / release.name
    if target.is_dir():
        validate_model_dir(target)
        return target
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=dest, suffix=".zip.part", delete=False) as tmp:
        part = Path(tmp.name)
        try:
            digest = hashlib.sha256()
            try:
                with opener(release.url, timeout=timeout) as response:
                    while chunk := response.read(1 << 20):
                        digest.update(chunk)
                        tmp.write(chunk)
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                raise ModelFetchFailed(
                    f"{release.url}: download failed ({exc}). Without internet, copy {release.name}.zip"
                    f" from a machine that has it, unzip it and set HOTLINE_VOSK_MODEL to the folder"
                ) from exc
            tmp.flush()
            got = digest.hexdigest()
            if not expected:
                raise ModelFetchFailed(
                    f"{release.url}: downloaded, SHA-256 {got}; no trusted checksum to compare with."
                    " Check it against the published one and rerun with --sha256"
                )
            if got != expected:
                raise ModelFetchFailed(f"{release.url}: SHA-256 {got} does not match the expected {expected}")
            with zipfile.ZipFile(part) as archive:
                for member in archive.namelist():
                    # A hostile archive must not write outside dest ("zip slip").
                    if member.startswith("/") or ".." in Path(member).parts:
                        raise ModelFetchFailed(f"{release.url}: archive member {member!r} escapes the folder")
                staging = Path(tempfile.mkdtemp(dir=dest))
                archive.extractall(staging)
            unpacked = staging / release.name
            validate_model_dir(unpacked)
            shutil.move(str(unpacked), target)
            shutil.rmtree(staging, ignore_errors=True)
        finally:
            part.unlink(missing_ok=True)
    return target


async def load_pool(path: Path, *, threads: int = 0) -> RecognizerPool:
    """Load off the event loop (seconds of work) and wrap the model in a pool."""
    model, info = await asyncio.to_thread(load_model, path)
    return RecognizerPool(model, info, threads=threads)
