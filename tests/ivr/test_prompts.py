"""Prompt rendering with the real espeak-ng and sox: 8 kHz files, hash cache, recorded overrides."""

import shutil
import wave

import pytest

from ivr.prompts import PromptError, PromptLibrary, file_stem

pytestmark = pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("sox")), reason="espeak-ng and sox are installed by make test"
)


def _lib(tmp_path, recordings=None):
    return PromptLibrary(host_dir=tmp_path / "sounds", pbx_dir="/pbx/sounds/hotline", recordings_dir=recordings)


def _format(path):
    with wave.open(str(path)) as w:
        return w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()


async def test_renders_8khz_mono_and_caches_by_text(tmp_path):
    lib = _lib(tmp_path)
    report = await lib.render_all({"menu.main": "您好，欢迎致电12345。", "prompt.timeout": "没有收到您的按键。"})
    assert (report.built, report.cached) == (2, 0)
    target = tmp_path / "sounds" / f"{file_stem('menu.main')}.wav"
    rate, channels, width, frames = _format(target)
    assert (rate, channels, width) == (8000, 1, 2) and frames > 8000 * 0.5
    mtime = target.stat().st_mtime_ns
    first_audio = target.read_bytes()

    again = await _lib(tmp_path).render_all({"menu.main": "您好，欢迎致电12345。", "prompt.timeout": "没有收到您的按键。"})
    assert (again.built, again.cached) == (0, 2)
    assert target.stat().st_mtime_ns == mtime

    changed = await _lib(tmp_path).render_all({"menu.main": "您好，这是新的欢迎词，请按1。", "prompt.timeout": "没有收到您的按键。"})
    assert (changed.built, changed.cached) == (1, 1)
    assert target.read_bytes() != first_audio


async def test_a_recording_with_the_prompt_id_overrides_synthesis(tmp_path):
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    # a 44.1 kHz stereo "studio" recording: 1 s of a tone
    source = recordings / "menu.main.wav"
    import subprocess

    subprocess.run(["sox", "-n", "-r", "44100", "-c", "2", str(source), "synth", "1", "sine", "440"], check=True)
    lib = _lib(tmp_path, recordings)
    report = await lib.render_all({"menu.main": "合成的文字", "prompt.timeout": "没有收到您的按键。"})
    assert (report.recorded, report.built) == (1, 1)
    rate, channels, _w, frames = _format(tmp_path / "sounds" / "menu_main.wav")
    assert (rate, channels, frames) == (8000, 1, 8000)


async def test_play_path_has_no_extension_and_no_dots(tmp_path):
    assert _lib(tmp_path).path("line.12349.transition") == "/pbx/sounds/hotline/line_12349_transition"


async def test_empty_prompt_is_refused_with_its_id(tmp_path):
    with pytest.raises(PromptError, match="menu.x: empty"):
        await _lib(tmp_path).render_all({"menu.x": "  "})


def test_the_pbx_plays_the_files_the_prompt_library_renders() -> None:
    from hotline_merge.prompts import PBX_SOUNDS

    # Asterisk finds relative names under sounds/; the engine renders into sounds/hotline.
    for prompt_id, sound in PBX_SOUNDS.items():
        assert sound == f"hotline/{file_stem(prompt_id)}"
