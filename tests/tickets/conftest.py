"""Fixtures for the tickets tests: a real PostgreSQL server per session, fresh databases per test,
and a ticket service on SQLite or PostgreSQL (`backend` parametrises the same tests over both)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from hotline.db import make_engine, make_sessionmaker
from tickets.calendar import load_calendar
from tickets.db import upgrade
from tickets.events import RecordingNotifier
from tickets.policy import load_policy
from tickets.services import TicketService


def _pg_bindir() -> Path | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(candidate, "initdb")):
            return Path(candidate)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class PgServer:
    bindir: Path
    sockdir: str
    port: int
    as_user: list[str]

    def run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, timeout=60)

    def url(self, dbname: str) -> str:
        return f"postgresql+asyncpg://postgres@/{dbname}?host={self.sockdir}&port={self.port}"

    def create_db(self) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        self.run(
            str(self.bindir / "createdb"), "-h", self.sockdir, "-p", str(self.port), "-U", "postgres", name
        )
        return name


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    bindir = _pg_bindir()
    if bindir is None:
        pytest.skip(
            "PostgreSQL binaries (initdb, pg_ctl) not found; install Debian's postgresql to run these"
        )
    base = tempfile.mkdtemp(prefix="hotline-pg-")
    data, sockdir = os.path.join(base, "data"), os.path.join(base, "sock")
    os.makedirs(sockdir)
    as_user: list[str] = []
    if os.geteuid() == 0:
        # PostgreSQL refuses to run as root; hand the directory to the postgres account.
        shutil.chown(base, "postgres")
        shutil.chown(sockdir, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    server = PgServer(bindir, sockdir, _free_port(), as_user)
    server.run(str(bindir / "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
    opts = f"-p {server.port} -k {sockdir} -c listen_addresses='' -c fsync=off -c max_connections=200"
    server.run(str(bindir / "pg_ctl"), "-D", data, "-o", opts, "-l", os.path.join(base, "log"), "-w", "start")
    try:
        yield server
    finally:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop"], capture_output=True
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'tickets.db'}"
    else:
        server: PgServer = request.getfixturevalue("pg_server")
        url = server.url(server.create_db())
    await upgrade(url)
    return url


class FakeClock:
    """Beijing wall time the tests move by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now

    def set(self, when: datetime) -> None:
        self.now = when


@pytest.fixture
def clock() -> FakeClock:
    # Monday 2026-11-23 09:00, an ordinary working week.
    return FakeClock(datetime(2026, 11, 23, 9, 0))


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[object]:
    eng = make_engine(db_url)
    yield eng
    await eng.dispose()


def make_service(engine: object, clock: FakeClock, policy: str = "wuwei") -> TicketService:
    return TicketService(
        sessionmaker=make_sessionmaker(engine),
        policy=load_policy(policy),
        calendar=load_calendar(None),
        clock=clock,
        notifier=RecordingNotifier(),
    )


@pytest.fixture
def service(engine: object, clock: FakeClock) -> TicketService:
    return make_service(engine, clock)
