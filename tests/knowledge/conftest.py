"""A knowledge service over a migrated database: SQLite, and PostgreSQL under the `postgres` marker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from hotline.schema import upgrade
from infra.db import make_engine, make_sessionmaker
from knowledge.services import KnowledgeService
from knowledge.state import Actor
from tests.tickets.conftest import FakeClock

STARTER = Path(__file__).resolve().parents[2] / "knowledge" / "data" / "articles.jsonl"
QUESTIONS = STARTER.with_name("questions.jsonl")
ADMIN = Actor("root", "admin")
SUPERVISOR = Actor("bob", "supervisor")
GJJ_EDITOR = Actor("wang", "department", "市公积金中心")
GJJ_REVIEWER = Actor("li", "department", "市公积金中心")
RS_EDITOR = Actor("zhao", "department", "市人社局")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def kb_backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def kb_clock() -> FakeClock:
    return FakeClock(datetime(2026, 12, 3, 10, 0))


@pytest.fixture
async def kb(kb_backend: str, tmp_path: Path, request: pytest.FixtureRequest,
             kb_clock: FakeClock) -> AsyncIterator[KnowledgeService]:
    if kb_backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'kb.db'}"
    else:
        url = request.getfixturevalue("pg_server").create_db()
    await upgrade(url)
    engine = make_engine(url)
    yield KnowledgeService(sessionmaker=make_sessionmaker(engine), clock=kb_clock)
    await engine.dispose()


@pytest.fixture
async def starter(kb: KnowledgeService) -> KnowledgeService:
    await kb.import_file(STARTER, actor=ADMIN)
    return kb
