"""Composition root: builds every service once and runs them in one asyncio process.

FastAGI (call flow), AudioSocket (speech), AMI (queues), the database and the web app are
wired here and nowhere else; each service gets what it needs as keyword arguments.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from agent_queue.actions import command
from agent_queue.ami import AmiClient
from agent_queue.callbacks import can_call_back
from agent_queue.control import ControlPolicy, QueueCore
from agent_queue.metrics import QueueCollector
from agent_queue.services import AmiDialer, QueueService, SlaStore
from agent_queue.sla import SlaTracker
from agent_queue.state import AgentSpec
from asr.services import SpeechService, build_speech_service
from config import Settings
from hotline import pbx
from hotline.console import EngineConsole
from hotline.paths import AsteriskPaths, asterisk_paths
from hotline.reconcile import Reconciled, reconcile
from hotline.schema import upgrade
from hotline_merge.compiler import compile_dialplan, write_outputs
from hotline_merge.exceptions import DialplanInvalid
from hotline_merge.loader import load_dialplan
from hotline_merge.models import Dialplan
from hotline_merge.prompts import prompt_catalog as prompt_texts
from hotline_merge.registry import registry_of
from hotline_merge.reload import reload_dialplan
from infra.db import make_engine, make_sessionmaker
from infra.errors import DomainError
from infra.leader import AdvisoryLeader
from infra.logs import log_event
from infra.metrics import Metrics
from ivr.agi import FastAgiServer
from ivr.prompts import PromptLibrary
from ivr.services import CallService
from knowledge import repository as kb_repo
from knowledge.services import STARTER, KnowledgeService
from knowledge.state import Actor
from tickets.calendar import load_calendar
from tickets.group_commit import GroupCommitter
from tickets.metrics import TicketCollector
from tickets.policy import load_policy
from tickets.return_visit import ReturnVisitService
from tickets.services import TicketService
from web.app import create_app
from web.desktop import SIP_JS
from web.desktop_hub import DeskReference, DesktopHub
from web.metrics import MetricsSource

log = logging.getLogger("hotline.engine")
# pg_advisory_lock key of the queue controller ("hotline queue" as one bigint: any fixed number).
QUEUE_LEADER_KEY = 12345_0001


def agent_specs(plan: Dialplan) -> list[AgentSpec]:
    """The dialplan's seats as the queue manager sees them: the queues each one serves."""
    reg = registry_of(plan)
    serves: dict[str, set[str]] = {a.id: set() for a in plan.agents}
    experts: set[str] = set()
    for queue in plan.queues:
        for member in reg.queue_members(queue):
            serves.setdefault(member.agent, set()).add(queue.name)
        for member in reg.queue_members(queue, experts=True):
            serves.setdefault(member.agent, set()).add(queue.expert_queue)
            experts.add(member.agent)
    general = reg.general_queue
    devices = {a.id: a.interface for a in plan.agents}
    return [
        AgentSpec(id=agent, skills=frozenset(queues or {general}), expert=agent in experts,
                  home=general if general in queues else "", device=devices.get(agent, ""))
        for agent, queues in sorted(serves.items())
    ]


def _compile_into(plan: Dialplan, out_dir: Path) -> None:
    write_outputs(compile_dialplan(plan), out_dir)


class EngineError(DomainError):
    """The engine cannot start; the message names what is wrong."""

    error_id = "engine-start-failed"


@dataclass(frozen=True)
class ReloadRecord:
    """One load of the dialplan, kept for the admin console and appended to the audit file."""

    version: int
    at: float  # epoch seconds
    actor: str
    path: str
    ok: bool
    errors: tuple[str, ...] = ()
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"version": self.version, "at": self.at, "actor": self.actor, "path": self.path, "ok": self.ok,
                "errors": list(self.errors), "seconds": round(self.seconds, 3)}


@dataclass
class DialplanHolder:
    """The running dialplan; a reload swaps `current` in one assignment, so a call sees
    either the old plan or the new one, never a mix."""

    current: Dialplan
    path: Path
    version: int = 1
    loaded_at: float = field(default_factory=time.time)
    loaded_by: str = "start-up"
    history: list[ReloadRecord] = field(default_factory=list)


@dataclass
class Engine:
    settings: Settings
    agi: FastAgiServer | None = None
    ami: AmiClient | None = None
    db_engine: AsyncEngine | None = None
    tickets: TicketService | None = None
    knowledge: KnowledgeService | None = None
    # The IVR's ticket creates go through one group-committing writer (tickets.group_commit).
    ticket_writer: GroupCommitter | None = None
    dialplan: DialplanHolder | None = None
    prompts: PromptLibrary | None = None
    calls: CallService | None = None
    speech: SpeechService | None = None
    queue_manager: QueueService | None = None
    visits: ReturnVisitService | None = None
    web_runner: web.AppRunner | None = None
    desktop: DesktopHub | None = None
    metrics: Metrics = field(default_factory=Metrics)  # one registry per engine, passed down
    ticket_metrics: TicketCollector | None = None
    paths: AsteriskPaths | None = None
    _reload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _collectors: dict[str, Any] = field(default_factory=dict)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _background: list[asyncio.Task] = field(default_factory=list)
    queue_leader: AdvisoryLeader | None = None
    _listening_since: float | None = None  # the queue manager's start, for queue_log reconciliation

    async def start(self) -> None:
        s = self.settings
        s.var_dir.mkdir(parents=True, exist_ok=True)
        self.paths = asterisk_paths(s)
        await self._open_database()
        self._load_dialplan()
        if self.paths.origin == "settings":
            # Asterisk's include folder holds what the engine runs; Asterisk reads it at its next
            # reload (SIGHUP to the engine does both). The dev PBX compiles at its own start.
            assert self.dialplan is not None
            await asyncio.to_thread(_compile_into, self.dialplan.current, self.paths.config_dir)
        await self._check_answers()
        await self._render_prompts()
        self._build_speech()
        await self._connect_ami()
        self._build_calls()
        await self.start_agi()
        await self._start_speech_server()
        await self._start_web()
        log_event(log, "engine started", agi=f"{s.engine.agi_host}:{s.engine.agi_port}",
                  database=s.database_url.split("://")[0], dialplan=str(s.dialplan.path),
                  asterisk_config=str(self.paths.config_dir), layout=self.paths.origin)

    # -- pieces -------------------------------------------------------------------
    async def _open_database(self) -> None:
        url = self.settings.database_url
        await upgrade(url)
        self.db_engine = make_engine(url)
        self.tickets = TicketService(
            sessionmaker=make_sessionmaker(self.db_engine),
            policy=load_policy(self.settings.tickets.policy),
            calendar=load_calendar(self.settings.tickets.calendar_file),
            # read at each dispatch, so a reloaded dialplan's departments count at once
            departments=lambda: [d.name for d in self.dialplan.current.departments] if self.dialplan else None,
        )
        self.ticket_writer = GroupCommitter(self.tickets)
        await self._open_knowledge()

    async def _open_knowledge(self) -> None:
        self.knowledge = KnowledgeService(sessionmaker=make_sessionmaker(self.db_engine))
        async with self.knowledge.sessionmaker() as session:
            empty = await kb_repo.count(session) == 0
        if empty:
            # A fresh install answers from the starter set; departments then edit and re-approve.
            report = await self.knowledge.import_file(STARTER, actor=Actor("starter-set", "admin"))
            log_event(log, "knowledge base seeded with the starter set", articles=len(report.created))

    async def _check_answers(self) -> None:
        """Self-service answers that reference an unpublished article play the fallback: say so once."""
        if self.dialplan is None or self.knowledge is None:
            return  # an engine without a database (tests, reload-only tools) has no articles to check
        for answer in self.dialplan.current.selfservice:
            if answer.article and await self.knowledge.published(answer.article) is None:
                log_event(log, "self-service answer references an unpublished article", logging.WARNING,
                          answer=answer.id, article=answer.article)

    def _load_dialplan(self) -> None:
        path = self.settings.dialplan.path
        try:
            plan = load_dialplan(path)
        except DialplanInvalid as exc:
            raise EngineError("dialplan invalid:\n" + "\n".join(str(e) for e in exc.errors)) from exc
        self.dialplan = DialplanHolder(current=plan, path=path)

    async def _render_prompts(self) -> None:
        assert self.paths is not None
        self.prompts = PromptLibrary(
            host_dir=self.paths.sounds_host_dir,
            pbx_dir=self.paths.sounds_dir,
            recordings_dir=self.settings.dialplan.path / "recordings"
            if self.settings.dialplan.path.is_dir() else None,
        )
        assert self.dialplan is not None
        await self.prompts.render_all(prompt_texts(self.dialplan.current))

    def _build_speech(self) -> None:
        # Always built: without a usable model it reports unavailable and menus use the keypad.
        self.speech = build_speech_service(self.settings, metrics=self.metrics)
        if self.dialplan is not None:
            # The department model trains here, at start-up, not on the first caller's words.
            self.speech.matcher(self.dialplan.current)

    async def _connect_ami(self) -> None:
        # start() returns at once and keeps (re)connecting with backoff in the background:
        # the engine serves calls even while Asterisk restarts.
        self.ami = AmiClient.from_settings(self.settings)
        await self.ami.start()
        await self._start_queue_manager()
        self._start_return_visits()

    async def _start_queue_manager(self) -> None:
        assert self.dialplan is not None and self.db_engine is not None
        # Engines sharing one PostgreSQL elect one queue controller; on SQLite this one leads.
        self.queue_leader = AdvisoryLeader(self.db_engine, key=QUEUE_LEADER_KEY, name="queue-controller")
        await self.queue_leader.start()
        self.queue_manager = QueueService(
            client=self.ami,
            core=QueueCore(specs=agent_specs(self.dialplan.current), tracker=SlaTracker(), policy=ControlPolicy()),
            store=SlaStore(make_sessionmaker(self.db_engine)),
            notes=self.tickets,  # call-back attempts are recorded on the caller's ticket
            callback_channel="PJSIP/{number}@outbound",
            leader=self.queue_leader,
            metrics=self.metrics,
        )
        self._listening_since = None  # a restart in the same process counts everything again
        await self.reconcile_queue_log()  # before start(): it loads the tracker from the table
        # queue_log times are whole seconds, rounded down: a call logged before this second joined
        # before start() subscribed, so the live tracker cannot also have counted it.
        self._listening_since = float(int(time.time()))
        await self.queue_manager.start()
        self._collect("queue", QueueCollector(core=self.queue_manager.core, clock=time.time))

    def _collect(self, name: str, collector: Any) -> None:
        """Register a scrape-time collector; an engine started again (after close) replaces its old
        one, since the registry refuses a second collector of the same series."""
        old = self._collectors.pop(name, None)
        if old is not None:
            self.metrics.registry.unregister(old)
        self.metrics.registry.register(collector)
        self._collectors[name] = collector

    async def reconcile_queue_log(self) -> Reconciled:
        """Count and ticket the queue calls Asterisk recorded that this engine did not see."""
        assert self.db_engine is not None and self.tickets is not None
        assert self.paths is not None
        got = await reconcile(
            self.paths.queue_log, sessionmaker=make_sessionmaker(self.db_engine),
            tickets=self.tickets, now=time.time(), joined_before=self._listening_since,
        )  # fmt: skip
        if self._listening_since is not None and self.queue_manager is not None:
            for outcome in got.outcomes:
                self.queue_manager.core.tracker.record(outcome)
        return got

    def _start_return_visits(self) -> None:
        dialer = AmiDialer(client=self.ami, channel="PJSIP/{number}@outbound", context="hotline-survey")
        self.visits = ReturnVisitService(tickets=self.tickets, dialer=dialer)
        self._background.append(asyncio.create_task(self._periodic_ticket_jobs(), name="ticket-jobs"))

    async def _periodic_ticket_jobs(self, every_s: float = 60.0) -> None:
        """督办 for overdue tickets, due return visits, tickets for answered calls the IVR did not
        ticket and calls it did not count (queue_log); one failure never stops the loop."""
        jobs = (("sweep", self.tickets.sweep), ("return visits", self.visits.run_due),
                ("queue_log", self.reconcile_queue_log), ("knowledge expiry", self.knowledge.sweep))  # fmt: skip
        while True:
            await asyncio.sleep(every_s)
            for name, job in jobs:
                try:
                    await job()
                except Exception as exc:  # noqa: BLE001 - logged, retried next round
                    log_event(log, f"periodic {name} failed", logging.ERROR, error=repr(exc))

    def _build_calls(self) -> None:
        assert self.paths is not None
        self.calls = CallService(
            dialplan=self.dialplan,
            prompts=self.prompts,
            tickets=self.ticket_writer,
            visits=self.visits,
            speech=self.speech,
            answers=self.knowledge,
            emergency_dial=self.settings.pbx.emergency_dial,
            recording_dir=self.paths.recordings_dir,
            grammar=self.settings.asr.mode == "grammar",
            host_path=self.paths.recording_host,
            metrics=self.metrics,
            callback_reachable=can_call_back if self.queue_manager.core.policy.callbacks else None,
        )

    async def start_agi(self) -> None:
        assert self.calls is not None
        self.agi = FastAgiServer(self.calls.handlers(), max_calls=self.settings.engine.max_calls)
        await self.agi.start(self.settings.engine.agi_host, self.settings.engine.agi_port)

    async def stop_agi(self, grace: float = 10.0) -> None:
        if self.agi is not None:
            await self.agi.close(timeout=grace)
            self.agi = None

    async def _start_speech_server(self) -> None:
        assert self.speech is not None
        await self.speech.start(self.settings.engine.audiosocket_host, self.settings.engine.audiosocket_port)

    async def _start_web(self) -> None:
        assert self.calls is not None and self.tickets is not None
        # The agent desktop hears the same AMI events as the queue manager (subscribed after it,
        # so the board is current) and reads the IVR's journal for the screen pop.
        self.desktop = DesktopHub(queue=self.queue_manager, tickets=self.tickets, call_info=self.calls.journal.get,
                                  reference=self._desk_reference, softphone=self._softphone)
        self.desktop.attach(self.ami)
        self.ticket_metrics = TicketCollector(sessionmaker=self.tickets.sessionmaker, now=self.tickets.now,
                                              metrics=self.metrics)
        self._collect("tickets", self.ticket_metrics)
        console = EngineConsole(self)
        app = create_app(
            tickets=self.tickets, settings=self.settings, answer_rate=self._answer_rate,
            knowledge=self.knowledge, desktop=self.desktop,
            metrics_source=MetricsSource(self.metrics.registry, refresh=(self.ticket_metrics.refresh,)),
            readiness={"database": self._database_ready, "ami": self._ami_ready, "agi": self._agi_ready},
            wallboard_source=console, admin_port=console,
        )
        self.web_runner = web.AppRunner(app, access_log=None)
        await self.web_runner.setup()
        site = web.TCPSite(self.web_runner, self.settings.engine.web_host, self.settings.engine.web_port)
        await site.start()

    def _softphone(self, seat: str) -> dict[str, str] | None:
        """The seat's WebRTC endpoint on the PBX (pbx.py generates <seat>-web beside <seat>)."""
        passwords = pbx.ensure_secrets(self.settings).get("agents", {})
        if seat not in passwords or not SIP_JS.is_dir():
            return None
        web = pbx.web_endpoint(seat)
        host = self.settings.pbx.sip_bind if self.settings.pbx.sip_bind not in ("0.0.0.0", "") else "127.0.0.1"
        return {"aor": f"sip:{web}@{host}", "username": web, "password": passwords[seat], "display_name": seat,
                "ws": f"wss://{{host}}:{pbx.wss_port(self.settings)}/ws"}

    def _desk_reference(self) -> DeskReference:
        """The running dialplan's departments, lines, queues and self-service answers for the desk."""
        assert self.dialplan is not None
        plan = self.dialplan.current
        return DeskReference(
            departments=[d.name for d in plan.departments],
            lines={ln.number: {"name": ln.name, "department": ln.department, "mode": ln.mode,
                               "handoff": ln.handoff.queue if ln.handoff else None} for ln in plan.lines},
            knowledge=[{"title": a.title, "text": a.text, "department": a.department or ""} for a in plan.selfservice],
            queues={q.name: q.description or q.name for q in plan.queues},
        )

    async def _database_ready(self) -> str | None:
        with self.metrics.db_timer("readiness"):
            async with self.db_engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        return None

    async def _ami_ready(self) -> str | None:
        if self.ami is None or not getattr(self.ami, "connected", False):
            return f"not connected to Asterisk's AMI at {self.settings.ami.host}:{self.settings.ami.port}"
        return None

    async def _agi_ready(self) -> str | None:
        if self.agi is None or not self.agi.listening:
            return f"FastAGI not listening on {self.settings.engine.agi_host}:{self.settings.engine.agi_port}"
        return None

    def _answer_rate(self, _start: Any = None, _end: Any = None) -> float | None:
        """接通率 for reports: the queue tracker's rolling 24-hour figure."""
        if self.queue_manager is None:
            return None
        figures = self.queue_manager.core.tracker.figures(time.time())
        return figures.answer_rate if figures.offered else None

    # -- hot reload -----------------------------------------------------------------
    async def reload_dialplan(self, *, actor: str = "SIGHUP", path: Path | None = None) -> bool:
        """Validate, compile into the configured Asterisk's include folder, swap atomically and
        reload Asterisk; an invalid file changes nothing. Loading, checking and compiling run in
        a worker thread, so calls keep flowing on the event loop while a large plan is read."""
        assert self.dialplan is not None and self.prompts is not None and self.paths is not None
        async with self._reload_lock:
            started = time.perf_counter()
            path = path or self.dialplan.path
            outcome = await asyncio.to_thread(reload_dialplan, path, self.dialplan.current)
            errors = [str(issue) for issue in outcome.errors]
            if outcome.dialplan is None:
                for issue in errors:
                    log_event(log, "dialplan reload refused", logging.ERROR, issue=issue, actor=actor)
                self._audit(ReloadRecord(self.dialplan.version, time.time(), actor, str(path), False,
                                         tuple(errors), time.perf_counter() - started))
                return False
            plan = outcome.dialplan
            await self.prompts.render_all(prompt_texts(plan))
            if self.speech is not None:
                await asyncio.to_thread(self.speech.matcher, plan)  # train before the swap, off the loop
            await asyncio.to_thread(_compile_into, plan, self.paths.config_dir)
            self.dialplan.current, self.dialplan.path = plan, path
            self.dialplan.version += 1
            self.dialplan.loaded_at, self.dialplan.loaded_by = time.time(), actor
            await self._check_answers()
            if self.ami is not None and self.ami.connected:
                for cli in ("dialplan reload", "queue reload all"):
                    await self.ami.send(command(cli))
            took = time.perf_counter() - started
            self._audit(ReloadRecord(self.dialplan.version, self.dialplan.loaded_at, actor, str(path), True,
                                     seconds=took))
            log_event(log, "dialplan reloaded", version=self.dialplan.version, actor=actor, changes=len(outcome.changes),
                      config_dir=str(self.paths.config_dir), seconds=round(took, 2))
            return True

    def _audit(self, record: ReloadRecord) -> None:
        assert self.dialplan is not None
        self.dialplan.history.append(record)
        del self.dialplan.history[:-50]
        try:
            with (self.settings.var_dir / "dialplan-reloads.jsonl").open("a", encoding="utf-8") as f:
                f.write(json.dumps(record.as_dict(), ensure_ascii=False) + "\n")
        except OSError as exc:
            log_event(log, "reload audit not written", logging.ERROR, error=str(exc))

    # -- lifecycle --------------------------------------------------------------------
    def request_stop(self) -> None:
        self._stop.set()

    async def run_until_stopped(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, self.request_stop)
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self.reload_dialplan()))
        await self._stop.wait()

    async def close(self, timeout: float = 10.0) -> None:
        await self.stop_agi()
        if self.queue_manager is not None:
            await self.queue_manager.stop()
        if self.queue_leader is not None:
            await self.queue_leader.stop()
        if self.speech is not None:
            await self.speech.close()
        if self.web_runner is not None:
            await self.web_runner.cleanup()
        if self.desktop is not None:
            await self.desktop.close()
        if self.ami is not None:
            await self.ami.close()
        for task in self._background:
            task.cancel()
        for task in self._background:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, timeout)
        if self.ticket_writer is not None:
            await self.ticket_writer.close()  # after stop_agi: no IVR create is waiting any more
        if self.db_engine is not None:
            await self.db_engine.dispose()
        log_event(log, "engine stopped")
