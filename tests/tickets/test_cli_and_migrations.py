"""`hotline tickets ...` commands and the Alembic migration chain."""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from hotline.schema import alembic_config, upgrade
from tickets.cli import register

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*argv: str, config: str | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hotline")
    parser.add_argument("--config")
    register(parser.add_subparsers(), upgrade=upgrade)
    args = parser.parse_args([*(["--config", config] if config else []), *argv])
    result = args.func(args)
    if inspect.iscoroutine(result):
        result = asyncio.run(result)
    return int(result or 0)


def test_deadline_json(capsys: pytest.CaptureFixture[str]) -> None:
    rc = run_cli(
        "tickets",
        "deadline",
        "--policy",
        "yunnan",
        "--type",
        "投诉",
        "--from",
        "2026-09-30T11:00:00Z",
        "--json",
    )
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    # 11:00Z is 19:00 in Beijing: after Yunnan's 18:00 cutoff -> dispatch by 10:00 next day.
    assert out["from"] == "2026-09-30T19:00:00+08:00"
    assert out["dispatch_due"] == "2026-10-01T10:00:00+08:00"
    assert out["sign_due"] == "2026-09-30T21:00:00+08:00"
    assert out["handle_due"] == "2026-10-27T23:59:59+08:00"


def test_deadline_refuses_uncovered_year_and_bad_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert (
        run_cli(
            "tickets", "deadline", "--policy", "wuwei", "--type", "投诉", "--from", "2027-03-01T09:00+08:00"
        )
        == 1
    )
    assert "2027" in capsys.readouterr().err
    cal = tmp_path / "cal.toml"
    cal.write_text("[years.2027]\nholidays = []\nworkdays = []\n", encoding="utf-8")
    args = ("tickets", "deadline", "--policy", "wuwei", "--type", "投诉", "--from", "2027-03-01T09:00+08:00")
    assert run_cli(*args, "--calendar", str(cal), "--json") == 0
    assert json.loads(capsys.readouterr().out)["handle_due"] == "2027-03-04T23:59:59+08:00"
    assert (
        run_cli("tickets", "deadline", "--policy", "nowhere", "--type", "投诉", "--from", "2026-03-02") == 1
    )
    assert "no such policy" in capsys.readouterr().err
    assert run_cli("tickets", "deadline", "--policy", "wuwei", "--type", "闲聊", "--from", "2026-03-02") == 1
    assert run_cli("tickets", "deadline", "--policy", "wuwei", "--type", "投诉", "--from", "soon") == 1


def test_upgrade_token_export_report_through_settings(tmp_path: Path, capsys, monkeypatch) -> None:
    cfg = tmp_path / "hotline.toml"
    cfg.write_text(f'var_dir = "{tmp_path}"\n[tickets]\npolicy = "shanxi"\n', encoding="utf-8")
    assert run_cli("tickets", "upgrade", config=str(cfg)) == 0
    assert (tmp_path / "hotline.db").exists()
    assert run_cli("tickets", "token", "--name", "zj", "--role", "department", config=str(cfg)) == 1
    capsys.readouterr()
    assert run_cli("tickets", "token", "--name", "bob", "--role", "supervisor", "--days", "7", config=str(cfg)) == 0
    assert len(capsys.readouterr().out.strip()) >= 40
    assert run_cli("tickets", "revoke", "--name", "bob", config=str(cfg)) == 0
    assert capsys.readouterr().out.strip() == "revoked 1 token(s)"
    assert run_cli("tickets", "revoke", "--name", "bob", config=str(cfg)) == 1  # nothing live is left
    capsys.readouterr()
    out = tmp_path / "export.jsonl"
    assert run_cli("tickets", "export", "--out", str(out), config=str(cfg)) == 0
    assert out.read_text() == ""
    assert run_cli("tickets", "report", "--month", "2026-11", "--json", config=str(cfg)) == 0
    assert json.loads(capsys.readouterr().out)["valid"] == 0
    assert run_cli("tickets", "sweep", config=str(cfg)) == 0


def test_single_head_named_0001_tickets() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite+aiosqlite://"))
    base = script.get_revision("0001_tickets")
    assert base is not None and base.down_revision is None
    # Other packages' revisions (0002_queue_stats) chain onto ours; there is never a fork.
    assert len(script.get_heads()) == 1


async def test_upgrade_is_idempotent_and_matches_models(db_url: str) -> None:
    await upgrade(db_url)  # second run: nothing to do, no error
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from infra.db import Base, make_engine

    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)
            )
    finally:
        await engine.dispose()
    assert diff == []  # the migration creates exactly what the models declare


def test_cli_runs_as_a_module_free_process() -> None:
    # The deadline command needs no database and no settings file: usable on an admin's laptop.
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from tests.tickets.test_cli_and_migrations import run_cli;"
         " sys.exit(run_cli('tickets','deadline','--policy','ganzhou','--type','咨询','--from','2026-11-23T09:00+08:00'))"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "2026-11-26T23:59:59+08:00" in proc.stdout
