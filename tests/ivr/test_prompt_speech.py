"""Every prompt a caller can hear is Mandarin in espeak-ng's own phoneme trace, and short enough.

Debian 12's espeak-ng 1.51 reads Hanzi with the `cmn` voice as English-spelled pinyin (the trace
shows `(en)` switches); the engine speaks tone-numbered pinyin with `cmn-Latn-pinyin` instead.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from hotline_merge.loader import load_dialplan
from hotline_merge.prompts import length_issues, prompt_catalog
from ivr.prompts import PromptLibrary, language_switches, phoneme_trace
from ivr.prompts_cli import review_prompts
from ivr.services import SURVEY_THANKS
from tickets.return_visit import survey_prompt
from tickets.services import _STATUS_TEXT, progress_sentence
from tickets.state import Status

PROJECT = Path(__file__).resolve().parents[2]
DIALPLANS = PROJECT / "dialplans"
pytestmark = pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("sox")), reason="espeak-ng and sox are installed by make test"
)


def _espeak_version() -> tuple[int, ...]:
    out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True).stdout
    found = re.search(r"(\d+)\.(\d+)", out)
    return tuple(int(g) for g in found.groups()) if found else (0,)


def _dynamic_texts() -> dict[str, str]:
    """What the engine composes during calls: ticket read-back (每个 status) and the survey."""
    out = {"survey.thanks": SURVEY_THANKS}
    due = dt.datetime(2026, 12, 31, 18, 0)
    for status in _STATUS_TEXT:
        view = SimpleNamespace(status=status.value, lead_department="市住建局", number="20261203-000042",
                               handle_due=due)
        out[f"progress.{status.value}"] = progress_sentence(view)
    visit = SimpleNamespace(accepted_at=dt.datetime(2026, 11, 5, 9, 30), lead_department="市人社局",
                            number="20261105-000107", status=Status.REPLIED.value)
    out["survey"] = survey_prompt(visit)
    return out


async def test_no_prompt_switches_language_in_its_phoneme_trace():
    texts = {**prompt_catalog(load_dialplan(DIALPLANS)), **_dynamic_texts()}
    assert len(texts) > 80
    switched = {}
    for pid, text in texts.items():
        trace = await phoneme_trace(text)
        assert trace.strip(), pid
        if language_switches(trace):
            switched[pid] = trace[:200]
    assert not switched, f"prompts with a language switch: {switched}"


async def test_the_detector_sees_the_switches_of_the_plain_cmn_voice():
    trace = await phoneme_trace("您好，欢迎致电", voice="cmn")
    if _espeak_version() >= (1, 52):
        pytest.skip("espeak-ng >= 1.52 reads Hanzi in Mandarin with the cmn voice")
    assert language_switches(trace) == ["en"]


def test_language_switches_reads_espeak_markers():
    assert language_switches("(en)nI55nt'u:55_| h,eI55(cmn)_|") == ["en"]
    assert language_switches("n'i35n_| X'Au214_|") == []


async def test_rendered_menus_and_announcements_stay_within_the_dialplan_limits(tmp_path):
    plan = load_dialplan(DIALPLANS)
    library = PromptLibrary(host_dir=tmp_path, pbx_dir=str(tmp_path))
    report = await library.render_all(prompt_catalog(plan))
    seconds = {p.id: p.seconds for p in report.prompts}
    assert not length_issues(plan, seconds)
    assert seconds["menu.main"] <= plan.settings.limits.menu_s == 20
    transitions = [s for pid, s in seconds.items() if pid.startswith("line.") and pid.endswith(".transition")]
    assert len(transitions) == 33 - 2 and max(transitions) <= 10  # one per number (2253337 carries three)
    assert all(len(m.options) <= 5 for m in plan.menus)
    assert not await review_prompts(plan, DIALPLANS, report)


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory) -> Path:
    """One render folder for the CLI tests: unchanged prompts come from its cache."""
    return tmp_path_factory.mktemp("prompts")


def _copy_dialplan(tmp_path: Path) -> Path:
    target = tmp_path / "dialplans"
    shutil.copytree(DIALPLANS, target)
    return target


def _hotline(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(PROJECT / ".venv" / "bin" / "hotline"), *argv], capture_output=True, text=True,
                          cwd=PROJECT, timeout=120)


def test_prompts_render_json_lists_every_prompt_and_check_passes(out_dir):
    done = _hotline("prompts", "render", "--json", "--check", "--out", str(out_dir))
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert {r["id"] for r in rows} == set(prompt_catalog(load_dialplan(DIALPLANS)))
    main = next(r for r in rows if r["id"] == "menu.main")
    assert main["source"] == "synthesized" and Path(main["path"]).exists() and 5 < main["seconds"] <= 20


def test_a_recording_is_listed_as_recorded(tmp_path):
    plan_dir = _copy_dialplan(tmp_path)
    (plan_dir / "recordings").mkdir()
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", str(plan_dir / "recordings" / "menu.main.wav"),
                    "synth", "3", "sine", "440"], check=True)
    done = _hotline("prompts", "render", "--json", "--dialplan", str(plan_dir), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    main = next(r for r in json.loads(done.stdout) if r["id"] == "menu.main")
    assert (main["source"], main["seconds"]) == ("recorded", 3.0)


def test_check_names_a_long_menu_with_its_yaml_line(tmp_path, out_dir):
    plan_dir = _copy_dialplan(tmp_path)
    menus = plan_dir / "40-menus.yaml"
    text = menus.read_text(encoding="utf-8")
    long_prompt = "交通运输按1，" + "请您耐心听完全部选项，" * 8 + "人工服务按0。"
    text = text.replace("交通运输按1，城市管理按2，生态环境按3，供热按4，返回按井号键，人工服务按0。", long_prompt)
    menus.write_text(text, encoding="utf-8")
    line = next(i for i, row in enumerate(text.splitlines(), 1) if long_prompt in row)
    done = _hotline("prompts", "render", "--check", "--dialplan", str(plan_dir), "--out", str(out_dir))
    assert done.returncode == 1
    assert f"40-menus.yaml:{line}:" in done.stderr and "prompt menu.city:" in done.stderr
    assert "settings.limits.menu_s" in done.stderr
    checked = _hotline("dialplan", "check", str(plan_dir))
    assert checked.returncode == 1 and f"40-menus.yaml:{line}:" in checked.stderr
    assert _hotline("dialplan", "check", "--no-audio", str(plan_dir)).returncode == 0


async def test_review_names_a_language_switch(tmp_path):
    if _espeak_version() >= (1, 52):
        pytest.skip("espeak-ng >= 1.52 has no switches to provoke with the cmn voice")
    plan = load_dialplan(DIALPLANS)
    library = PromptLibrary(host_dir=tmp_path, pbx_dir=str(tmp_path), voice="cmn")
    report = await library.render_all({"menu.city": prompt_catalog(plan)["menu.city"]})
    problems = await review_prompts(plan, DIALPLANS, report, voice="cmn")
    assert [p.prompt_id for p in problems] == ["menu.city"]
    assert "40-menus.yaml:" in problems[0].where and "switches to en" in problems[0].message
