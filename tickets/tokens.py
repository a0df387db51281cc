"""API tokens with roles. Only a SHA-256 of each token is stored; the token is shown once."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tickets.exceptions import InvalidInput
from tickets.models import ApiToken

ROLES = ("agent", "department", "supervisor", "admin")


@dataclass(frozen=True)
class Principal:
    name: str
    role: str
    department: str | None = None

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.name}"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def issue(self, *, name: str, role: str, department: str | None, now: datetime) -> str:
        if role not in ROLES:
            raise InvalidInput(f"role: {role!r} is not one of {list(ROLES)}", field="role")
        if role == "department" and not department:
            raise InvalidInput("department: required for role department", field="department")
        if not name.strip():
            raise InvalidInput("name: must not be empty", field="name")
        token = secrets.token_urlsafe(32)
        async with self.sessionmaker() as session, session.begin():
            session.add(
                ApiToken(
                    token_hash=_hash(token),
                    name=name.strip(),
                    role=role,
                    department=department,
                    created_at=now,
                )
            )
        return token

    async def resolve(self, token: str) -> Principal | None:
        async with self.sessionmaker() as session:
            row = (
                await session.execute(select(ApiToken).where(ApiToken.token_hash == _hash(token)))
            ).scalar_one_or_none()
        return None if row is None else Principal(row.name, row.role, row.department)


class StaticTokens:
    """Tokens given in code (tests, a single-user desk); same interface as TokenStore.resolve."""

    def __init__(self, tokens: dict[str, Principal]) -> None:
        self._tokens = dict(tokens)

    async def resolve(self, token: str) -> Principal | None:
        return self._tokens.get(token)


async def list_principals(sessionmaker: async_sessionmaker[AsyncSession]) -> list[dict[str, object]]:
    """Who holds an API token, with role and department (never the token), for the admin console."""
    async with sessionmaker() as session:
        rows = (await session.execute(select(ApiToken).order_by(ApiToken.role, ApiToken.name))).scalars().all()
    return [{"name": r.name, "role": r.role, "department": r.department, "created_at": r.created_at.isoformat()}
            for r in rows]
