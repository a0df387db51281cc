"""Production layout settings, and a reload that validates off the event loop and compiles into
the configured Asterisk folder (audited)."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from pathlib import Path

import pytest

from config import ConfigError, load_settings
from hotline import pbx
from hotline.engine import DialplanHolder, Engine
from hotline.paths import asterisk_paths
from hotline_merge.loader import load_dialplan

ROOT = Path(__file__).resolve().parents[2]


def _settings(tmp_path: Path, **asterisk: str):
    env = {"HOTLINE_VAR_DIR": str(tmp_path / "var")}
    env.update({f"HOTLINE_ASTERISK_{k.upper()}": v for k, v in asterisk.items()})
    return load_settings(environ=env)


def test_production_paths_come_from_settings_and_the_dev_pbx_only_fills_empty_ones(tmp_path):
    s = _settings(tmp_path, config_dir="/etc/asterisk/hotline", sounds_dir="/usr/share/asterisk/sounds/hotline",
                  recordings_dir="/var/spool/asterisk/hotline-recordings",
                  recordings_host_dir="/mnt/pbx1/recordings")
    p = asterisk_paths(s)
    assert (p.origin, p.config_dir, p.sounds_host_dir) == (
        "settings", Path("/etc/asterisk/hotline"), Path("/usr/share/asterisk/sounds/hotline"))
    assert p.recording_host("/var/spool/asterisk/hotline-recordings/1-2.wav") == Path("/mnt/pbx1/recordings/1-2.wav")
    dev = asterisk_paths(_settings(tmp_path))
    layout = pbx.layout_for(_settings(tmp_path))
    assert dev.origin == "dev-pbx"
    assert dev.config_dir == layout.host(layout.etc_dir) / "hotline"


def test_half_a_production_layout_or_a_relative_path_is_refused_with_the_key(tmp_path):
    with pytest.raises(ConfigError, match="asterisk.sounds_dir: empty while asterisk.config_dir is set"):
        asterisk_paths(_settings(tmp_path, config_dir="/etc/asterisk/hotline"))
    with pytest.raises(ConfigError, match="asterisk.config_dir: .*absolute path"):
        _settings(tmp_path, config_dir="etc/asterisk/hotline")


def test_the_dev_pbx_includes_a_configured_folder_by_its_path_inside_the_chroot(tmp_path):
    s = _settings(tmp_path, config_dir=str(tmp_path / "root/etc/asterisk/hotline"), sounds_dir="/s",
                  recordings_dir="/r")
    layout = pbx.Layout(root=tmp_path / "root", etc_dir="/etc/hotline-asterisk", mod_dir="/m", varlib_dir="/v",
                        data_dir="/d", spool_dir="/sp", run_dir="/run", log_dir="/l")
    assert pbx.hotline_dir(s, layout) == (tmp_path / "root/etc/asterisk/hotline", "/etc/asterisk/hotline")
    values = {"hotline_dir": "/etc/asterisk/hotline"}
    text = pbx.render((pbx.TEMPLATES / "extensions.conf").read_text(), {**_placeholders(), **values},
                      name="extensions.conf")
    assert "#tryinclude /etc/asterisk/hotline/hotline-extensions.conf" in text
    outside = _settings(tmp_path, config_dir="/etc/asterisk/hotline", sounds_dir="/s", recordings_dir="/r")
    with pytest.raises(pbx.PbxError, match="outside the dev PBX's chroot"):
        pbx.hotline_dir(outside, layout)


def _placeholders() -> dict[str, str]:
    import re

    names = set()
    for f in pbx.TEMPLATES.glob("*.conf"):
        names.update(re.findall(r"@([a-z_]+)@", f.read_text()))
    return {n: "x" for n in names}


class _NoPrompts:
    """Prompt rendering is not what this test measures (it has its own tests)."""

    async def render_all(self, texts: object) -> None:
        return None


def _big_plan(folder: Path, lines: int) -> Path:
    for f in (ROOT / "dialplans").glob("*.yaml"):
        shutil.copy(f, folder / f.name)
    rows = ["lines:"] + [f'  - {{number: "8{n:07d}", name: 线路{n}, department: 市民政局, mode: merged}}'
                         for n in range(lines)]
    (folder / "90-many.yaml").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


async def test_reload_validates_off_the_loop_compiles_into_the_configured_folder_and_is_audited(tmp_path):
    plan_dir = tmp_path / "plan"
    plan_dir.mkdir()
    _big_plan(plan_dir, 1)
    config_dir = tmp_path / "etc-asterisk" / "hotline"
    s = _settings(tmp_path, config_dir=str(config_dir), sounds_dir=str(tmp_path / "sounds"),
                  recordings_dir=str(tmp_path / "rec"))
    s.var_dir.mkdir(parents=True)
    eng = Engine(s)
    eng.paths = asterisk_paths(s)
    eng.dialplan = DialplanHolder(current=load_dialplan(plan_dir), path=plan_dir)
    eng.prompts = _NoPrompts()  # type: ignore[assignment]
    _big_plan(plan_dir, 3000)

    beats: list[float] = []

    async def heartbeat() -> None:
        while True:
            beats.append(time.perf_counter())
            await asyncio.sleep(0.005)

    beating = asyncio.create_task(heartbeat())
    started = time.perf_counter()
    assert await eng.reload_dialplan(actor="admin:root")
    took = time.perf_counter() - started
    beating.cancel()
    stall = max(b - a for a, b in zip(beats, beats[1:], strict=False))
    # The event loop kept running while 3000 lines were checked: its longest pause is a small
    # part of the reload, not the whole of it (a reload on the loop stalls for all of `took`).
    assert stall < took / 4, (stall, took)
    assert len(eng.dialplan.current.lines) > 3000 and eng.dialplan.version == 2
    assert "exten => 80002999,1" in (config_dir / "hotline-extensions.conf").read_text()
    record = json.loads((s.var_dir / "dialplan-reloads.jsonl").read_text().splitlines()[-1])
    assert (record["actor"], record["ok"], record["version"]) == ("admin:root", True, 2)

    (plan_dir / "90-many.yaml").write_text('lines:\n  - {number: "88", name: x, department: 无此部门, mode: merged}\n',
                                           encoding="utf-8")
    before = eng.dialplan.current
    assert not await eng.reload_dialplan(actor="admin:root")
    assert eng.dialplan.current is before
    refused = eng.dialplan.history[-1]
    assert not refused.ok and any("90-many.yaml:2:" in e for e in refused.errors), refused.errors
