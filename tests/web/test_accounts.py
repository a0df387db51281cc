"""Accounts without a browser: argon2 hashes, sessions, audit, the rate limiter, `hotline users`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from accounts.models import User
from accounts.store import AccountError, AccountStore
from hotline.schema import upgrade
from infra.db import make_engine, make_sessionmaker
from web.ratelimit import LoginLimiter

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def store(tmp_path: Path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'acc.db'}"
    await upgrade(url)
    engine = make_engine(url)
    yield AccountStore(make_sessionmaker(engine))
    await engine.dispose()


async def test_password_is_argon2_and_sessions_end_on_disable(store: AccountStore) -> None:
    acc = await store.add("li", "correct horse", role="agent", seat="agent01")
    async with store.sessionmaker() as s:
        digest = (await s.execute(select(User.password_hash))).scalar_one()
    assert digest.startswith("$argon2id$") and "correct horse" not in digest
    assert await store.authenticate("li", "wrong pass", remote="10.0.0.9") is None
    assert await store.authenticate("nobody", "correct horse") is None
    assert (await store.authenticate("li", "correct horse")).seat == "agent01"
    token, session = await store.open_session(acc)
    assert (await store.resolve_session(token)).csrf_token == session.csrf_token
    await store.set_disabled("li")
    assert await store.resolve_session(token) is None
    assert await store.authenticate("li", "correct horse") is None
    events = [(e.event, e.ok, e.detail) for e in reversed(await store.events(username="li"))]
    assert events == [("user-added", True, "role=agent"), ("login", False, "wrong password"),
                      ("login", True, ""), ("disabled", True, ""), ("login", False, "disabled")]  # fmt: skip
    assert [(e.username, e.detail) for e in await store.events(username="nobody")] == [("nobody", "unknown user")]


async def test_password_change_signs_out_and_bad_input_names_field(store: AccountStore) -> None:
    acc = await store.add("wang", "12345678", role="department", department="住建局")
    token, _ = await store.open_session(acc)
    await store.set_password("wang", "another-pass")
    assert await store.resolve_session(token) is None
    assert await store.authenticate("wang", "12345678") is None
    assert await store.authenticate("wang", "another-pass") is not None
    for kwargs, fld in (({"role": "boss"}, "role"), ({"role": "department"}, "department")):
        with pytest.raises(AccountError) as exc:
            await store.add("x", "12345678", **kwargs)
        assert exc.value.field == fld
    with pytest.raises(AccountError, match="password"):
        await store.add("x", "short", role="agent")
    with pytest.raises(AccountError, match="already exists"):
        await store.add("wang", "12345678", role="agent")
    with pytest.raises(AccountError, match="no user"):
        await store.set_password("ghost", "12345678")


def test_limiter_window() -> None:
    now = [0.0]
    lim = LoginLimiter(max_failures=3, window_s=60, clock=lambda: now[0])
    for _ in range(3):
        assert lim.retry_after("ip:a", "user:x") == 0
        lim.failed("ip:a", "user:x")
    assert lim.retry_after("ip:a") == pytest.approx(60)
    assert lim.retry_after("ip:b", "user:x") == pytest.approx(60)
    assert lim.retry_after("ip:b", "user:y") == 0
    now[0] = 61
    assert lim.retry_after("ip:a", "user:x") == 0


def _hotline(tmp_path: Path, *argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOTLINE_VAR_DIR": str(tmp_path)}
    env.pop("HOTLINE_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "hotline.cli", *argv], input=stdin, capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=60)  # fmt: skip


def test_users_cli(tmp_path: Path) -> None:
    r = _hotline(tmp_path, "users", "add", "zhang", "--role", "agent", "--seat", "agent01", "--name", "张三",
                 "--password-stdin", stdin="s3cret-pass\n")  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = _hotline(tmp_path, "users", "add", "zj", "--role", "department", "--password-stdin", stdin="s3cret-pass\n")
    assert r.returncode == 1 and "department: required" in r.stderr
    assert _hotline(tmp_path, "users", "disable", "zhang").returncode == 0
    assert _hotline(tmp_path, "users", "passwd", "zhang", "--password-stdin", stdin="new-pass-1\n").returncode == 0
    out = _hotline(tmp_path, "users", "list").stdout
    assert out.split() == ["zhang", "agent", "disabled", "张三", "seat=agent01"]
    r = _hotline(tmp_path, "users", "disable", "ghost")
    assert r.returncode == 1 and "no user 'ghost'" in r.stderr
