"""The live side of the agent desktop: AMI queue events in, per-seat state and screen pops out.

The composition root builds one `DesktopHub` with the queue manager (agent_queue.services.
QueueService), the ticket service, the IVR call journal's `get` and the dialplan's reference
data, and subscribes it to the AMI client. Every open desktop tab of a seat holds one SSE
stream (`subscribe`); the hub pushes `state`, `pop` and `ticket` messages to all of them, so
two tabs show the same thing and a reconnecting tab gets the current state and pop at once.

Agent state changes go to the PBX (QueueAdd / QueueRemove / QueuePause) and come back as
QueueMember* events: the page shows what Asterisk says, whether the change came from the page
or from a feature code (*11 / *12 / *13).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from agent_queue import actions
from agent_queue.callbacks import CallbackKind, CallbackRequest
from agent_queue.events import (
    AgentCalledEvent,
    AgentCompletedEvent,
    AgentConnectedEvent,
    AgentNotAnsweredEvent,
    AmiEvent,
    CallerAbandonedEvent,
    MemberAddedEvent,
    MemberPausedEvent,
    MemberRemovedEvent,
    MemberStatusChangedEvent,
    QueueSnapshotEvent,
)
from agent_queue.state import AgentState
from infra.logs import log_event, mask_phone
from tickets.repository import TicketFilter
from tickets.state import OPEN_STATUSES

log = logging.getLogger("web.desktop")
PAUSE_REASONS = ("休息", "培训", "会议")
ACW_REASON = "话后整理"
STATE_NAMES = {
    "logged_out": "未签入", "idle": "就绪", "ringing": "振铃", "talking": "通话中",
    "wrapup": "话后整理", "paused": "示忙",
}  # fmt: skip
MODE_NAMES = {"main": "12345主线", "merged": "整体并入", "parallel": "双号并行", "subcenter": "设分中心"}


@dataclass
class DeskReference:
    """What the dialplan knows that the desk needs: departments, lines, self-service answers."""

    departments: list[str] = field(default_factory=list)
    lines: dict[str, dict[str, Any]] = field(default_factory=dict)  # number -> name, department, mode, handoff
    knowledge: list[dict[str, str]] = field(default_factory=list)  # title, text, department
    queues: dict[str, str] = field(default_factory=dict)  # queue -> description


def _seat(interface: str, member_name: str = "") -> str:
    return member_name if member_name and "/" not in member_name else interface.split("/", 1)[-1]


class DesktopHub:
    def __init__(
        self,
        *,
        queue: Any,
        tickets: Any,
        call_info: Callable[[str], dict[str, Any] | None] = lambda uid: None,
        reference: Callable[[], DeskReference] = DeskReference,
        softphone: Callable[[str], dict[str, Any] | None] = lambda seat: None,
        acw_max_s: float = 120.0,
        repeat_days: int = 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.queue = queue
        self.tickets = tickets
        self.call_info = call_info
        self.reference = reference
        self.softphone = softphone  # seat -> WebRTC account (aor, username, password, ws) or None
        self.acw_max_s = acw_max_s
        self.repeat_days = repeat_days
        self.clock = clock
        self._streams: dict[str, set[asyncio.Queue[tuple[str, dict[str, Any]]]]] = {}
        self.pops: dict[str, dict[str, Any]] = {}  # seat -> the last screen pop
        self._acw: dict[str, tuple[float, asyncio.Task[None]]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.pop_times: list[tuple[str, float, float]] = []  # (uniqueid, AgentCalled seen, pop pushed)

    def attach(self, client: Any) -> Callable[[], None]:
        """Subscribe to the AMI client (after the queue manager, so its board is already updated)."""
        return client.subscribe(AmiEvent, self.on_event)

    async def close(self) -> None:
        for _, task in self._acw.values():
            task.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, *(t for _, t in self._acw.values()), return_exceptions=True)

    # -- streams ---------------------------------------------------------------------
    def subscribe(self, seat: str) -> asyncio.Queue[tuple[str, dict[str, Any]]]:
        q: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue(maxsize=256)
        self._streams.setdefault(seat, set()).add(q)
        q.put_nowait(("state", self.state(seat)))
        if seat in self.pops:
            q.put_nowait(("pop", self.pops[seat]))
        return q

    def unsubscribe(self, seat: str, q: asyncio.Queue[Any]) -> None:
        self._streams.get(seat, set()).discard(q)

    def end_streams(self) -> None:
        for seat in list(self._streams):
            self.publish(seat, "close", {})

    def watching(self, seat: str) -> bool:
        return bool(self._streams.get(seat))

    def publish(self, seat: str, kind: str, data: dict[str, Any]) -> None:
        for q in list(self._streams.get(seat, ())):
            with contextlib.suppress(asyncio.QueueFull):  # a stuck tab drops messages, reconnect resyncs
                q.put_nowait((kind, data))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- state -----------------------------------------------------------------------
    def _agent(self, seat: str) -> Any:
        if self.queue is None:
            return None
        return self.queue.core.board.agents.get(seat)

    def state(self, seat: str) -> dict[str, Any]:
        agent = self._agent(seat)
        if agent is None:
            return {"seat": seat, "state": "unknown", "label": "未连接排队系统", "queues": [], "reason": ""}
        st = agent.state.value
        acw = self._acw.get(seat)
        if agent.state is AgentState.PAUSED and agent.pause_reason == ACW_REASON:
            st = "wrapup"
        return {
            "seat": seat, "state": st, "label": STATE_NAMES.get(st, st),
            "queues": sorted(agent.queues), "reason": agent.pause_reason if st == "paused" else "",
            "since": agent.since, "now": self.clock(),
            "acw": {"started": acw[0], "max_s": self.acw_max_s} if acw else None,
            "home_queue": agent.spec.home_queue,
        }  # fmt: skip

    async def set_state(self, seat: str, action: str, reason: str = "") -> None:
        """Ask the PBX for a state change; the QueueMember* event that follows updates the pages."""
        agent = self._agent(seat)
        if agent is None:
            raise DeskError("排队系统未连接", status=503)
        client = self.queue.client
        if action == "login":
            if agent.queues:
                return
            await self.queue.login(seat)
        elif action == "logout":
            self._end_acw(seat)
            await self.queue.logout(seat)
        elif action in ("ready", "pause"):
            if not agent.queues:
                raise DeskError("请先签入队列", status=409)
            if action == "pause" and reason not in PAUSE_REASONS:
                raise DeskError(f"示忙原因须为 {'、'.join(PAUSE_REASONS)}", status=422)
            self._end_acw(seat)
            await client.send(actions.queue_pause(interface=agent.spec.interface, paused=action == "pause",
                                                  reason=reason if action == "pause" else "desktop"))
        else:
            raise DeskError(f"未知操作 {action!r}", status=422)
        log_event(log, "agent state requested", seat=seat, action=action, reason=reason)

    def _end_acw(self, seat: str) -> None:
        acw = self._acw.pop(seat, None)
        if acw is not None:
            acw[1].cancel()

    async def _start_acw(self, seat: str) -> None:
        """话后整理: the seat is paused with reason 话后整理 until the agent is ready or the maximum passes."""
        agent = self._agent(seat)
        if agent is None or not agent.queues:
            return
        self._end_acw(seat)
        await self.queue.client.send(actions.queue_pause(interface=agent.spec.interface, paused=True,
                                                         reason=ACW_REASON))
        self._acw[seat] = (self.clock(), asyncio.create_task(self._acw_timeout(seat)))
        self.publish(seat, "state", self.state(seat))

    async def _acw_timeout(self, seat: str) -> None:
        await asyncio.sleep(self.acw_max_s)
        self._acw.pop(seat, None)
        agent = self._agent(seat)
        if agent is not None and agent.pause_reason == ACW_REASON:
            await self.queue.client.send(actions.queue_pause(interface=agent.spec.interface, paused=False,
                                                             reason="acw-max"))
            log_event(log, "after-call work ended at the maximum", seat=seat, max_s=self.acw_max_s)

    # -- AMI events ------------------------------------------------------------------
    async def on_event(self, ev: AmiEvent) -> None:
        match ev:
            case AgentCalledEvent():
                seat = _seat(ev.interface, ev.member_name)
                self.publish(seat, "state", self.state(seat))
                if self.watching(seat):
                    self._spawn(self._pop(seat, ev.uniqueid, ev.queue, self.clock()))
            case AgentConnectedEvent():
                seat = _seat(ev.interface, ev.member_name)
                pop = self.pops.get(seat)
                if pop and pop["uniqueid"] == ev.uniqueid:
                    pop["answered"] = True
                    pop["waited_s"] = ev.hold_time
                self.publish(seat, "state", self.state(seat))
            case AgentCompletedEvent():
                seat = _seat(ev.interface, ev.member_name)
                if self.watching(seat):
                    self._spawn(self._start_acw(seat))
                self.publish(seat, "state", self.state(seat))
            case AgentNotAnsweredEvent():
                seat = _seat(ev.interface, ev.member_name)
                self.publish(seat, "state", self.state(seat))
            case CallerAbandonedEvent():
                for seat, pop in self.pops.items():
                    if pop["uniqueid"] == ev.uniqueid and not pop.get("answered"):
                        pop["abandoned"] = True
                        self.publish(seat, "pop", pop)
            case MemberAddedEvent() | MemberRemovedEvent() | MemberPausedEvent() | MemberStatusChangedEvent():
                seat = _seat(ev.interface, ev.member_name)
                if isinstance(ev, MemberPausedEvent) and not (ev.paused and ev.paused_reason == ACW_REASON):
                    self._end_acw(seat)  # a pause or unpause from elsewhere (feature code) ends ACW
                self.publish(seat, "state", self.state(seat))
            case QueueSnapshotEvent():
                for seat in list(self._streams):
                    self.publish(seat, "state", self.state(seat))
            case _:
                pass

    # -- screen pop ------------------------------------------------------------------
    async def _pop(self, seat: str, uniqueid: str, queue: str, seen_at: float) -> None:
        try:
            pop = await self.build_pop(uniqueid, queue)
        except Exception as exc:  # noqa: BLE001 - a pop without the extras beats none
            log_event(log, "screen pop incomplete", logging.WARNING, call=uniqueid, error=repr(exc))
            pop = {"uniqueid": uniqueid, "queue": queue, "error": "来电信息读取失败"}
        self.pops[seat] = pop
        self.publish(seat, "pop", pop)
        self.pop_times.append((uniqueid, seen_at, self.clock()))
        del self.pop_times[:-1000]

    async def build_pop(self, uniqueid: str, queue: str) -> dict[str, Any]:
        info = self.call_info(uniqueid) or {}
        decision = info.get("decision") or {}
        ticket = None
        found = await self.tickets.search(TicketFilter(call_id=uniqueid, limit=1))
        if found:
            ticket = found[0]
        waiting = self.queue.core.board.waiting.get(uniqueid) if self.queue is not None else None
        caller = (ticket.caller if ticket else "") or info.get("caller") or (waiting.caller_id if waiting else "")
        ref = self.reference()
        line_no = decision.get("line_number") or (ticket.line_number if ticket else "") or info.get("dnis", "")
        line = ref.lines.get(line_no, {})
        speech = [s for s in info.get("steps", []) if s.get("said")]
        department = decision.get("department") or (ticket.department_hint if ticket else "") or ""
        repeat = await self._recent(caller, exclude=ticket.id if ticket else None)
        now = self.clock()
        return {
            "uniqueid": uniqueid,
            "queue": queue,
            "queue_name": ref.queues.get(queue, queue),
            "caller": mask_phone(caller) if caller else "未知号码",
            "line": {
                "number": line_no, "name": decision.get("line_name") or line.get("name", ""),
                "mode": decision.get("mode") or line.get("mode", ""),
                "mode_name": MODE_NAMES.get(decision.get("mode") or line.get("mode", ""), ""),
                "department": line.get("department", ""), "handoff": line.get("handoff"),
            },
            "ivr": {
                "path": [{"prompt": s["prompt"], "text": s.get("text", ""), "keys": s["keys"], "said": s["said"]}
                         for s in info.get("steps", [])],
                "keys": info.get("keys", ""),
                "route": decision.get("route") or (ticket.route if ticket else ""),
            },
            "speech": [{"said": s["said"], "intent": s["intent"], "department": s["department"],
                        "confidence": s["confidence"]} for s in speech],
            "waited_s": round(now - waiting.joined_at) if waiting else None,
            "in_ivr_s": round(now - info["started"]) if info.get("started") else None,
            "ticket": _ticket(ticket) if ticket else None,
            "repeat": repeat,
            "suggestion": {"department": department, "type": ticket.ticket_type if ticket else "咨询"},
        }  # fmt: skip

    async def _recent(self, caller: str, *, exclude: int | None) -> list[dict[str, Any]]:
        if not caller:
            return []
        since = self.tickets.now() - timedelta(days=self.repeat_days)
        views = await self.tickets.search(TicketFilter(caller=caller, accepted_from=since, limit=20))
        rows = [_ticket(v) for v in views if v.id != exclude]  # newest first from the search
        return sorted(rows, key=lambda t: not t["open"])  # open first, stable keeps newest first

    # -- call-back request ------------------------------------------------------------
    def request_callback(self, *, ticket_id: int, number: str, queue: str) -> bool:
        if self.queue is None or not number:
            return False
        now = self.clock()
        req = CallbackRequest(kind=CallbackKind.ABANDONED, queue=queue or "hotline-general",
                              uniqueid=f"desk-{ticket_id}", number=number, joined_at=now, requested_at=now,
                              due_by=now + 4 * 3600)  # fmt: skip
        return bool(self.queue.core.book.add(req))


class DeskError(Exception):
    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.status = message, status


def _ticket(v: Any) -> dict[str, Any]:
    d = v.as_dict(mask=True)
    return {
        "id": v.id, "number": v.number, "status": v.status, "type": v.ticket_type, "title": d["title"],
        "text": d["text"], "category": v.category, "lead_department": v.lead_department,
        "co_departments": list(v.co_departments), "department_hint": v.department_hint,
        "accepted_at": d["accepted_at"], "due": d["due"], "open": v.status in OPEN_STATUSES,
        "version": v.version,
    }  # fmt: skip
