"""Fixtures for the tickets tests: fresh databases per test on the session's PostgreSQL server (tests/conftest.py),
and a ticket service on SQLite or PostgreSQL (`backend` parametrises the same tests over both)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from hotline.schema import upgrade
from infra.db import make_engine, make_sessionmaker
from tickets.calendar import load_calendar
from tickets.devpg import DevPostgres
from tickets.events import RecordingNotifier
from tickets.policy import load_policy
from tickets.services import TicketService


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'tickets.db'}"
    else:
        server: DevPostgres = request.getfixturevalue("pg_server")
        url = server.create_db()
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
