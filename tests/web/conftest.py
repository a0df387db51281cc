"""A tickets API over a fresh database (SQLite, and PostgreSQL under the `postgres` marker), one token per role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from hotline.schema import upgrade
from infra.db import make_engine
from tests.tickets.conftest import FakeClock, make_service
from tickets.services import TicketService
from tickets.tokens import Principal, StaticTokens
from web.app import create_app

TOKENS = {
    "agent-token": Principal("alice", "agent"),
    "zj-token": Principal("zj", "department", "住建局"),
    "sw-token": Principal("sw", "department", "水务局"),
    "sup-token": Principal("bob", "supervisor"),
    "admin-token": Principal("root", "admin"),
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 23, 9, 0))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def db_url_for_backend(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'web.db'}"
    else:
        url = request.getfixturevalue("pg_server").create_db()
    await upgrade(url)
    return url


@pytest.fixture
async def service(db_url_for_backend: str, clock: FakeClock) -> AsyncIterator[TicketService]:
    engine = make_engine(db_url_for_backend)
    yield make_service(engine, clock)
    await engine.dispose()


@pytest.fixture
async def client(service: TicketService) -> AsyncIterator[TestClient]:
    app = create_app(
        tickets=service, settings=None, tokens=StaticTokens(TOKENS), answer_rate=lambda s, e: 0.9612
    )
    async with TestClient(TestServer(app)) as c:
        yield c


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
