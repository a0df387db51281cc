"""API tokens with roles. Only a SHA-256 of each token is stored; the token is shown once.
Tokens expire (90 days unless issued otherwise) and `hotline tickets revoke` ends them at once."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tickets.deadlines import CST
from tickets.exceptions import InvalidInput
from tickets.models import ApiToken

ROLES = ("agent", "department", "supervisor", "admin")
DEFAULT_DAYS = 90


def _now() -> datetime:
    return datetime.now(CST).replace(tzinfo=None)


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
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], *,
                 clock: Callable[[], datetime] = _now) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock

    async def issue(self, *, name: str, role: str, department: str | None, now: datetime,
                    days: int | None = DEFAULT_DAYS) -> str:
        """A new token, valid for `days` (None or 0: until revoked)."""
        if role not in ROLES:
            raise InvalidInput(f"role: {role!r} is not one of {list(ROLES)}", field="role")
        if role == "department" and not department:
            raise InvalidInput("department: required for role department", field="department")
        if not name.strip():
            raise InvalidInput("name: must not be empty", field="name")
        if days is not None and not 0 <= days <= 3650:
            raise InvalidInput("days: expected 0..3650 (0: until revoked)", field="days")
        token = secrets.token_urlsafe(32)
        async with self.sessionmaker() as session, session.begin():
            session.add(
                ApiToken(
                    token_hash=_hash(token),
                    name=name.strip(),
                    role=role,
                    department=department,
                    created_at=now,
                    expires_at=now + timedelta(days=days) if days else None,
                )
            )
        return token

    async def resolve(self, token: str) -> Principal | None:
        """The token's principal; None when unknown, expired or revoked."""
        async with self.sessionmaker() as session:
            row = (
                await session.execute(select(ApiToken).where(ApiToken.token_hash == _hash(token)))
            ).scalar_one_or_none()
        if row is None or row.revoked_at is not None:
            return None
        if row.expires_at is not None and row.expires_at <= self.clock():
            return None
        return Principal(row.name, row.role, row.department)

    async def revoke(self, *, token: str | None = None, name: str | None = None, now: datetime) -> int:
        """Revoke one token, or every token issued under a name; returns how many were live."""
        if (token is None) == (name is None):
            raise InvalidInput("revoke: give exactly one of token or name", field="token")
        stmt = update(ApiToken).where(ApiToken.revoked_at.is_(None)).values(revoked_at=now)
        stmt = stmt.where(ApiToken.token_hash == _hash(token)) if token is not None else stmt.where(
            ApiToken.name == (name or "").strip())
        async with self.sessionmaker() as session, session.begin():
            result = await session.execute(stmt)
        return int(result.rowcount or 0)


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
