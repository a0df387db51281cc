"""TicketService: the one entry point for the IVR, the web API, return visits and the CLI.

Each public write is one transaction: lock the row, run the pure state machine, write the
new state plus its audit row (and any 督办), commit, then publish events. A refused action
raises before anything is written and the transaction rolls back.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from infra.logs import log_event
from infra.phone import canonical_number
from tickets import repository as repo
from tickets.calendar import WorkCalendar
from tickets.deadlines import CST, dispatch_due, to_local
from tickets.events import (
    Notifier,
    NullNotifier,
    RepeatLinkedEvent,
    SupervisionRaisedEvent,
    TicketCreatedEvent,
    TicketTransitionedEvent,
)
from tickets.exceptions import IllegalTransition, InvalidInput, NoSuchTicket
from tickets.models import ReturnVisit, Ticket, TicketRecording
from tickets.policy import TICKET_TYPES, Policy
from tickets.similarity import similarity
from tickets.state import (
    OPEN_STATUSES,
    Abandon,
    Action,
    CloseDirect,
    Dispatch,
    NotAccept,
    Status,
    apply,
    overdue_reasons,
)
from tickets.views import TicketRef, TicketView

log = logging.getLogger(__name__)

CHANNELS = ("phone", "web", "app", "sms", "wechat", "email", "letter", "fax")
EDITABLE = ("ticket_type", "category", "title", "text")
# Seeds: 12345 does not guess the type from an IVR route; the agent corrects it on the desktop.
DEFAULT_TYPE = "咨询"


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _storable(**fields: str) -> None:
    """Text the database can hold on every backend: PostgreSQL refuses NUL in text columns."""
    for name, value in fields.items():
        m = _CONTROL.search(value or "")
        if m:
            raise InvalidInput(f"{name}: control character U+{ord(m.group()):04X} at position {m.start()}",
                               field=name)


def system_clock() -> datetime:
    return datetime.now(CST).replace(tzinfo=None)


@dataclass(frozen=True)
class _Published:
    created: list[TicketCreatedEvent]
    transitioned: list[TicketTransitionedEvent]
    supervised: list[SupervisionRaisedEvent]
    linked: list[RepeatLinkedEvent]


class TicketService:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        policy: Policy,
        calendar: WorkCalendar,
        clock: Callable[[], datetime] = system_clock,
        notifier: Notifier | None = None,
        departments: Callable[[], Collection[str] | None] | None = None,
    ) -> None:
        """`departments` answers the departments a ticket may be dispatched to (the running
        dialplan's); None or an empty answer leaves dispatch unchecked."""
        self.sessionmaker = sessionmaker
        self._departments = departments
        self.policy = policy
        self.calendar = calendar
        self._clock = clock
        self.notifier: Notifier = notifier or NullNotifier()

    def now(self) -> datetime:
        return to_local(self._clock())

    # ------------------------------------------------------------------ creation

    async def create(
        self,
        *,
        channel: str,
        caller: str = "",
        ticket_type: str = DEFAULT_TYPE,
        text: str = "",
        title: str = "",
        category: str = "",
        line_number: str = "",
        call_id: str = "",
        route: str = "",
        department_hint: str = "",
        actor: str = "system",
    ) -> TicketView:
        if channel not in CHANNELS:
            raise InvalidInput(f"channel: {channel!r} is not one of {list(CHANNELS)}", field="channel")
        if ticket_type not in TICKET_TYPES:
            raise InvalidInput(f"type: {ticket_type!r} is not one of {list(TICKET_TYPES)}", field="type")
        _storable(text=text, title=title, category=category, line_number=line_number, call_id=call_id,
                  route=route, department_hint=department_hint)
        now = self.now()
        pub = _Published([], [], [], [])
        async with self.sessionmaker() as session, session.begin():
            if call_id:
                # An AGI retry for the same call must not open a second ticket.
                existing = await repo.get_by_call_id(session, call_id)
                if existing is not None:
                    return TicketView.of(existing)
            number = await repo.next_number(session, now.date())
            row = Ticket(
                number=number,
                channel=channel,
                # one form per citizen, so repeats and call-backs match; withheld IDs are no number
                caller=canonical_number(caller) or "",
                line_number=line_number,
                call_id=call_id,
                route=route,
                department_hint=department_hint,
                ticket_type=ticket_type,
                category=category.strip(),
                level=self.policy.level_for(ticket_type),
                title=title.strip(),
                text=text.strip(),
                status=Status.ACCEPTED.value,
                policy=self.policy.name,
                co_departments=[],
                accepted_at=now,
                dispatch_due=dispatch_due(self.policy, self.calendar, now),
                extension_count=0,
                extension_days=0,
                pending_extension=0,
                return_count=0,
                redo_count=0,
                repeat_count=0,
                supervision_count=0,
                version=0,
                updated_at=now,
            )
            session.add(row)
            await session.flush()
            repo.record_event(
                session, row, at=now, actor=actor, action="create", from_status=None,
                note=f"channel {channel}" + (f", line {line_number}" if line_number else ""),
            )  # fmt: skip
            await self._link_repeats(session, row, now=now, actor=actor, pub=pub)
            view = TicketView.of(row)
        pub.created.append(TicketCreatedEvent(view.id, view.number, channel, now))
        self._publish(pub)
        log_event(log, "ticket created", ticket=view.number, channel=channel, line=line_number)
        return view

    async def _link_repeats(
        self, session: AsyncSession, row: Ticket, *, now: datetime, actor: str, pub: _Published
    ) -> None:
        """Same caller, similar text, within N days -> link to the first ticket of the chain (重复诉求)."""
        if not row.caller or not row.text:
            return
        rule = self.policy.repeat
        since = now - timedelta(days=rule.window_days)
        for other in await repo.recent_by_caller(session, row.caller, since, row.id):
            if similarity(row.text, other.text) < rule.similarity:
                continue
            root_id = other.repeat_of_id or other.id
            row.repeat_of_id = root_id
            count = await repo.bump_repeat(session, root_id)
            repo.record_event(session, row, at=now, actor=actor, action="link_repeat",
                              note=f"repeat of ticket {root_id} (report {count + 1})")
            pub.linked.append(RepeatLinkedEvent(row.id, root_id, count))
            # count repeats + the original report
            if count + 1 >= self.policy.supervision.repeat_reports:
                root = await repo.get(session, root_id)
                if await repo.raise_supervision(
                    session, root, reason="repeat-reports", key="repeat-reports", now=now, actor="system"
                ):
                    pub.supervised.append(SupervisionRaisedEvent(root.id, root.number, "repeat-reports", now))
            return

    # ------------------------------------------------------------------ IVR-facing (docs/interfaces.md)

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
        """Commit a ticket for a live call before the caller is queued (first-contact duty)."""
        view = await self.create(
            channel=channel,
            caller=caller,
            line_number=line_number,
            call_id=call_id,
            route=route,
            department_hint=department or "",
            ticket_type=ticket_type or DEFAULT_TYPE,
            text=text,
            actor="ivr",
        )
        return TicketRef(view.id, view.number)

    async def mark_abandoned(self, ticket_id: int, *, stage: str) -> TicketView:
        return await self.act(ticket_id, Abandon(stage=stage), actor="ivr")

    async def record_not_accepted(self, ticket_id: int, *, matter: str) -> TicketView:
        return await self.act(ticket_id, NotAccept(matter=matter), actor="ivr")

    async def close_direct(self, ticket_id: int, *, answer: str, actor: str = "ivr") -> TicketView:
        return await self.act(ticket_id, CloseDirect(answer=answer), actor=actor)

    async def attach_voicemail(self, ticket_id: int, *, recording_path: str) -> TicketView:
        return await self.attach_recording(ticket_id, path=recording_path, kind="voicemail", actor="ivr")

    async def attach_recording(self, ticket_id: int, *, path: str, kind: str, actor: str) -> TicketView:
        path = (path or "").strip()
        if not path:
            raise InvalidInput("recording_path: must not be empty", field="recording_path")
        now = self.now()
        async with self.sessionmaker() as session, session.begin():
            row = await repo.lock(session, ticket_id)
            session.add(TicketRecording(ticket_id=row.id, kind=kind, path=path, created_at=now))
            repo.record_event(session, row, at=now, actor=actor, action=f"attach_{kind}", note=path)
            row.updated_at = now
            await session.flush()
            return TicketView.of(row)

    async def progress_text(self, ticket_number: str) -> str | None:
        """A sentence the IVR can speak for 进度查询; None when the number is unknown."""
        async with self.sessionmaker() as session:
            row = await repo.get_by_number(session, ticket_number.strip())
        if row is None:
            return None
        return progress_sentence(TicketView.of(row))

    # ------------------------------------------------------------------ workflow

    def _check_departments(self, action: Dispatch) -> None:
        """A dispatch to a department nobody answers for strands the ticket: refuse it."""
        known = set(self._departments() or ()) if self._departments else set()
        if not known:
            return
        if action.department.strip() not in known:
            raise InvalidInput(f"department: {action.department!r} is not a department of the dialplan",
                               field="department")
        for i, co in enumerate(action.co_departments):
            if co.strip() not in known:
                raise InvalidInput(f"co_departments.{i}: {co!r} is not a department of the dialplan",
                                   field=f"co_departments.{i}")

    async def act(self, ticket_id: int, action: Action, *, actor: str) -> TicketView:
        if isinstance(action, Dispatch):
            self._check_departments(action)
        now = self.now()
        pub = _Published([], [], [], [])
        async with self.sessionmaker() as session, session.begin():
            row = await repo.lock(session, ticket_id)
            outcome = apply(repo.to_state(row), action, now=now, policy=self.policy, calendar=self.calendar)
            repo.write_state(row, outcome.state, now)
            await repo.sync_co_departments(session, row)
            repo.record_event(session, row, at=now, actor=actor, action=outcome.action,
                              from_status=outcome.from_status.value, note=outcome.note)
            for reason in outcome.supervise:
                key = f"{reason}:{outcome.state.return_count}:{outcome.state.redo_count}"
                if await repo.raise_supervision(
                    session, row, reason=reason, key=key, now=now, actor="system"
                ):
                    pub.supervised.append(SupervisionRaisedEvent(row.id, row.number, reason, now))
            await self._after(session, row, outcome.from_status, outcome.state.status, now)
            await session.flush()
            view = TicketView.of(row)
        pub.transitioned.append(
            TicketTransitionedEvent(
                view.id, view.number, outcome.action, outcome.from_status.value, view.status, actor, now
            )
        )
        self._publish(pub)
        return view

    async def _after(
        self, session: AsyncSession, row: Ticket, old: Status, new: Status, now: datetime
    ) -> None:
        """Side tables that follow a transition, in the same transaction."""
        if new == Status.REPLIED:
            # 100% return visit: every reply gets one, first attempt at once.
            session.add(
                ReturnVisit(
                    ticket_id=row.id,
                    round=row.redo_count + 1,
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                )
            )
        elif old in (Status.REPLIED, Status.VISITING) and new not in (Status.REPLIED, Status.VISITING):
            for visit in await repo.visits(session, row.id):
                if visit.status in ("pending", "calling"):
                    visit.status = "done"
                    visit.result = row.satisfaction or row.closure
                    visit.done_at = now
                    visit.next_attempt_at = None

    async def note_callback(self, *, call_id: str, outcome: str, detail: str) -> None:
        """agent_queue's TicketNotes: a call-back attempt goes on the history of the call's ticket."""
        async with self.sessionmaker() as session:
            row = await repo.get_by_call_id(session, call_id)
        if row is None:
            log.warning("call-back note for a call without a ticket", extra={"fields": {"call": call_id}})
            return
        await self.comment(row.id, note=f"回拨 {outcome}: {detail}".strip(), actor="queue")

    async def comment(self, ticket_id: int, *, note: str, actor: str) -> TicketView:
        """A note on the history without a status change (also the concurrency probe in tests)."""
        note = (note or "").strip()
        if not note:
            raise InvalidInput("note: must not be empty", field="note")
        _storable(note=note)
        now = self.now()
        async with self.sessionmaker() as session, session.begin():
            row = await repo.lock(session, ticket_id)
            repo.record_event(session, row, at=now, actor=actor, action="comment", note=note)
            row.updated_at = now
            return TicketView.of(row)

    async def update(self, ticket_id: int, *, changes: dict[str, str], actor: str) -> TicketView:
        """Edit type/category/title/text while the ticket is open; each change is audited."""
        unknown = sorted(set(changes) - set(EDITABLE))
        if unknown:
            raise InvalidInput(f"{unknown[0]}: not editable (editable: {list(EDITABLE)})", field=unknown[0])
        if "ticket_type" in changes and changes["ticket_type"] not in TICKET_TYPES:
            raise InvalidInput(
                f"type: {changes['ticket_type']!r} is not one of {list(TICKET_TYPES)}", field="type"
            )
        _storable(**{("type" if k == "ticket_type" else k): str(v) for k, v in changes.items()})
        now = self.now()
        pub = _Published([], [], [], [])
        async with self.sessionmaker() as session, session.begin():
            row = await repo.lock(session, ticket_id)
            if Status(row.status) not in OPEN_STATUSES:
                raise IllegalTransition(f"update: ticket is {row.status}; only open tickets can be edited")
            notes = []
            for name, value in changes.items():
                value = str(value).strip()
                if getattr(row, name) != value:
                    notes.append(f"{name}: {getattr(row, name)!r} -> {value!r}")
                    setattr(row, name, value)
            if "ticket_type" in changes and row.status == Status.ACCEPTED.value:
                row.level = self.policy.level_for(row.ticket_type)
            if notes:
                repo.record_event(session, row, at=now, actor=actor, action="update", note="; ".join(notes))
                row.updated_at = now
                if "text" in changes and row.repeat_of_id is None:
                    await self._link_repeats(session, row, now=now, actor=actor, pub=pub)
            await session.flush()
            view = TicketView.of(row)
        self._publish(pub)
        return view

    # ------------------------------------------------------------------ supervision sweep

    async def sweep(self) -> list[tuple[str, str]]:
        """Raise 督办 for tickets whose deadlines passed. Idempotent per reason and deadline."""
        now = self.now()
        raised: list[tuple[str, str]] = []
        statuses = [Status.ACCEPTED.value, Status.DISPATCHED.value, Status.SIGNED.value, Status.HANDLING.value,
                    Status.EXTENSION_REQUESTED.value]  # fmt: skip
        async with self.sessionmaker() as session:
            ids = await repo.open_ids(session, statuses)
        for ticket_id in ids:
            pub = _Published([], [], [], [])
            async with self.sessionmaker() as session, session.begin():
                row = await repo.get(session, ticket_id)
                reasons = overdue_reasons(repo.to_state(row), now)
                if not reasons:
                    continue
                row = await repo.lock(session, ticket_id)
                for reason in overdue_reasons(repo.to_state(row), now):
                    due = row.dispatch_due if reason == "dispatch-overdue" else (
                        row.sign_due if reason == "sign-overdue" else row.handle_due)  # fmt: skip
                    key = f"{reason}:{due.isoformat() if due else ''}"
                    if await repo.raise_supervision(
                        session, row, reason=reason, key=key, now=now, actor="system"
                    ):
                        pub.supervised.append(SupervisionRaisedEvent(row.id, row.number, reason, now))
                        raised.append((row.number, reason))
            self._publish(pub)
        return raised

    # ------------------------------------------------------------------ reads

    async def get(self, ticket_id: int, *, history: bool = True) -> TicketView:
        async with self.sessionmaker() as session:
            row = await repo.get(session, ticket_id)
            if not history:
                return TicketView.of(row)
            return TicketView.of(
                row,
                history=list(await repo.events(session, ticket_id)),
                recordings=list(await repo.recordings(session, ticket_id)),
                supervisions=list(await repo.supervisions(session, ticket_id)),
            )

    async def get_by_number(self, number: str) -> TicketView:
        async with self.sessionmaker() as session:
            row = await repo.get_by_number(session, number)
        if row is None:
            raise NoSuchTicket(f"ticket {number}: no such ticket", field="number")
        return await self.get(row.id)

    async def search(self, f: repo.TicketFilter) -> Sequence[TicketView]:
        async with self.sessionmaker() as session:
            return [TicketView.of(r) for r in await repo.search(session, f)]

    def _publish(self, pub: _Published) -> None:
        # After commit only: a listener never sees a ticket that could still roll back.
        for e in pub.created:
            self.notifier.ticket_created(e)
        for e in pub.linked:
            self.notifier.repeat_linked(e)
        for e in pub.transitioned:
            self.notifier.ticket_transitioned(e)
        for e in pub.supervised:
            self.notifier.supervision_raised(e)


_STATUS_TEXT = {
    Status.ACCEPTED: "已受理，正在安排转办",
    Status.ABANDONED: "来电未完成受理",
    Status.NOT_ACCEPTED: "不属于热线受理范围，已作说明",
    Status.DISPATCHED: "已转交{dept}办理",
    Status.SIGNED: "{dept}已签收，正在办理",
    Status.RETURNED: "正在重新分派承办单位",
    Status.HANDLING: "{dept}正在办理",
    Status.EXTENSION_REQUESTED: "{dept}正在办理，已申请延期",
    Status.REPLIED: "{dept}已答复，等待回访",
    Status.VISITING: "{dept}已答复，正在回访",
    Status.CLOSED: "已办结",
    Status.ARCHIVED: "已办结归档",
}


def progress_sentence(view: TicketView) -> str:
    status = Status(view.status)
    text = _STATUS_TEXT[status].format(dept=view.lead_department or "承办单位")
    sentence = f"您的工单{view.number}{text}。"
    if (
        status in (Status.DISPATCHED, Status.SIGNED, Status.HANDLING, Status.EXTENSION_REQUESTED)
        and view.handle_due
    ):
        d = view.handle_due
        sentence += f"办理时限为{d.year}年{d.month}月{d.day}日。"
    return sentence
