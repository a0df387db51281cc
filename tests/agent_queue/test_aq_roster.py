"""Roster planner (OR-Tools MIP) and the simulator working the planned roster."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from agent_queue.exceptions import ProfileInvalid
from agent_queue.roster import SLOTS, erlang_a_need, plan_roster, queue_calls
from agent_queue.simulator import load_profile, load_roster_file, simulate, with_planned_roster
from hotline.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "config" / "profiles" / "default.toml"

SMALL = """
[day]
name = "small"
calls = 1200
aht_s = 150
wrapup_s = 15
patience_s = 60
target = 0.95
seed = 5
general_queues = ["gen"]
parallel_queues = ["line"]
shape = [{shape}]

[[queues]]
name = "gen"
share = 0.8

[[queues]]
name = "line"
share = 0.2

[roster]
part_time_max_share = 0.25
min_on_duty = 2
time_limit_s = 30
solver_nodes = 200

[[roster.groups]]
name = "general"
home = "gen"
skills = ["line"]

[[roster.groups]]
name = "dept"
home = "line"
skills = ["gen"]
min_seats = 1
hours = ["09:00", "17:00"]
"""


def _small(tmp_path: Path, extra: str = "") -> Path:
    shape = ", ".join(["0.3"] * 16 + ["2"] * 20 + ["0.6"] * 12)
    f = tmp_path / "small.toml"
    f.write_text(SMALL.format(shape=shape) + extra, encoding="utf-8")
    return f


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory):
    p = load_profile(_small(tmp_path_factory.mktemp("roster")))
    return p, plan_roster(p)


def test_every_half_hour_meets_the_pooled_and_the_department_need(planned) -> None:
    p, r = planned
    calls = queue_calls(p)
    for t in range(SLOTS):
        assert r.seats[t] >= r.need[t] >= 2  # 7x24: never fewer than two on seat
        line_need = erlang_a_need(round(2 * calls["line"][t], 6), 165, 60, 0.95)
        # Hall's condition for the department line alone: every group here answers it.
        assert r.per_group_seats["general"][t] + r.per_group_seats["dept"][t] >= line_need
        if 18 <= t < 34:
            assert r.per_group_seats["dept"][t] >= 1  # own seats 09:00-17:00
    assert r.seat_hours >= r.bound_hours and r.paid_hours >= r.seat_hours
    assert r.seat_over_bound < 0.15


def test_shifts_follow_the_rules(planned) -> None:
    _, r = planned
    part = sum(s.agents * s.pattern.paid_slots for s in r.shifts if s.pattern.name == "part") / 2
    assert part <= 0.25 * r.paid_hours + 1e-9
    for s in r.shifts:
        if s.pattern.name == "full":
            assert s.pattern.span == 17 and 6 <= s.pattern.meal <= 10 and s.pattern.breaks == (4, 13)
            assert s.covers(s.start + s.pattern.meal) == 0 and s.covers(s.start + 4) == 1  # 15-min break: half
        else:
            assert s.pattern.span == 8 and not s.pattern.breaks


def test_planned_roster_runs_in_the_simulator_with_breaks(planned) -> None:
    p, _ = planned
    prof, r = with_planned_roster(p)
    assert sum(sh.agents for sh in prof.shifts) == r.agents
    assert any(sh.breaks for sh in prof.shifts)
    res = simulate(prof, policy="control", seed=2)
    assert res.answer_rate >= 0.95
    assert res.per_queue["line"]["answer_rate"] >= 0.93


def test_cli_roster_writes_toml_and_chart_and_simulate_reads_it(tmp_path: Path, capsys) -> None:
    prof = _small(tmp_path)
    out = tmp_path / "plan" / "roster.toml"
    assert main(["staffing", "roster", "--profile", str(prof), "--out", str(out), "--time-limit", "3"]) == 0
    text = capsys.readouterr().out
    assert "Erlang A lower bound" in text and "wrote" in text
    png = out.with_suffix(".png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image

    assert matplotlib.image.imread(png).shape[:2] == (450, 1100)
    loaded = load_roster_file(out, load_profile(prof))
    assert loaded.shifts and all(sh.home in ("gen", "line") for sh in loaded.shifts)
    assert main(["simulate", "--profile", str(prof), "--roster", str(out), "--policy", "control", "--seed", "1",
                 "--json"]) == 0
    days = json.loads(capsys.readouterr().out)
    assert [d["policy"] for d in days] == ["control"] and days[0]["answer_rate"] > 0.9


def test_roster_errors_name_the_file_and_field(tmp_path: Path, capsys) -> None:
    f = _small(tmp_path).read_text().replace('home = "line"\nskills = ["gen"]', 'home = "nowhere"\nskills = []')
    bad = tmp_path / "bad.toml"
    bad.write_text(f)
    with pytest.raises(ProfileInvalid, match=r"bad.toml: roster.groups\[1\].home: 'nowhere'"):
        load_profile(bad)
    hours = tmp_path / "hours.toml"
    hours.write_text(_small(tmp_path).read_text().replace('"17:00"', '"17:10"'))
    with pytest.raises(ProfileInvalid, match=r"roster.groups\[1\].hours\[1\]: '17:10' is not on a half hour"):
        load_profile(hours)
    assert main(["staffing", "roster", "--profile", str(bad)]) == 1
    assert "roster.groups[1].home" in capsys.readouterr().err


def test_an_agent_on_break_takes_no_calls(tmp_path: Path) -> None:
    base = (f"[day]\ncalls = 480\naht_s = 60\npatience_s = 30\nshort_abandon_s = 0\nseed = 1\n"
            f"shape = [{', '.join(['1'] * 48)}]\n[[queues]]\nname = \"q\"\nshare = 1.0\n"
            "[[shifts]]\nstart = \"00:00\"\nend = \"00:00\"\nagents = 1\nhome = \"q\"\n")
    f = tmp_path / "one.toml"
    f.write_text(base)
    free = simulate(load_profile(f), policy="rrmemory")
    f.write_text(base + 'breaks = [{ at = "06:00", minutes = 360 }]\n')
    onbreak = simulate(load_profile(f), policy="rrmemory")
    # A quarter of the day unattended: about a quarter more callers go unanswered.
    assert free.answer_rate - onbreak.answer_rate == pytest.approx(0.25 * free.answer_rate, abs=0.05)


def test_a_shift_past_midnight_works_both_ends_of_the_day(tmp_path: Path) -> None:
    f = tmp_path / "night.toml"
    f.write_text(f"[day]\ncalls = 480\naht_s = 60\npatience_s = 30\nshort_abandon_s = 0\nseed = 1\n"
                 f"shape = [{', '.join(['1'] * 48)}]\n[[queues]]\nname = \"q\"\nshare = 1.0\n"
                 "[[shifts]]\nstart = \"18:00\"\nend = \"06:00\"\nagents = 2\nhome = \"q\"\n")
    r = simulate(load_profile(f), policy="rrmemory")
    # Staffed 12 of 24 hours (00-06 and 18-24): about half the callers answered.
    assert r.answer_rate == pytest.approx(0.5, abs=0.06)


def test_shipped_roster_holds_the_target_and_the_parallel_line() -> None:
    p = load_roster_file(ROOT / "config" / "profiles" / "default.roster.toml", load_profile(DEFAULT))
    for seed in (1, 2, 3):
        c = simulate(p, policy="control", seed=seed)
        assert c.answer_rate >= 0.95
        assert c.per_queue["hotline-2253337"]["answer_rate"] >= 0.94  # not 75-84% any more


def test_stress_day_control_holds_the_target_where_rrmemory_drops() -> None:
    from agent_queue.simulator import Stress

    p = load_roster_file(ROOT / "config" / "profiles" / "default.roster.toml", load_profile(DEFAULT))
    stress = Stress(surge_queue="hotline-social", surge_from_s=9 * 3600, surge_to_s=11 * 3600, surge_factor=1.3,
                    no_show=0.15)
    calm = simulate(p, policy="rrmemory", seed=2)
    plain = simulate(p, policy="rrmemory", seed=2, stress=stress)
    ctl = simulate(p, policy="control", seed=2, stress=stress)
    # The surge adds about 0.15 * 0.3 * (share of the day's calls in 09-11) of the day's callers.
    assert 20 < plain.offered + plain.short_abandoned - calm.offered - calm.short_abandoned < 80
    assert plain.answer_rate < 0.95 <= ctl.answer_rate
    assert ctl.answer_rate - plain.answer_rate >= 0.03
    assert ctl.hold_reached > 0 and ctl.overtime_h > 0


def test_virtual_hold_turns_abandons_into_answered_call_backs() -> None:
    from agent_queue.simulator import Stress

    p = load_roster_file(ROOT / "config" / "profiles" / "default.roster.toml", load_profile(DEFAULT))
    stress = Stress(no_show=0.15)
    off = simulate(p, policy="control", seed=4, stress=stress, virtual_hold=False)
    on = simulate(p, policy="control", seed=4, stress=stress)
    assert off.hold_offered == 0 and on.hold_offered > on.hold_accepted >= on.hold_reached > 0
    assert on.abandoned < off.abandoned and on.answer_rate > off.answer_rate


def test_cli_stress_flags_are_checked(capsys) -> None:
    assert main(["simulate", "--surge", "hotline-nowhere:+30%@09:00-11:00", "--seed", "1"]) == 2
    assert "hotline-nowhere" in capsys.readouterr().err
    assert main(["simulate", "--surge", "hotline-social:+30%", "--seed", "1"]) == 2
    assert "QUEUE:+30%@HH:MM-HH:MM" in capsys.readouterr().err


def test_cli_simulate_plans_the_roster_first(tmp_path: Path, capsys) -> None:
    prof = _small(tmp_path)
    assert main(["simulate", "--profile", str(prof), "--policy", "control", "--seed", "1"]) == 2
    assert "give --roster plan" in capsys.readouterr().err
    assert main(["simulate", "--profile", str(prof), "--roster", "plan", "--policy", "all", "--seeds", "2"]) == 0
    out = capsys.readouterr().out
    assert "planned roster:" in out and "Erlang A bound" in out
    assert re.search(r"^control\s+worst \d+\.\d\d%  mean \d+\.\d\d%  days below 95%: \d of 2$", out, re.M), out
