"""Group commit for ticket creation: concurrent creates share one transaction and one COMMIT.

Every create used to be its own transaction, and every transaction locks the day's counter row
(the ticket number sequence) until its COMMIT has been flushed to disk: creates therefore run one
fsync at a time, whatever the number of engines. `GroupCommitter` keeps one writer task per
process that takes every create request queued while the previous batch was committing (plus a
short linger), writes them in one transaction and commits once; each caller awaits its own result.

- Durable: a caller's future is resolved only after COMMIT returned.
- Idempotent per call_id (the Asterisk uniqueid): the counter row is locked *before* the call_id
  lookup, so batches of different engines are serialised and each one sees every ticket committed
  before it; two requests for one call in the same batch get the same ticket.
- Creates that carry both a caller and text (candidates for repeat linking) are not batched:
  they go to `TicketService.create`. Calls from the IVR carry no text.
- Individually errored: bad input is refused per request before the batch is written; when the
  batch transaction fails (a value the database refuses, a dropped connection), every request of
  it is retried alone through `TicketService.create`, so one bad request fails alone and the
  others still commit (retries are idempotent by call_id).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from infra.logs import log_event
from infra.phone import canonical_number
from tickets import repository as repo
from tickets.deadlines import dispatch_due
from tickets.events import TicketCreatedEvent
from tickets.exceptions import InvalidInput
from tickets.models import Ticket, TicketCounter, TicketEvent
from tickets.policy import TICKET_TYPES
from tickets.services import CHANNELS, DEFAULT_TYPE, TicketService, _Published, _storable
from tickets.state import Status
from tickets.views import TicketRef, TicketView

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CreateRequest:
    channel: str
    caller: str = ""
    ticket_type: str = DEFAULT_TYPE
    text: str = ""
    title: str = ""
    category: str = ""
    line_number: str = ""
    call_id: str = ""
    route: str = ""
    department_hint: str = ""
    actor: str = "system"

    def check(self) -> None:
        if self.channel not in CHANNELS:
            raise InvalidInput(f"channel: {self.channel!r} is not one of {list(CHANNELS)}", field="channel")
        if self.ticket_type not in TICKET_TYPES:
            raise InvalidInput(f"type: {self.ticket_type!r} is not one of {list(TICKET_TYPES)}", field="type")
        _storable(text=self.text, title=self.title, category=self.category, line_number=self.line_number,
                  call_id=self.call_id, route=self.route, department_hint=self.department_hint)  # fmt: skip


@dataclass
class _Pending:
    request: CreateRequest
    future: asyncio.Future[TicketView] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupCommitter:
    """Batches `create` / `open_from_call` of one `TicketService`; other calls go to the service.

    `linger_s` is how long the writer waits for more requests after the first of a batch (only
    when the previous batch had company); `max_batch` bounds one transaction.
    """

    def __init__(self, service: TicketService, *, linger_s: float = 0.002, max_batch: int = 500) -> None:
        self.service = service
        self.linger_s = linger_s
        self.max_batch = max_batch
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0  # committed batch transactions, for benchmarks and tests

    # ------------------------------------------------------------------ the service's creation API

    async def create(self, **kwargs: str) -> TicketView:
        request = CreateRequest(**kwargs)
        request.check()
        if request.caller.strip() and request.text.strip():
            # May link to an earlier report (重复诉求): that needs the ORM rows, so the service's own path.
            return await self.service.create(**kwargs)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._run(), name="ticket-group-commit")
        pending = _Pending(request)
        # A caller that gave up (timeout) no longer reads its error: mark it read, no log noise.
        pending.future.add_done_callback(lambda f: f.cancelled() or f.exception())
        await self._queue.put(pending)
        # shield: a caller that gives up does not cancel the batch other callers wait on.
        return await asyncio.shield(pending.future)

    async def open_from_call(
        self,
        *,
        caller: str,
        line_number: str,
        department: str,
        call_id: str,
        route: str,
        channel: str = "phone",
        ticket_type: str | None = None,
        text: str = "",
    ) -> TicketRef:
        view = await self.create(
            channel=channel, caller=caller, line_number=line_number, call_id=call_id, route=route,
            department_hint=department or "", ticket_type=ticket_type or DEFAULT_TYPE, text=text, actor="ivr",
        )  # fmt: skip
        return TicketRef(view.id, view.number)

    def __getattr__(self, name: str) -> object:
        # Everything but creation (transitions, reads, IVR calls) is the service's own.
        return getattr(self.service, name)

    async def close(self) -> None:
        """Stop the writer; a request it had not taken yet is cancelled (nothing of it was written)."""
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None
        while not self._queue.empty():
            self._queue.get_nowait().future.cancel()

    # ------------------------------------------------------------------ the writer task

    async def _run(self) -> None:
        last_size = 1
        while True:
            batch = [await self._queue.get()]
            # Linger only under load: a lone caller on a quiet line is not kept waiting.
            if self.linger_s > 0 and last_size > 1:
                await asyncio.sleep(self.linger_s)
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            last_size = len(batch)
            try:
                await self._commit(batch)
            except asyncio.CancelledError:
                for p in batch:
                    if not p.future.done():
                        p.future.cancel()
                raise

    async def _commit(self, batch: list[_Pending]) -> None:
        try:
            views, pub = await self._write_batch([p.request for p in batch])
        except Exception as exc:  # noqa: BLE001 - any failure of the shared transaction: retry alone
            log_event(
                log, "ticket batch failed, retrying each alone", size=len(batch), error=type(exc).__name__
            )
            for p in batch:
                try:
                    view = await self.service.create(**p.request.__dict__)
                except Exception as one_exc:  # noqa: BLE001 - handed to its own caller
                    if not p.future.done():
                        p.future.set_exception(one_exc)
                else:
                    if not p.future.done():
                        p.future.set_result(view)
            return
        self.batches += 1
        self.service._publish(pub)
        for p, view in zip(batch, views, strict=True):
            if not p.future.done():
                p.future.set_result(view)

    async def _write_batch(self, requests: list[CreateRequest]) -> tuple[list[TicketView], _Published]:
        # Core multi-row INSERTs: the ORM's per-object bookkeeping cost more than the COMMIT saved.
        svc = self.service
        now = svc.now()
        key = now.strftime("%Y%m%d")
        pub = _Published([], [], [], [])
        async with svc.sessionmaker() as session, session.begin():
            last = await _lock_counter(session, key)
            due = dispatch_due(svc.policy, svc.calendar, now)
            call_ids = sorted({r.call_id for r in requests if r.call_id})
            known: dict[str, TicketView] = {}
            if call_ids:
                stmt = select(Ticket).where(Ticket.call_id.in_(call_ids)).order_by(Ticket.id.desc())
                # descending, so the first ticket of a call is the one left in the dict
                known = {row.call_id: TicketView.of(row) for row in (await session.execute(stmt)).scalars()}
            slots: list[TicketView | dict[str, object]] = []
            fresh: list[tuple[CreateRequest, dict[str, object]]] = []
            by_call: dict[str, dict[str, object]] = {}
            for r in requests:
                if r.call_id in known:
                    slots.append(known[r.call_id])
                elif r.call_id in by_call:
                    slots.append(by_call[r.call_id])
                else:
                    last += 1
                    values = _row_values(svc, r, number=f"{key}-{last:06d}", now=now, due=due)
                    fresh.append((r, values))
                    slots.append(values)
                    if r.call_id:
                        by_call[r.call_id] = values
            if fresh:
                await session.execute(update(TicketCounter).where(TicketCounter.day == key).values(last=last))
                ins = insert(Ticket.__table__).returning(Ticket.__table__.c.id, sort_by_parameter_order=True)
                ids = (await session.execute(ins, [v for _, v in fresh])).scalars().all()
                for (_, values), new_id in zip(fresh, ids, strict=True):
                    values["id"] = new_id
                events = [_create_event(r, v, now) for r, v in fresh]
                await session.execute(insert(TicketEvent.__table__), events)
        views = [s if isinstance(s, TicketView) else _view(s) for s in slots]
        for _, values in fresh:
            pub.created.append(TicketCreatedEvent(values["id"], values["number"], values["channel"], now))
            log_event(log, "ticket created", ticket=values["number"], channel=values["channel"],
                      line=values["line_number"])  # fmt: skip
        return views, pub


async def _lock_counter(session: AsyncSession, key: str) -> int:
    """Lock the day's counter row (creating it) and return its value; held until COMMIT."""
    ins = repo._insert(session, TicketCounter).values(day=key, last=0)
    await session.execute(ins.on_conflict_do_nothing(index_elements=["day"]))
    stmt = (
        update(TicketCounter)
        .where(TicketCounter.day == key)
        .values(last=TicketCounter.last)
        .returning(TicketCounter.last)
    )
    return int((await session.execute(stmt)).scalar_one())


def _row_values(
    svc: TicketService, r: CreateRequest, *, number: str, now: datetime, due: datetime | None
) -> dict[str, object]:
    return dict(
        number=number, channel=r.channel, caller=canonical_number(r.caller) or "", line_number=r.line_number, call_id=r.call_id,
        route=r.route, department_hint=r.department_hint, ticket_type=r.ticket_type, category=r.category.strip(),
        level=svc.policy.level_for(r.ticket_type), title=r.title.strip(), text=r.text.strip(),
        status=Status.ACCEPTED.value, policy=svc.policy.name, co_departments=[], accepted_at=now,
        dispatch_due=due, extension_count=0, extension_days=0, pending_extension=0, return_count=0,
        redo_count=0, repeat_count=0, supervision_count=0, version=0, updated_at=now,
    )  # fmt: skip


def _create_event(r: CreateRequest, values: dict[str, object], now: datetime) -> dict[str, object]:
    # the same audit line TicketService.create writes
    return dict(
        ticket_id=values["id"], at=now, actor=r.actor, action="create", from_status=None,
        to_status=values["status"], note=f"channel {r.channel}" + (f", line {r.line_number}" if r.line_number else ""),
    )  # fmt: skip


_UNSET = {c.name: None for c in Ticket.__table__.columns}


def _view(values: dict[str, object]) -> TicketView:
    """A view of a just-inserted row from the values written (columns not written are NULL)."""
    return TicketView.of(SimpleNamespace(**{**_UNSET, **values}))  # type: ignore[arg-type]
