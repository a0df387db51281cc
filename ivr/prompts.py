"""Prompt audio: YAML prompt texts rendered with espeak-ng (Mandarin) + sox to 8 kHz files.

Text goes through ivr.speakable first (numbers the Chinese way, then tone-numbered pinyin) and is
spoken by espeak-ng's `cmn-Latn-pinyin` voice: on Debian 12's espeak-ng 1.51 the `cmn` voice
reads Hanzi as English-spelled pinyin, the pinyin voice says Mandarin on 1.51 and 1.52 alike.
`phoneme_trace` gives espeak-ng's `-x` trace of what a prompt sounds like; a `(en)` in it is a
language switch (`language_switches`).

Files are cached by a hash of text and voice, so a start-up re-renders only what changed;
a recording with the same prompt id (in the recordings folder) overrides the synthesis.
Dynamic texts (a ticket's status read back to a caller) go through the same cache.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
import shutil
import wave
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from infra.errors import DomainError
from infra.logs import log_event
from ivr.speakable import pinyin

log = logging.getLogger("ivr.prompts")

VOICE = "cmn-latn-pinyin"
# Words per minute = syllables per minute with the pinyin voice; espeak-ng's default is 175.
SPEED_WPM = 185
# Bumped when the text -> audio pipeline changes, so cached files are rendered again.
PIPELINE = "pinyin-2"
_SWITCH = re.compile(r"\(([a-z]{2,3}(?:-[A-Za-z0-9]+)*)\)")
_SAFE = re.compile(r"[^A-Za-z0-9_-]")
MANIFEST = ".manifest.json"


class PromptError(DomainError):
    """A prompt cannot be rendered; names the prompt id and the tool that failed."""

    error_id = "prompt-render-failed"


def file_stem(prompt_id: str) -> str:
    # Asterisk treats dots as the start of a format extension.
    return _SAFE.sub("_", prompt_id)


@dataclass(frozen=True)
class RenderedPrompt:
    id: str
    seconds: float
    path: Path  # the host file
    source: str  # synthesized | recorded


@dataclass
class RenderReport:
    built: int = 0
    cached: int = 0
    recorded: int = 0
    prompts: list[RenderedPrompt] = field(default_factory=list)


class PromptLibrary:
    def __init__(self, *, host_dir: Path, pbx_dir: str, recordings_dir: Path | None = None,
                 voice: str = VOICE, jobs: int | None = None) -> None:
        self.host_dir = host_dir
        self.pbx_dir = pbx_dir.rstrip("/")
        self.recordings_dir = recordings_dir
        self.voice = voice
        self._sem = asyncio.Semaphore(jobs or os.cpu_count() or 2)
        self._manifest: dict[str, str] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def path(self, prompt_id: str) -> str:
        """What to hand to STREAM FILE / GET DATA (no extension)."""
        return f"{self.pbx_dir}/{file_stem(prompt_id)}"

    def host_file(self, prompt_id: str) -> Path:
        return self.host_dir / f"{file_stem(prompt_id)}.wav"

    def is_recorded(self, prompt_id: str) -> bool:
        return self._recording(prompt_id) is not None

    def _load_manifest(self) -> None:
        try:
            self._manifest = json.loads((self.host_dir / MANIFEST).read_text())
        except (OSError, ValueError):
            self._manifest = {}

    def _save_manifest(self) -> None:
        tmp = self.host_dir / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(self._manifest, sort_keys=True, ensure_ascii=False, indent=0))
        tmp.replace(self.host_dir / MANIFEST)

    def _digest(self, prompt_id: str, text: str) -> tuple[str, Path | None]:
        recorded = self._recording(prompt_id)
        if recorded is not None:
            return "rec:" + hashlib.sha256(recorded.read_bytes()).hexdigest(), recorded
        return hashlib.sha256(f"{PIPELINE}|{self.voice}|{SPEED_WPM}|{text}".encode()).hexdigest(), None

    def _recording(self, prompt_id: str) -> Path | None:
        if self.recordings_dir is None:
            return None
        for ext in ("wav", "mp3", "flac", "ogg"):
            cand = self.recordings_dir / f"{prompt_id}.{ext}"
            if cand.exists():
                return cand
        return None

    async def render_all(self, prompts: Mapping[str, str],
                         progress: Callable[[int, int], None] | None = None) -> RenderReport:
        self.host_dir.mkdir(parents=True, exist_ok=True)
        self._load_manifest()
        report = RenderReport()
        done = 0

        async def one(pid: str, text: str) -> None:
            nonlocal done
            outcome = await self._ensure(pid, text)
            setattr(report, outcome, getattr(report, outcome) + 1)
            target = self.host_file(pid)
            source = "recorded" if self._recording(pid) is not None else "synthesized"
            report.prompts.append(RenderedPrompt(pid, wav_seconds(target), target, source))
            done += 1
            if progress:
                progress(done, len(prompts))

        await asyncio.gather(*(one(pid, text) for pid, text in sorted(prompts.items())))
        report.prompts.sort(key=lambda p: p.id)
        self._save_manifest()
        log_event(log, "prompts ready", built=report.built, cached=report.cached, recorded=report.recorded)
        return report

    async def ensure(self, prompt_id: str, text: str) -> str:
        """Render one (dynamic) prompt if needed; returns its play path."""
        if not self._manifest:
            self._load_manifest()
        outcome = await self._ensure(prompt_id, text)
        if outcome != "cached":
            self._save_manifest()
        return self.path(prompt_id)

    async def _ensure(self, prompt_id: str, text: str) -> str:
        if not text.strip():
            raise PromptError(f"prompt {prompt_id}: empty text")
        lock = self._locks.setdefault(prompt_id, asyncio.Lock())
        async with lock:
            digest, recorded = self._digest(prompt_id, text)
            target = self.host_file(prompt_id)
            if self._manifest.get(prompt_id) == digest and target.exists():
                return "cached"
            async with self._sem:
                if recorded is not None:
                    await _convert(recorded, target)
                else:
                    await synthesize(text, target, voice=self.voice)
            self._manifest[prompt_id] = digest
            return "recorded" if recorded is not None else "built"


async def _run(*cmd: str) -> None:
    try:
        proc = await asyncio.create_subprocess_exec(
            *cmd, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
    except FileNotFoundError as exc:
        raise PromptError(f"{cmd[0]} not found (apt-get install espeak-ng sox)") from exc
    _out, err = await proc.communicate()
    if proc.returncode != 0:
        raise PromptError(f"{cmd[0]} failed (exit {proc.returncode}): {err.decode(errors='replace')[-300:]}")


async def _convert(source: Path, target: Path) -> None:
    tmp = target.with_suffix(".tmp.wav")
    await _run("sox", str(source), "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", str(tmp))
    tmp.replace(target)


def voice_text(text: str, voice: str = VOICE) -> str:
    """What espeak-ng is given: pinyin for the pinyin voice, the text itself for any other."""
    return pinyin(text) if voice.lower().startswith("cmn-latn-pinyin") else text


async def synthesize(text: str, target: Path, *, voice: str = VOICE) -> None:
    """Text -> 8 kHz 16-bit mono WAV (what Asterisk plays without transcoding on slin)."""
    if not shutil.which("espeak-ng"):
        raise PromptError("espeak-ng not found (apt-get install espeak-ng)")
    spoken = voice_text(text, voice)
    if not spoken.strip():
        raise PromptError(f"nothing speakable in {text[:40]!r}")
    raw = target.with_suffix(".espeak.wav")
    try:
        await _run("espeak-ng", "-v", voice, "-s", str(SPEED_WPM), "-w", str(raw), spoken)
        await _convert(raw, target)
    finally:
        raw.unlink(missing_ok=True)


async def phoneme_trace(text: str, *, voice: str = VOICE) -> str:
    """espeak-ng's phoneme trace (`-x`) of the text as synthesize() would speak it."""
    if not shutil.which("espeak-ng"):
        raise PromptError("espeak-ng not found (apt-get install espeak-ng)")
    proc = await asyncio.create_subprocess_exec(
        "espeak-ng", "-v", voice, "-q", "-x", voice_text(text, voice),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise PromptError(f"espeak-ng -x failed (exit {proc.returncode}): {err.decode(errors='replace')[-300:]}")
    return out.decode(errors="replace")


def language_switches(trace: str) -> list[str]:
    """Languages espeak-ng switched to inside a trace, e.g. ['en'] for `(en)nI55nt'u:55(cmn)`.

    The switch back to the voice's own language (`(cmn)`) is not one."""
    return sorted({lang for lang in _SWITCH.findall(trace) if lang != "cmn"})


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()
