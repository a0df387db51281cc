"""`hotline serve` as systemd runs it (deploy/hotline.service): a production layout from the
settings file, JSON log lines, and `kill -HUP` recompiling into Asterisk's include folder."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _until(what: str, check, timeout: float = 60.0):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _ready(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read())
    except OSError:
        return None


def test_sighup_recompiles_into_the_configured_asterisk_folder(tmp_path):
    plan = tmp_path / "dialplans"
    shutil.copytree(ROOT / "dialplans", plan)
    etc = tmp_path / "etc/asterisk/hotline"
    web = _port()
    config = tmp_path / "hotline.toml"
    config.write_text(f"""
var_dir = "{tmp_path / 'var'}"
[engine]
agi_port = {_port()}
audiosocket_port = {_port()}
web_port = {web}
log_format = "json"
[ami]
port = {_port()}
secret = "unused"
[asterisk]
config_dir = "{etc}"
sounds_dir = "{tmp_path / 'sounds/hotline'}"
recordings_dir = "{tmp_path / 'spool/hotline-recordings'}"
[dialplan]
path = "{plan}"
""", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    log = tmp_path / "engine.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "hotline.cli", "--config", str(config), "serve"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        ready = _until("the engine's /readyz", lambda: _ready(web))
        # No Asterisk here: not ready, and the body says which check failed.
        assert ready["ok"] is False
        assert ready["checks"]["database"]["ok"] and ready["checks"]["agi"]["ok"]
        assert "not connected to Asterisk's AMI" in ready["checks"]["ami"]["error"]
        assert "exten => 12345,1" in (etc / "hotline-extensions.conf").read_text()  # compiled at start

        (plan / "95-sighup.yaml").write_text(
            'lines:\n  - {number: "88880095", name: 信号重载测试热线, department: 市民政局, mode: merged}\n',
            encoding="utf-8")
        proc.send_signal(signal.SIGHUP)
        _until("the new line in etc/asterisk/hotline",
               lambda: "exten => 88880095,1" in (etc / "hotline-extensions.conf").read_text())
        audit = _until("the reload audit", lambda: (tmp_path / "var/dialplan-reloads.jsonl").exists()
                       and (tmp_path / "var/dialplan-reloads.jsonl").read_text().splitlines())
        assert json.loads(audit[-1])["actor"] == "SIGHUP" and json.loads(audit[-1])["ok"] is True
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    text = log.read_text()
    assert code == 0, text[-2000:]
    assert [r for r in lines if r["msg"] == "dialplan reloaded"][0]["actor"] == "SIGHUP"
    assert not [r for r in lines if "setup plugin" in r["msg"]]  # quiet start-up
    assert all(line.startswith("{") for line in text.splitlines() if line.strip()), text[:1500]
