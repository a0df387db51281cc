"""Accounts, passwords (argon2id via argon2-cffi), server-side sessions and the sign-in audit.

The cookie a browser holds is a random token; only its SHA-256 is stored, with the session's
CSRF token and expiry. Disabling a user or changing the password ends the user's sessions.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from accounts.models import LoginEvent, User, WebSession

ROLES = ("agent", "department", "supervisor", "admin")
MIN_PASSWORD = 8
_hasher = PasswordHasher()
# Verified against when the username is unknown, so a miss costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class AccountError(Exception):
    """Bad account input or an unknown user; `field` names the input at fault."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    role: str
    display_name: str = ""
    department: str | None = None
    seat: str | None = None
    disabled: bool = False

    @property
    def label(self) -> str:
        return self.display_name or self.username


@dataclass(frozen=True)
class SignedIn:
    account: Account
    csrf_token: str
    expires_at: datetime


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _account(row: User) -> Account:
    return Account(id=row.id, username=row.username, role=row.role, display_name=row.display_name,
                   department=row.department, seat=row.seat, disabled=row.disabled)  # fmt: skip


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password: at least {MIN_PASSWORD} characters", field="password")


class AccountStore:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        session_ttl: timedelta = timedelta(hours=12),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.session_ttl = session_ttl
        self.clock = clock

    # -- accounts -------------------------------------------------------------------
    async def add(
        self,
        username: str,
        password: str,
        *,
        role: str,
        department: str | None = None,
        seat: str | None = None,
        display_name: str = "",
    ) -> Account:
        username = username.strip()
        if not username or len(username) > 64 or any(c.isspace() for c in username):
            raise AccountError("username: 1-64 characters, no spaces", field="username")
        if role not in ROLES:
            raise AccountError(f"role: {role!r} is not one of {list(ROLES)}", field="role")
        if role == "department" and not department:
            raise AccountError("department: required for role department", field="department")
        _check_password(password)
        digest = await asyncio.to_thread(_hasher.hash, password)
        now = self.clock()
        row = User(username=username, role=role, department=department or None, seat=seat or None,
                   display_name=display_name, password_hash=digest, disabled=False, created_at=now,
                   password_changed_at=now)  # fmt: skip
        try:
            async with self.sessionmaker() as session, session.begin():
                session.add(row)
                session.add(self._event(username, "user-added", True, detail=f"role={role}"))
        except IntegrityError as exc:
            raise AccountError(f"username: {username!r} already exists", field="username") from exc
        return _account(row)

    async def set_password(self, username: str, password: str) -> None:
        _check_password(password)
        digest = await asyncio.to_thread(_hasher.hash, password)
        async with self.sessionmaker() as session, session.begin():
            row = await self._user(session, username)
            row.password_hash = digest
            row.password_changed_at = self.clock()
            await session.execute(delete(WebSession).where(WebSession.user_id == row.id))
            session.add(self._event(username, "password-changed", True))

    async def set_disabled(self, username: str, disabled: bool = True) -> None:
        async with self.sessionmaker() as session, session.begin():
            row = await self._user(session, username)
            row.disabled = disabled
            if disabled:
                await session.execute(delete(WebSession).where(WebSession.user_id == row.id))
            session.add(self._event(username, "disabled" if disabled else "enabled", True))

    async def list(self) -> list[Account]:
        async with self.sessionmaker() as session:
            rows = (await session.execute(select(User).order_by(User.username))).scalars().all()
        return [_account(r) for r in rows]

    async def get(self, username: str) -> Account | None:
        async with self.sessionmaker() as session:
            row = (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()
        return None if row is None else _account(row)

    # -- sign-in ----------------------------------------------------------------------
    async def authenticate(self, username: str, password: str, *, remote: str = "") -> Account | None:
        """The account when the password matches an enabled user; every attempt is audited."""
        async with self.sessionmaker() as session:
            row = (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()
        ok = await asyncio.to_thread(_verify, row.password_hash if row else _DUMMY_HASH, password)
        reason = "" if ok and row and not row.disabled else (
            "unknown user" if row is None else "disabled" if row.disabled else "wrong password")  # fmt: skip
        async with self.sessionmaker() as session, session.begin():
            session.add(self._event(username[:64], "login", not reason, remote=remote, detail=reason))
        if reason or row is None:
            return None
        if _hasher.check_needs_rehash(row.password_hash):
            digest = await asyncio.to_thread(_hasher.hash, password)
            async with self.sessionmaker() as session, session.begin():
                (await self._user(session, username)).password_hash = digest
        return _account(row)

    async def open_session(self, account: Account) -> tuple[str, SignedIn]:
        """A new session for a signed-in account: (cookie token, session)."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.clock()
        async with self.sessionmaker() as session, session.begin():
            await session.execute(delete(WebSession).where(WebSession.expires_at < now))
            session.add(WebSession(token_hash=_sha(token), user_id=account.id, csrf_token=csrf,
                                   created_at=now, expires_at=now + self.session_ttl))  # fmt: skip
        return token, SignedIn(account, csrf, now + self.session_ttl)

    async def resolve_session(self, token: str) -> SignedIn | None:
        async with self.sessionmaker() as session:
            found = (
                await session.execute(
                    select(WebSession, User).join(User, User.id == WebSession.user_id)
                    .where(WebSession.token_hash == _sha(token))
                )
            ).first()  # fmt: skip
        if found is None:
            return None
        ws, user = found
        if user.disabled or ws.expires_at <= self.clock():
            return None
        return SignedIn(_account(user), ws.csrf_token, ws.expires_at)

    async def close_session(self, token: str, *, remote: str = "") -> None:
        async with self.sessionmaker() as session, session.begin():
            found = (
                await session.execute(
                    select(User.username).join(WebSession, User.id == WebSession.user_id)
                    .where(WebSession.token_hash == _sha(token))
                )
            ).scalar_one_or_none()  # fmt: skip
            await session.execute(delete(WebSession).where(WebSession.token_hash == _sha(token)))
            if found:
                session.add(self._event(found, "logout", True, remote=remote))

    async def events(self, limit: int = 100, username: str | None = None) -> list[LoginEvent]:
        q = select(LoginEvent).order_by(LoginEvent.id.desc()).limit(limit)
        if username:
            q = q.where(LoginEvent.username == username)
        async with self.sessionmaker() as session:
            return list((await session.execute(q)).scalars().all())

    async def audit(self, username: str, event: str, ok: bool, *, remote: str = "", detail: str = "") -> None:
        async with self.sessionmaker() as session, session.begin():
            session.add(self._event(username[:64], event, ok, remote=remote, detail=detail))

    # -- helpers --------------------------------------------------------------------
    def _event(self, username: str, event: str, ok: bool, *, remote: str = "", detail: str = "") -> LoginEvent:
        return LoginEvent(at=self.clock(), username=username, event=event, ok=ok, remote=remote[:64],
                          detail=detail[:200])  # fmt: skip

    @staticmethod
    async def _user(session: AsyncSession, username: str) -> User:
        row = (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()
        if row is None:
            raise AccountError(f"username: no user {username!r}", field="username")
        return row


def _verify(digest: str, password: str) -> bool:
    try:
        return _hasher.verify(digest, password)
    except (VerificationError, InvalidHashError):
        return False
