"""The citizens' web channel (网络渠道): a request without sign-in, guarded against abuse.

A citizen asks for a verification code for their mobile number (an `SmsGateway` sends it; in
development `LogSmsGateway` writes it to the log with the number masked), then submits the
request with the code. Code requests and submissions are rate-limited per client address and per
phone; codes are single-use, expire, and allow a few wrong tries. The ticket is opened through
`TicketService.create(channel="web")`, so it follows the same workflow as a call. Progress is
looked up by ticket number plus the phone's last four digits; a wrong pair and an unknown number
get the same answer, and failed lookups are rate-limited too.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from infra.logs import log_event, mask_phone
from tickets.exceptions import InvalidInput, NoSuchTicket, TicketError
from tickets.policy import TICKET_TYPES
from tickets.services import TicketService, progress_sentence

log = logging.getLogger("tickets.intake")
MOBILE = re.compile(r"^1[3-9]\d{9}$")


class RateLimited(TicketError):
    error_id = "rate-limited"

    def __init__(self, message: str, *, field: str, retry_after: float) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after


class BadCode(TicketError):
    error_id = "bad-code"


class SmsGateway(Protocol):
    """Production plugs in the carrier's SMS API; it must not log the code."""

    async def send(self, phone: str, text: str) -> None: ...


class LogSmsGateway:
    """Development gateway: the message goes to the log (the number masked), nothing is sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, phone: str, text: str) -> None:
        self.sent.append((phone, text))
        log_event(log, "sms (dev gateway, not sent)", phone=mask_phone(phone), text=text)


class SlidingLimit:
    """At most `limit` events per key in the last `window_s` seconds (in memory, per process)."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float]) -> None:
        self.limit, self.window_s, self.clock = limit, window_s, clock
        self._hits: dict[str, deque[float]] = {}

    def retry_after(self, key: str) -> float:
        q = self._hits.get(key)
        if not q:
            return 0.0
        cutoff = self.clock() - self.window_s
        while q and q[0] <= cutoff:
            q.popleft()
        return q[0] + self.window_s - self.clock() if len(q) >= self.limit else 0.0

    def hit(self, key: str) -> None:
        self._hits.setdefault(key, deque()).append(self.clock())


@dataclass(frozen=True)
class Limits:
    codes_per_phone: int = 3  # per 10 minutes
    codes_per_address: int = 10  # per hour
    requests_per_phone: int = 5  # per day
    requests_per_address: int = 20  # per day
    failed_lookups: int = 5  # per address or number, per hour
    code_ttl_s: float = 600.0
    code_tries: int = 5


@dataclass
class _Code:
    digest: bytes
    expires: float
    tries: int = 0


@dataclass(frozen=True)
class Submitted:
    number: str
    ticket_id: int


@dataclass(frozen=True)
class Progress:
    number: str
    status: str
    sentence: str
    accepted_at: str
    department: str | None
    reply: str | None


def _phone(raw: str) -> str:
    phone = re.sub(r"[\s-]", "", raw or "")
    if phone.startswith("+86"):
        phone = phone[3:]
    if not MOBILE.match(phone):
        raise InvalidInput("phone: expected an 11-digit mainland mobile number", field="phone")
    return phone


class CitizenIntake:
    def __init__(self, *, tickets: TicketService, sms: SmsGateway, limits: Limits | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.tickets = tickets
        self.sms = sms
        self.limits = limits or Limits()
        self.clock = clock
        lim = self.limits
        self._code_phone = SlidingLimit(lim.codes_per_phone, 600, clock)
        self._code_addr = SlidingLimit(lim.codes_per_address, 3600, clock)
        self._req_phone = SlidingLimit(lim.requests_per_phone, 86400, clock)
        self._req_addr = SlidingLimit(lim.requests_per_address, 86400, clock)
        self._lookup_fail = SlidingLimit(lim.failed_lookups, 3600, clock)
        self._codes: dict[str, _Code] = {}
        self._key = secrets.token_bytes(32)

    def _digest(self, phone: str, code: str) -> bytes:
        return hmac.new(self._key, f"{phone}:{code}".encode(), hashlib.sha256).digest()

    @staticmethod
    def _check(*pairs: tuple[SlidingLimit, str, str]) -> None:
        for limit, key, what in pairs:
            wait = limit.retry_after(key)
            if wait > 0:
                raise RateLimited(f"{what}: too many attempts, retry in {int(wait) + 1} s", field=what,
                                  retry_after=wait)  # fmt: skip

    async def request_code(self, *, phone: str, address: str) -> None:
        phone = _phone(phone)
        self._check((self._code_addr, address, "address"), (self._code_phone, phone, "phone"))
        self._code_addr.hit(address)
        self._code_phone.hit(phone)
        code = f"{secrets.randbelow(1_000_000):06d}"
        self._codes[phone] = _Code(self._digest(phone, code), self.clock() + self.limits.code_ttl_s)
        await self.sms.send(phone, f"【12345热线】您的验证码是{code}，10分钟内有效。如非本人操作请忽略。")

    def _use_code(self, phone: str, code: str) -> None:
        entry = self._codes.get(phone)
        if entry is None or entry.expires < self.clock():
            self._codes.pop(phone, None)
            raise BadCode("code: no valid verification code for this phone; request a new one", field="code")
        if not hmac.compare_digest(entry.digest, self._digest(phone, (code or "").strip())):
            entry.tries += 1
            if entry.tries >= self.limits.code_tries:
                self._codes.pop(phone, None)
            raise BadCode("code: wrong verification code", field="code")
        del self._codes[phone]  # single use

    async def submit(self, *, phone: str, code: str, address: str, ticket_type: str, content: str,
                     place: str = "", name: str = "") -> Submitted:
        phone = _phone(phone)
        if ticket_type not in TICKET_TYPES:
            raise InvalidInput(f"type: expected one of {list(TICKET_TYPES)}", field="type")
        content = (content or "").strip()
        if not 10 <= len(content) <= 2000:
            raise InvalidInput("content: 10 to 2000 characters", field="content")
        place = (place or "").strip()[:200]
        name = (name or "").strip()[:40]
        self._check((self._req_addr, address, "address"), (self._req_phone, phone, "phone"))
        self._use_code(phone, code)
        self._req_addr.hit(address)
        self._req_phone.hit(phone)
        text = content + (f"\n地点：{place}" if place else "") + (f"\n联系人：{name}" if name else "")
        view = await self.tickets.create(channel="web", caller=phone, ticket_type=ticket_type, text=text,
                                         title=content[:30], actor="citizen:web")  # fmt: skip
        log_event(log, "web request accepted", ticket=view.number, phone=mask_phone(phone))
        return Submitted(number=view.number, ticket_id=view.id)

    async def progress(self, *, number: str, last4: str, address: str) -> Progress | None:
        number = (number or "").strip()
        self._check((self._lookup_fail, address, "address"), (self._lookup_fail, "n:" + number, "number"))
        try:
            view = await self.tickets.get_by_number(number) if number else None
        except NoSuchTicket:
            view = None
        if view is None or len(last4 or "") != 4 or not hmac.compare_digest(view.caller[-4:], last4):
            self._lookup_fail.hit(address)
            self._lookup_fail.hit("n:" + number)
            return None
        reply = view.reply if view.status in ("replied", "visiting", "closed", "archived") else None
        return Progress(number=view.number, status=view.status, sentence=progress_sentence(view),
                        accepted_at=view.accepted_at.strftime("%Y-%m-%d %H:%M"), department=view.lead_department,
                        reply=reply)  # fmt: skip
