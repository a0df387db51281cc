"""Staffing planner against published Erlang C figures and against an independent chain."""

from __future__ import annotations

import json
import math

import pytest

from agent_queue.staffing import (
    erlang_a,
    erlang_b,
    erlang_c,
    erlang_c_asa,
    erlang_c_service_level,
    required_agents,
)
from hotline.cli import main


def test_call_centre_helper_worked_example() -> None:
    # Call Centre Helper, "Erlang C Formula - Made Simple With an Easy Worked Example":
    # 100 calls in 30 min, AHT 180 s -> 10 Erlangs; target 80% in 20 s.
    # Published: 13 agents P(wait) 0.2853, SL 79.6%; 14 agents P(wait) 0.1741, SL 88.8%,
    # ASA about 7.8 s -> 14 agents needed.
    assert erlang_c(13, 10.0) == pytest.approx(0.2853, abs=5e-5)
    assert erlang_c_service_level(13, 10.0, 180, 20) == pytest.approx(0.796, abs=5e-4)
    assert erlang_c(14, 10.0) == pytest.approx(0.1741, abs=5e-5)
    assert erlang_c_service_level(14, 10.0, 180, 20) == pytest.approx(0.888, abs=5e-4)
    assert erlang_c_asa(14, 10.0, 180) == pytest.approx(7.8, abs=0.05)
    assert required_agents(calls_per_hour=200, aht_s=180).agents == 14


def test_erlang_b_textbook_value() -> None:
    # The classic Erlang B table: 10 Erlangs offered to 10 circuits block 21.46%.
    assert erlang_b(10, 10.0) == pytest.approx(0.2146, abs=5e-5)


def test_erlang_a_tends_to_erlang_c_with_infinite_patience() -> None:
    a = erlang_a(14, 200, 180, patience_s=1e9, within_s=20)
    assert a.waits == pytest.approx(erlang_c(14, 10.0), abs=1e-6)
    assert a.service_level == pytest.approx(erlang_c_service_level(14, 10.0, 180, 20), abs=1e-5)
    assert a.abandoned < 1e-6


def test_erlang_a_abandon_matches_littles_law_on_the_chain() -> None:
    # Independent check: P(abandon) = theta * E[queue] / lambda on a hand-built chain.
    n, lam, mu, theta = 5, 4 / 60, 1 / 60, 1 / 30
    p = [1.0]
    for k in range(1, 400):
        p.append(p[-1] * lam / (min(k, n) * mu + max(k - n, 0) * theta))
    z = sum(p)
    eq = sum(max(k - n, 0) * x / z for k, x in enumerate(p))
    a = erlang_a(n, lam * 3600, 60, patience_s=30)
    assert a.abandoned == pytest.approx(theta * eq / lam, rel=1e-6)


def test_patience_lowers_the_need_and_answer_rate_target_is_met() -> None:
    r = required_agents(calls_per_hour=200, aht_s=180, patience_s=60, answer_rate=0.95)
    assert r.model == "erlang_a" and r.answer_rate >= 0.95
    worse = erlang_a(r.agents - 1, 200, 180, 60)
    assert worse.answered < 0.95 or worse.service_level < 0.8  # minimal
    assert r.agents <= r.erlang_c_agents


def test_cli_staffing_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["staffing", "--calls-per-hour", "200", "--aht", "180", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["agents"] == 14 and math.isclose(out["load_erlangs"], 10.0)


def test_cli_staffing_from_profile(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["staffing", "--profile", "config/profiles/default.toml", "--answer-rate", "0.95", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["half_hours"]) == 48
    peak = max(out["half_hours"], key=lambda h: h["calls"])
    assert peak["start"] == "10:00" and out["agents"] == peak["agents"]


def test_cli_answer_rate_without_patience_is_a_usage_error() -> None:
    assert main(["staffing", "--calls-per-hour", "10", "--aht", "100", "--answer-rate", "0.95"]) == 2
