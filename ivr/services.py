"""The call-flow engine: runs hotline_merge's pure CallFlow over one AGI session.

The flow decides (menus, emergencies, not-accepted matters, self-service, hours); this module
only plays, collects, listens, writes the ticket and hands the decision to the dialplan through
channel variables. Anything that goes wrong leaves IVR_ACTION unset, and the dialplan then
queues the caller in the line's fallback queue: a failure here never strands a caller.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hotline_merge.decision import RoutingDecision
from hotline_merge.flow import CallFlow, Collect, DigitsEntered, Finish, NoInput, Play, Played, SpeechHeard
from infra.logs import log_event
from infra.metrics import Metrics
from ivr.agi import AgiChannel, AgiRequest, Handler
from ivr.channel_vars import ChannelVar, IvrAction
from ivr.exceptions import AgiDeadChannel, AgiHangup
from ivr.journal import CallJournal, IvrStep
from ivr.ports import AnswerPort, DialplanPort, PromptPort, SpeechPort, TicketPort, TicketRefLike, VisitPort

log = logging.getLogger("ivr.calls")
TZ = ZoneInfo("Asia/Shanghai")
DTMF_KEYS = "0123456789*#"
# The flow's ticket-type hints in the seeds' five types; other hints leave the default.
TICKET_TYPES = {"consultation": "咨询", "complaint": "投诉", "report": "举报", "help": "求助", "suggestion": "建议"}


SURVEY_ATTEMPTS = 3
SURVEY_THANKS = "感谢您对12345热线工作的评价，再见。"
SILENCE = "silence/1"  # from Asterisk's core sounds: GET DATA without a prompt


@dataclass
class TypeAhead:
    """Keys pressed while a prompt played, kept for the next question."""

    keys: str = ""

    def add(self, digit: str | None) -> None:
        if digit:
            self.keys += digit

    def take(self, n: int) -> str:
        taken, self.keys = self.keys[:n], self.keys[n:]
        return taken


def _journal_step(step: Collect, heard: Any) -> IvrStep:
    text = step.text[:40]
    if isinstance(heard, DigitsEntered):
        return IvrStep(step.prompt_id, text, keys=heard.digits)
    if isinstance(heard, SpeechHeard):
        return IvrStep(step.prompt_id, text, said=heard.text, intent=heard.kind, department=heard.department or "",
                       confidence=round(heard.confidence, 2))
    return IvrStep(step.prompt_id, text)


# hotline_calls{outcome}: what became of the call, in words an operator reads.
_OUTCOMES = {"queue": "queued", "transfer": "transferred", "explain": "not_accepted", "done": "done"}


@dataclass
class CallStats:
    """Counters the wallboard reads (/metrics keeps its own, infra/metrics.py)."""

    calls: int = 0
    queued: int = 0
    transferred: int = 0
    emergencies: int = 0
    not_accepted: int = 0
    selfservice: int = 0
    voicemail: int = 0
    abandoned: int = 0
    engine_failures: int = 0
    speech_turns: int = 0
    by_route: dict[str, int] = field(default_factory=dict)


class CallService:
    def __init__(
        self,
        *,
        dialplan: DialplanPort,
        prompts: PromptPort,
        tickets: TicketPort,
        visits: VisitPort | None = None,
        speech: SpeechPort | None = None,
        answers: AnswerPort | None = None,
        emergency_dial: str = "PJSIP/{number}@emergency",
        recording_dir: str = "/var/spool/asterisk/hotline-recordings",
        host_path: Callable[[str], Path] = Path,
        clock: Callable[[], datetime] | None = None,
        db_timeout: float = 3.0,
        grammar: bool = True,
        journal: CallJournal | None = None,
        metrics: Metrics | None = None,
        callback_reachable: Callable[[str], bool] | None = None,
    ) -> None:
        self.dialplan = dialplan
        self.metrics = metrics or Metrics()
        self.prompts = prompts
        self.tickets = tickets
        self.visits = visits
        self.speech = speech
        self.answers = answers
        self.emergency_dial = emergency_dial
        self.recording_dir = recording_dir
        self.host_path = host_path
        self.clock = clock or (lambda: datetime.now(TZ))
        self.db_timeout = db_timeout
        # Grammar mode (the plan's phrases + [unk]) is far cheaper and, for intents, more accurate.
        self.grammar = grammar
        # Whether a caller ID can be called back (the queue manager's rule); None: no call-backs.
        self.callback_reachable = callback_reachable
        self.stats = CallStats()
        self.journal = journal or CallJournal()  # the IVR path the agent's screen pop shows

    def handlers(self) -> dict[str, Handler]:
        return {"call": self.handle_call, "survey": self.handle_survey}

    # ------------------------------------------------------------------ one call
    async def handle_call(self, agi: AgiChannel) -> None:
        req = agi.request
        dnis = req.arguments[0] if req.arguments else (req.dnid or req.extension)
        self.stats.calls += 1
        started = time.perf_counter()
        flow = CallFlow(self.dialplan.current, dnis, at=self.clock(),
                        speech=self.speech is not None and self.speech.available)
        outcome = "failed"
        try:
            outcome = await self._run_flow(agi, flow, dnis)
        finally:
            # The line label is the resolved line (one of the plan's numbers), never raw input.
            self.metrics.calls.labels(line=flow.line.number, outcome=outcome).inc()
            self.metrics.agi_session.observe(time.perf_counter() - started)

    async def _run_flow(self, agi: AgiChannel, flow: CallFlow, dnis: str) -> str:
        req = agi.request
        self.journal.begin(req.uniqueid, caller=req.callerid, dnis=dnis)
        step: Any = flow.start()
        stage = "answer"
        typeahead = TypeAhead()
        try:
            # inside the try: a caller who hangs up while we answer still gets an abandoned ticket
            await agi.answer()
            stage = "start"
            while not isinstance(step, Finish):
                stage = step.prompt_id
                if isinstance(step, Play):
                    self.journal.step(req.uniqueid, IvrStep(step.prompt_id, text=step.text[:40]))
                    # Callers who know the menu key ahead; a key skips the rest of what is playing.
                    if not typeahead.keys:
                        prompt_id, text = await self._what_to_play(step)
                        path = await self.prompts.ensure(prompt_id, text)
                        typeahead.add(await agi.stream_file(path, DTMF_KEYS))
                    step = flow.feed(Played())
                elif isinstance(step, Collect):
                    heard = await self._collect(agi, step, typeahead)
                    self.journal.step(req.uniqueid, _journal_step(step, heard))
                    step = flow.feed(heard)
                else:
                    raise TypeError(f"unknown flow step {step!r}")
            await self._carry_out(agi, step.decision)
            return _OUTCOMES.get(step.decision.action, step.decision.action)
        except (AgiHangup, AgiDeadChannel):
            self.stats.abandoned += 1
            log_event(log, "caller hung up in IVR", call=req.uniqueid, line=dnis, at=stage)
            department = flow.line.department if flow.line.mode != "main" else None
            await self._safe_ticket(
                "mark abandoned",
                self._abandoned_ticket(caller=req.callerid, line=dnis, call_id=req.uniqueid, stage=stage,
                                       department=department),
            )
            return "hangup"

    async def _what_to_play(self, step: Play) -> tuple[str, str]:
        """A knowledge-base answer is read at call time; without one (or when it is not published,
        or the database is slow) the flow's fallback text plays."""
        if step.article is None or self.answers is None:
            return step.prompt_id, step.text
        spoken = await self._safe_ticket("knowledge answer", self.answers.spoken(step.article))
        if spoken is None:
            log_event(log, "self-service article not published, fallback plays", logging.WARNING,
                      article=step.article)
            return step.prompt_id, step.text
        return spoken.prompt_id, spoken.text

    async def _collect(self, agi: AgiChannel, step: Collect, typeahead: TypeAhead) -> Any:
        if typeahead.keys:
            digits = typeahead.take(step.max_digits)
            if len(digits) < step.max_digits and digits not in ("0", "*", "#") and not digits.endswith("#"):
                more, _timed_out = await agi.get_data(SILENCE, step.timeout_s * 1000, step.max_digits - len(digits))
                digits += more
            return DigitsEntered(digits)
        path = await self.prompts.ensure(step.prompt_id, step.text)
        if step.speech and self.speech is not None and self.speech.available:
            # The prompt can be barged into with a key; otherwise listen for speech.
            typeahead.add(await agi.stream_file(path, DTMF_KEYS))
            if typeahead.keys:
                return await self._collect(agi, step, typeahead)
            heard = await self._listen(agi, step)
            return heard if heard is not None else NoInput()
        digits, _timed_out = await agi.get_data(path, step.timeout_s * 1000, step.max_digits)
        return DigitsEntered(digits) if digits else NoInput()

    async def _listen(self, agi: AgiChannel, step: Collect) -> SpeechHeard | None:
        """Stream the caller's audio to the AudioSocket server and match what they said."""
        call_uuid = str(uuid.uuid4())
        plan = self.dialplan.current
        # Built at start-up and on reload; should a plan arrive untrained, train off the loop.
        await asyncio.to_thread(self.speech.matcher, plan)
        listening = asyncio.create_task(
            self.speech.listen(call_uuid, grammar=self.speech.phrases(plan) if self.grammar else None,
                               timeout=step.timeout_s, decide_early=self.speech.matcher(plan).decides_early)
        )
        ready_at: list[float] = []
        listening.add_done_callback(lambda _t: ready_at.append(time.perf_counter()))
        try:
            # app_audiosocket switches the channel to slin; EXEC blocks until the server closes.
            await agi.exec("AudioSocket", f"{call_uuid},{self.speech.address}")
            utterance = await asyncio.wait_for(listening, 5)
        except (AgiHangup, AgiDeadChannel):
            listening.cancel()
            raise
        except Exception as exc:  # speech is an extra: any failure falls back to the keypad
            listening.cancel()
            log_event(log, "speech step failed, keypad only", logging.WARNING, error=repr(exc))
            return None
        self.stats.speech_turns += 1
        if utterance is None or not utterance.text:
            return None
        intent = self.speech.match(utterance.text, plan=plan)
        if utterance.endpoint_latency is not None and ready_at:
            # Caller's last voiced audio -> utterance final (asr) -> intent matched (here).
            self.metrics.asr_intent_latency.observe(utterance.endpoint_latency + time.perf_counter() - ready_at[0])
        log_event(log, "speech intent", call=agi.request.uniqueid, text=utterance.text, intent=intent.kind,
                  department=intent.department, confidence=f"{intent.confidence:.2f}")
        return SpeechHeard(kind=intent.kind, department=intent.department, target=intent.target,
                           confidence=intent.confidence, text=utterance.text, name=intent.name,
                           confirm=intent.confirm)

    # ------------------------------------------------------------------ return visit (回访)
    async def handle_survey(self, agi: AgiChannel) -> None:
        """An answered return-visit call: read the summary, take 1 满意 / 2 基本满意 / 3 不满意."""
        raw_id = await agi.get_variable(ChannelVar.TICKET_ID)
        if not raw_id or not raw_id.isdigit() or self.visits is None:
            log_event(log, "survey call without a ticket", logging.WARNING, channel=agi.request.channel)
            return
        ticket_id = int(raw_id)
        text = await self._safe_ticket("survey prompt", self.visits.survey_prompt_text(ticket_id))
        if not text:
            return
        path = await self.prompts.ensure(f"survey-{ticket_id}", text)
        for _attempt in range(SURVEY_ATTEMPTS):
            digit, _timed_out = await agi.get_data(path, 8000, 1)
            if digit in ("1", "2", "3"):
                await self._safe_ticket("survey result", self.visits.record_survey_result(ticket_id, digit))
                log_event(log, "return visit answered", ticket=ticket_id, result=digit)
                await agi.stream_file(await self.prompts.ensure("survey.thanks", SURVEY_THANKS))
                return
        log_event(log, "return visit without an answer", ticket=ticket_id)

    # ------------------------------------------------------------------ decisions
    async def _carry_out(self, agi: AgiChannel, d: RoutingDecision) -> None:
        req = agi.request
        self.journal.decided(req.uniqueid, d.as_json())
        self.stats.by_route[d.route] = self.stats.by_route.get(d.route, 0) + 1
        self.metrics.ivr_decisions.labels(route=d.action, queue=d.queue or "").inc()
        log_event(log, "routing decision", call=req.uniqueid, caller=req.callerid, line=d.line_number,
                  action=d.action, queue=d.queue, department=d.department, route=d.route)
        await agi.set_variable(ChannelVar.ROUTE, d.route)
        if d.action == "emergency":
            self.stats.emergencies += 1
            log_event(log, "emergency transfer", logging.WARNING, call=req.uniqueid, target=d.target)
            await self._dial(agi, self.emergency_dial.replace("{number}", d.target or ""), d)
            return
        if d.action == "queue":
            ref = await self._open_ticket(req, d)
            if ref is None:
                return  # no ticket, no queueing by us: the dialplan's fallback queue takes the call
            await agi.set_variable(ChannelVar.TICKET_ID, ref.number)
            if d.ticket_variable and d.ticket_variable != ChannelVar.TICKET_ID:
                await agi.set_variable(d.ticket_variable, ref.number)
            await agi.set_variable(ChannelVar.DEPARTMENT, d.department or "")
            await agi.set_variable(ChannelVar.QUEUE, d.queue or "")
            if self.callback_reachable is not None and self.callback_reachable(req.callerid):
                # The queue's exit context accepts key 1 (call-back keeping the place) only then.
                await agi.set_variable(ChannelVar.CALLBACK_OK, "1")
            await agi.set_variable(ChannelVar.ACTION, IvrAction.QUEUE)
            self.stats.queued += 1
            return
        if d.action == "transfer":
            ref = await self._open_ticket(req, d)
            if ref is not None:
                await agi.set_variable(ChannelVar.TICKET_ID, ref.number)
                await agi.set_variable(d.ticket_variable or ChannelVar.TICKET_ID, ref.number)
            await agi.set_variable(ChannelVar.DEPARTMENT, d.department or "")
            self.stats.transferred += 1
            await self._dial(agi, d.target or "", d)
            return
        if d.action == "voicemail":
            await self._voicemail(agi, d)
            return
        if d.action == "explain":
            self.stats.not_accepted += 1
            ref = await self._open_ticket(req, d)
            if ref is not None:
                await self._safe_ticket("not accepted", self.tickets.record_not_accepted(ref.id, matter=d.target))
        elif d.action == "selfservice":
            await self._selfservice(agi, d)
        await agi.set_variable(ChannelVar.ACTION, IvrAction.DONE)

    async def _dial(self, agi: AgiChannel, dial: str, d: RoutingDecision) -> None:
        await agi.set_variable(ChannelVar.TARGET, d.target or "")
        await agi.set_variable(ChannelVar.DIAL, dial)
        await agi.set_variable(ChannelVar.ACTION, IvrAction.DIAL)

    async def _selfservice(self, agi: AgiChannel, d: RoutingDecision) -> None:
        req = agi.request
        if d.ticket_number:
            # Progress lookup: read the ticket's status back to the caller.
            text = await self._safe_ticket("progress", self.tickets.progress_text(d.ticket_number))
            spoken = text or "对不起，没有查到这个工单编号，请核对后再查询。"
            await agi.stream_file(await self.prompts.ensure(f"progress-{d.ticket_number}", spoken))
            return
        self.stats.selfservice += 1
        ref = await self._open_ticket(req, d)
        if ref is not None:
            await self._safe_ticket("close direct",
                                    self.tickets.close_direct(ref.id, answer=d.selfservice_answer or d.route))

    async def _voicemail(self, agi: AgiChannel, d: RoutingDecision) -> None:
        req = agi.request
        self.stats.voicemail += 1
        pbx_path = f"{self.recording_dir}/{req.uniqueid.replace('.', '-')}"
        await agi.record_file(pbx_path, "wav", "#", 120_000, silence_s=5)
        ref = await self._open_ticket(req, d)
        if ref is not None:
            await self._safe_ticket(
                "voicemail", self.tickets.attach_voicemail(ref.id, recording_path=str(self.host_path(pbx_path + ".wav")))
            )
        await agi.set_variable(ChannelVar.ACTION, IvrAction.DONE)

    # ------------------------------------------------------------------ tickets
    async def _open_ticket(self, req: AgiRequest, d: RoutingDecision) -> TicketRefLike | None:
        return await self._safe_ticket(
            "open",
            self.tickets.open_from_call(caller=req.callerid, line_number=d.line_number,
                                        department=d.department or "", call_id=req.uniqueid, route=d.route,
                                        ticket_type=TICKET_TYPES.get(d.ticket_type or "")),
        )

    async def _abandoned_ticket(self, *, caller: str, line: str, call_id: str, stage: str,
                                department: str | None) -> None:
        ref = await self.tickets.open_from_call(caller=caller, line_number=line, department=department or "",
                                                call_id=call_id, route=f"abandoned:{stage}")
        await self.tickets.mark_abandoned(ref.id, stage=stage)

    async def _safe_ticket(self, what: str, coro: Any) -> Any:
        """A slow or failing database must not hold the caller: give up after db_timeout."""
        try:
            return await asyncio.wait_for(coro, self.db_timeout)
        except Exception as exc:
            self.stats.engine_failures += 1
            log_event(log, f"ticket {what} failed; caller goes to the fallback queue", logging.ERROR,
                      error=repr(exc))
            return None
