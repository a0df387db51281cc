"""The AMI client: the only module that touches panoramisk or the manager socket.

The AMI edge is agent_queue/ami.py (client), ami_framing.py (bytes <-> frames),
ami_protocol.py (replies matched to actions) and actions.py (typed action builders).

What it does
- connects and logs in, reconnects with exponential backoff (settings.ami.reconnect_min..max,
  with a little jitter so a pool of engines does not hammer a restarted Asterisk in step);
- exposes the session state (`state`, `connected`, `wait_connected()`), so the engine can log
  and await it; the engine keeps running through an Asterisk restart;
- `send(action) -> [AmiResponse, events...]` matched by ActionID, with a timeout and a bound on
  actions awaiting replies; unanswered idempotent actions are re-sent after a reconnect;
- turns every frame into a typed event (agent_queue.events) and hands it to subscribers in
  arrival order, from one dispatcher task;
- after each login (and on FullyBooted) resynchronises queues with `QueueStatus`; the snapshot
  is queued for subscribers at the exact point in the stream where the list completed, so no
  later event is overwritten by older state.

Why not panoramisk's Manager/AMIProtocol as they are (read in .venv, 1.4):
- `AMIProtocol.data_received` decodes every TCP chunk with errors='ignore' before framing, so a
  UTF-8 caller name split across two reads loses characters; frames here are cut on bytes
  and decoded whole.
- `Action.multi` treats "Added interface to queue" (QueueAdd) as the start of a list and then
  waits for a `...Complete` event that never comes: the future never resolves. Lists here are
  recognised by `EventList: start` / "will follow" only, and end on `EventList: Complete`.
- `Message.from_line` pops the last line of a `Response: Follows` or `Response: Fail` frame as
  body, so a header goes missing, and a Follows body holding a blank line is cut in two.
- It has no `eof_received`; on end of stream it re-connects every `reconnect_timeout` seconds
  without backoff, keeps pending futures unresolved forever, and a `Shutdown` event triggers
  `connection_lost` twice.
So we keep panoramisk's `Manager` as the connection factory (its `connect()` task with our
protocol factory) and do framing, matching and reconnection here.
"""

from __future__ import annotations

import asyncio
import enum
import inspect
import itertools
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from panoramisk import Manager

from agent_queue import actions
from agent_queue.ami_framing import AmiFrameParser, AmiMessage, format_action
from agent_queue.ami_protocol import NOT_RESENDABLE, PendingAction, snapshot_from
from agent_queue.events import (
    AmiConnectedEvent,
    AmiDisconnectedEvent,
    AmiEvent,
    PbxBootedEvent,
    QueueSnapshotEvent,
    parse_event,
)
from agent_queue.exceptions import (
    AmiActionFailed,
    AmiEventInvalid,
    AmiLoginFailed,
    AmiNotConnected,
    AmiOverloaded,
    AmiProtocolError,
    AmiTimeout,
)
from infra.logs import log_event

log = logging.getLogger(__name__)

E = TypeVar("E", bound=AmiEvent)
Handler = Callable[[Any], Awaitable[None] | None]



# --- connection ---------------------------------------------------------------------------


class ConnectionState(enum.Enum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    CLOSED = "closed"


class _AmiProtocol(asyncio.Protocol):
    def __init__(self, client: AmiClient) -> None:
        self.client = client
        self.parser = AmiFrameParser()
        self.transport: asyncio.Transport | None = None
        self.lost: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            messages = self.parser.feed(data)
        except AmiProtocolError as exc:
            log_event(log, "ami stream broken; dropping connection", logging.ERROR, error=str(exc))
            self.abort(str(exc))
            return
        for msg in messages:
            self.client._on_message(msg, self)

    def eof_received(self) -> bool:
        left = self.parser.pending_bytes()
        if left:
            log_event(log, "ami end of stream inside a frame", logging.WARNING, dropped_bytes=left)
        return False  # let the transport close; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(f"connection lost: {exc}" if exc else "end of stream")

    def write(self, data: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            raise AmiNotConnected("AMI send: transport closed")
        self.transport.write(data)

    def abort(self, reason: str) -> None:
        if not self.lost.done():
            self.lost.set_result(reason)
        if self.transport is not None:
            self.transport.abort()


class _ConnectionFactory(Manager):
    """panoramisk's Manager used only to open the TCP connection with our protocol.

    Its own login, ping, dispatch and fixed-interval reconnect are bypassed: the hooks that
    would start them are overridden here.
    """

    def connection_made(self, f: asyncio.Future) -> None:  # noqa: D401 - panoramisk hook
        # The awaiting caller gets the result or the OSError from the task itself.
        if not f.cancelled():
            f.exception()  # mark retrieved so asyncio does not log "exception never retrieved"

    def connection_lost(self, exc: Exception | None) -> None:
        pass


class AmiClient:
    """A reconnecting AMI session. Build it once in the composition root; `start()` it."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str,
        secret: str,
        reconnect_min: float = 0.5,
        reconnect_max: float = 30.0,
        action_timeout: float = 10.0,
        ping_interval: float = 20.0,
        max_pending: int = 1000,
        inbox_high_water: int = 10_000,
        rng: random.Random | None = None,
    ) -> None:
        self.host, self.port = host, port
        self._username, self._secret = username, secret
        self.reconnect_min, self.reconnect_max = reconnect_min, max(reconnect_max, reconnect_min)
        self.action_timeout = action_timeout
        self.ping_interval = ping_interval
        self.max_pending = max_pending
        self._high_water = inbox_high_water
        self._rng = rng or random.Random()
        self._uid = uuid.uuid4().hex[:8]
        self._ids = itertools.count(1)
        self._pending: dict[str, tuple[PendingAction, asyncio.Future[list[AmiEvent]]]] = {}
        self._handlers: list[tuple[type[AmiEvent], Handler]] = []
        self._inbox: asyncio.Queue[AmiEvent] | None = None
        self._proto: _AmiProtocol | None = None
        self._authenticated = False
        self._session = 0
        self._state = ConnectionState.DISCONNECTED
        self._state_changed: asyncio.Condition | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._wake: asyncio.Event | None = None
        self._resync_wanted: asyncio.Event | None = None
        self._reading_paused = False
        self.stats = {"events": 0, "invalid_events": 0, "sessions": 0, "failed_connects": 0, "resyncs": 0}

    @classmethod
    def from_settings(cls, settings: Any, **kwargs: Any) -> AmiClient:
        ami = settings.ami
        return cls(
            host=ami.host,
            port=ami.port,
            username=ami.username,
            secret=settings.ami_secret(),
            reconnect_min=ami.reconnect_min,
            reconnect_max=ami.reconnect_max,
            **kwargs,
        )

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Start connecting in the background; returns at once (see `wait_connected`)."""
        if self._tasks:
            return
        self._inbox = asyncio.Queue()
        self._state_changed = asyncio.Condition()
        self._wake = asyncio.Event()
        self._resync_wanted = asyncio.Event()
        self._tasks = [
            asyncio.create_task(self._run(), name="ami-session"),
            asyncio.create_task(self._dispatch_loop(), name="ami-dispatch"),
            asyncio.create_task(self._resync_loop(), name="ami-resync"),
        ]

    async def close(self, grace: float = 5.0) -> None:
        """Log off politely if connected, stop reconnecting, fail what is still pending."""
        self._closing = True
        if self._wake is not None:
            self._wake.set()
        if self._proto is not None and self._authenticated:
            try:
                await self._request(actions.logoff(), within=grace)
            except (AmiTimeout, AmiNotConnected, AmiActionFailed, TimeoutError):
                pass
        if self._proto is not None:
            self._proto.abort("closed")
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._fail_pending(lambda p: True, "AMI client closed")
        await self._set_state(ConnectionState.CLOSED)

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def connected(self) -> bool:
        return self._state is ConnectionState.CONNECTED

    async def wait_connected(self, within: float | None = None) -> None:
        """Return once an authenticated session is up; raises AmiTimeout after `within` s."""
        if self._state_changed is None:
            raise AmiNotConnected("AMI wait_connected: client not started")
        cond = self._state_changed
        try:
            async with asyncio.timeout(within):
                async with cond:
                    await cond.wait_for(lambda: self.connected or self._state is ConnectionState.CLOSED)
        except TimeoutError:
            raise AmiTimeout(f"AMI {self.host}:{self.port}: not connected after {within} s") from None
        if not self.connected:
            raise AmiNotConnected("AMI wait_connected: client closed")

    # -- subscribers ------------------------------------------------------------------------

    def subscribe(self, event_type: type[E], handler: Callable[[E], Awaitable[None] | None]) -> Callable[[], None]:
        """Call `handler` for each event of `event_type` (or a subclass), in arrival order.

        Handlers may be async; they run one at a time on the dispatcher task, so a slow
        handler delays later events instead of reordering them. Returns an unsubscribe.
        """
        entry = (event_type, handler)
        self._handlers.append(entry)

        def unsubscribe() -> None:
            if entry in self._handlers:
                self._handlers.remove(entry)

        return unsubscribe

    # -- actions ----------------------------------------------------------------------------

    async def send(self, action: Mapping[str, Any], *, within: float | None = None) -> list[AmiEvent]:
        """Send one action; return [AmiResponse, events of its list...].

        Raises AmiNotConnected (no session, or lost with a non-resendable action in flight),
        AmiActionFailed (Response: Error), AmiTimeout, AmiOverloaded, ValueError (bad header).
        """
        if not self.connected:
            raise AmiNotConnected(f"AMI {action.get('Action', '?')}: not connected to {self.host}:{self.port}")
        return await self._request(action, within=within)

    async def resync(self) -> QueueSnapshotEvent:
        """QueueStatus now; the snapshot is also delivered to QueueSnapshotEvent subscribers."""
        events = await self.send(actions.queue_status(), within=max(self.action_timeout, 30.0))
        return snapshot_from(events)

    async def _request(self, action: Mapping[str, Any], *, within: float | None) -> list[AmiEvent]:
        if len(self._pending) >= self.max_pending:
            raise AmiOverloaded(f"AMI {action.get('Action', '?')}: {len(self._pending)} actions awaiting replies")
        name = str(action.get("Action") or action.get("action") or "")
        action_id = f"hl-{self._uid}-{next(self._ids)}"
        data = format_action(action, action_id)  # validate before registering
        is_async = str(action.get("Async", action.get("async", ""))).lower() in ("true", "yes", "1")
        pending = PendingAction(
            name=name, action_id=action_id, payload=dict(action), expects_originate=name.lower() == "originate" and is_async
        )
        fut: asyncio.Future[list[AmiEvent]] = asyncio.get_running_loop().create_future()
        self._pending[action_id] = (pending, fut)
        try:
            self._write(pending, data)
            async with asyncio.timeout(within or self.action_timeout):
                return await fut
        except TimeoutError:
            raise AmiTimeout(f"AMI {name}: no complete reply in {within or self.action_timeout} s") from None
        finally:
            self._pending.pop(action_id, None)

    def _write(self, pending: PendingAction, data: bytes | None = None) -> None:
        if self._proto is None:
            raise AmiNotConnected(f"AMI {pending.name}: no connection")
        self._proto.write(data or format_action(pending.payload, pending.action_id))
        pending.sent_in_session = self._session

    # -- incoming ---------------------------------------------------------------------------

    def _on_message(self, msg: AmiMessage, proto: _AmiProtocol) -> None:
        if proto is not self._proto:
            return  # a late frame from a connection we already gave up
        action_id = msg.action_id
        if action_id and action_id in self._pending:
            pending, fut = self._pending[action_id]
            if pending.feed(msg):
                if not fut.done():
                    try:
                        result = pending.result()
                    except AmiActionFailed as exc:
                        fut.set_exception(exc)
                    except AmiEventInvalid as exc:
                        fut.set_exception(exc)
                    else:
                        fut.set_result(result)
                        if pending.name.lower() == "queuestatus":
                            # Queued here, at the list's end in the stream: events that follow
                            # on the wire are applied after the snapshot, never before it.
                            self._enqueue(snapshot_from(result))
                            self.stats["resyncs"] += 1
            return
        if msg.is_response:
            return  # reply to an action that timed out or belonged to an earlier session
        name = msg.event_name
        if not name:
            return
        self.stats["events"] += 1
        try:
            event = parse_event(name, msg.lowered(), msg.headers)
        except AmiEventInvalid as exc:
            self.stats["invalid_events"] += 1
            log_event(log, "ami event dropped", logging.WARNING, error=str(exc))
            return
        if isinstance(event, PbxBootedEvent) and self._resync_wanted is not None:
            self._resync_wanted.set()  # Asterisk (re)started: app_queue state is new
        self._enqueue(event)

    def _enqueue(self, event: AmiEvent) -> None:
        assert self._inbox is not None
        self._inbox.put_nowait(event)
        # Back-pressure: stop reading the socket while subscribers are far behind.
        if not self._reading_paused and self._inbox.qsize() >= self._high_water and self._proto is not None:
            if self._proto.transport is not None:
                self._proto.transport.pause_reading()
                self._reading_paused = True

    async def _dispatch_loop(self) -> None:
        assert self._inbox is not None
        while True:
            event = await self._inbox.get()
            if self._reading_paused and self._inbox.qsize() < self._high_water // 2:
                if self._proto is not None and self._proto.transport is not None:
                    self._proto.transport.resume_reading()
                self._reading_paused = False
            try:
                for event_type, handler in list(self._handlers):
                    if not isinstance(event, event_type):
                        continue
                    try:
                        ret = handler(event)
                        if inspect.isawaitable(ret):
                            await ret
                    except Exception:
                        # A subscriber bug must not stop the stream for everyone else.
                        log.exception("ami subscriber %r failed on %s", handler, type(event).__name__)
            finally:
                self._inbox.task_done()

    async def drain(self) -> None:
        """Wait until every event received so far has been handled (tests, shutdown)."""
        assert self._inbox is not None
        await self._inbox.join()

    # -- session loop -----------------------------------------------------------------------

    async def _run(self) -> None:
        delay = self.reconnect_min
        attempt = 0
        while not self._closing:
            attempt += 1
            await self._set_state(ConnectionState.CONNECTING)
            try:
                proto = await self._open_session()
            except (OSError, AmiLoginFailed, AmiTimeout, AmiNotConnected, AmiActionFailed) as exc:
                self.stats["failed_connects"] += 1
                level = logging.ERROR if isinstance(exc, AmiLoginFailed) else logging.WARNING
                log_event(
                    log, "ami connect failed", level, host=self.host, port=self.port, attempt=attempt,
                    retry_in=round(delay, 2), error=str(exc) or type(exc).__name__,
                )
                if self._proto is not None:
                    self._proto.abort("login failed")
                    self._proto = None
                await self._set_state(ConnectionState.DISCONNECTED)
                await self._sleep(delay * (1 + 0.1 * self._rng.random()))
                delay = min(delay * 2, self.reconnect_max)
                continue
            delay = self.reconnect_min
            self.stats["sessions"] += 1
            log_event(log, "ami connected", host=self.host, port=self.port, attempt=attempt, banner=proto.parser.banner)
            await self._set_state(ConnectionState.CONNECTED)
            self._enqueue(AmiConnectedEvent(host=self.host, port=self.port, attempt=attempt))
            attempt = 0
            self._resend_unanswered()
            assert self._resync_wanted is not None
            self._resync_wanted.set()
            pinger = asyncio.create_task(self._ping_loop(proto), name="ami-ping")
            try:
                reason = await proto.lost
            finally:
                pinger.cancel()
            self._authenticated = False
            self._proto = None
            if self._closing:
                break
            log_event(log, "ami disconnected; reconnecting", logging.WARNING, reason=reason)
            await self._set_state(ConnectionState.DISCONNECTED)
            self._enqueue(AmiDisconnectedEvent(reason=reason))
            self._fail_pending(
                lambda p: p.name.lower() in NOT_RESENDABLE or len(p.messages) > 0,
                f"AMI connection lost ({reason})",
            )
            await self._sleep(self.reconnect_min * (1 + 0.1 * self._rng.random()))

    async def _open_session(self) -> _AmiProtocol:
        factory = _ConnectionFactory(
            host=self.host, port=self.port, protocol_factory=lambda: _AmiProtocol(self), loop=asyncio.get_running_loop()
        )
        async with asyncio.timeout(self.action_timeout):
            _transport, proto = await factory.connect()
        assert isinstance(proto, _AmiProtocol)
        self._proto = proto
        self._session += 1
        try:
            await self._request(
                actions.login(username=self._username, secret=self._secret),
                within=self.action_timeout,
            )
        except AmiActionFailed as exc:
            raise AmiLoginFailed(f"AMI login as {self._username!r} at {self.host}:{self.port}: {exc.message}") from None
        self._authenticated = True
        return proto

    def _resend_unanswered(self) -> None:
        for pending, fut in list(self._pending.values()):
            if fut.done() or pending.sent_in_session == self._session:
                continue
            try:
                self._write(pending)
                log_event(log, "ami action re-sent after reconnect", action=pending.name)
            except AmiNotConnected:
                break

    def _fail_pending(self, which: Callable[[PendingAction], bool], reason: str) -> None:
        for pending, fut in list(self._pending.values()):
            if not fut.done() and which(pending):
                fut.set_exception(AmiNotConnected(f"AMI {pending.name}: {reason}"))
            elif not fut.done():
                pending.messages.clear()  # will be re-sent after the next login

    async def _resync_loop(self) -> None:
        assert self._resync_wanted is not None
        while True:
            await self._resync_wanted.wait()
            self._resync_wanted.clear()
            if not self.connected:
                continue
            try:
                await self.resync()
            except (AmiNotConnected, AmiTimeout, AmiActionFailed, AmiOverloaded) as exc:
                log_event(log, "ami queue resync failed", logging.WARNING, error=str(exc))

    async def _ping_loop(self, proto: _AmiProtocol) -> None:
        # A dead peer behind a NAT or a frozen VM never closes the socket; a missed Ping does.
        while True:
            await asyncio.sleep(self.ping_interval)
            try:
                await self._request(actions.ping(), within=self.action_timeout)
            except (AmiTimeout, AmiNotConnected):
                log_event(log, "ami ping unanswered; dropping connection", logging.WARNING)
                proto.abort("ping timeout")
                return

    async def _sleep(self, seconds: float) -> None:
        assert self._wake is not None
        try:
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        except TimeoutError:
            pass

    async def _set_state(self, state: ConnectionState) -> None:
        if state is self._state:
            return
        self._state = state
        assert self._state_changed is not None
        async with self._state_changed:
            self._state_changed.notify_all()
