"""Agent and queue state, kept from typed AMI events (live) or simulator events (same types).

`Board` is the one picture the control loop looks at: who is logged in where, who is free,
who is waiting and since when. Each agent is an explicit state machine; an illegal
transition from the API raises `IllegalAgentTransition`, while AMI events (which report
what already happened on the PBX) always win and move the state.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

from agent_queue.events import (
    AgentCalledEvent,
    AgentCompletedEvent,
    AgentConnectedEvent,
    AgentNotAnsweredEvent,
    AmiEvent,
    CallerAbandonedEvent,
    CallerJoinedEvent,
    CallerLeftEvent,
    MemberAddedEvent,
    MemberPausedEvent,
    MemberRemovedEvent,
    MemberStatus,
    MemberStatusChangedEvent,
    QueueSnapshotEvent,
)
from agent_queue.exceptions import IllegalAgentTransition, NoSuchAgent


class AgentState(enum.Enum):
    LOGGED_OUT = "logged_out"
    IDLE = "idle"
    RINGING = "ringing"
    TALKING = "talking"
    WRAPUP = "wrapup"
    PAUSED = "paused"


# What the API may ask for from each state (AMI reports bypass this table).
_API_MOVES: dict[AgentState, frozenset[AgentState]] = {
    AgentState.LOGGED_OUT: frozenset({AgentState.IDLE}),
    AgentState.IDLE: frozenset({AgentState.PAUSED, AgentState.LOGGED_OUT}),
    AgentState.RINGING: frozenset({AgentState.PAUSED, AgentState.LOGGED_OUT}),
    AgentState.TALKING: frozenset({AgentState.PAUSED}),  # pause after this call
    AgentState.WRAPUP: frozenset({AgentState.PAUSED, AgentState.LOGGED_OUT}),
    AgentState.PAUSED: frozenset({AgentState.IDLE, AgentState.LOGGED_OUT}),
}


def default_interface(agent_id: str) -> str:
    """The device of an agent the dialplan gives no interface: its PJSIP endpoint."""
    return f"PJSIP/{agent_id}"


@dataclass(frozen=True, slots=True)
class AgentSpec:
    """Configuration of one seat (data, from the roster file)."""

    id: str  # PJSIP endpoint, e.g. agent01
    skills: frozenset[str]  # queues (departments / lines) the agent is trained for
    expert: bool = False
    wrapup_s: float = 15.0
    home: str = ""  # the queue the agent logs into with *11; "" = first skill
    device: str = ""  # the dialplan's agents[].interface; "" = PJSIP/<id>

    @property
    def interface(self) -> str:
        """The one spelling of the agent's Asterisk device (queue member, callback origination)."""
        return self.device or default_interface(self.id)

    @property
    def home_queue(self) -> str:
        return self.home or min(self.skills)


@dataclass(slots=True)
class Agent:
    spec: AgentSpec
    state: AgentState = AgentState.LOGGED_OUT
    queues: dict[str, int] = field(default_factory=dict)  # queue -> penalty
    since: float = 0.0
    wrapup_until: float = 0.0
    calls_taken: int = 0
    busy_seconds: float = 0.0
    pause_reason: str = ""
    current_call: str = ""

    def move(self, to: AgentState, now: float) -> None:
        if self.state in (AgentState.TALKING, AgentState.RINGING) and to not in (AgentState.TALKING, AgentState.RINGING):
            self.busy_seconds += max(0.0, now - self.since)
        self.state, self.since = to, now

    def check(self, to: AgentState) -> None:
        """Refuse a transition the API may not ask for; the PBX's event does the move."""
        if to not in _API_MOVES[self.state]:
            raise IllegalAgentTransition(f"agent {self.spec.id}: {self.state.value} -> {to.value} not allowed")


@dataclass(slots=True)
class Waiting:
    queue: str
    uniqueid: str
    caller_id: str
    joined_at: float
    position: int
    channel: str = ""


class Board:
    """State of agents and waiting callers; `apply(event, now)` keeps it in step with the PBX."""

    def __init__(self, specs: Iterable[AgentSpec]) -> None:
        self.agents: dict[str, Agent] = {s.id: Agent(spec=s) for s in specs}
        self._ids_by_interface = {a.spec.interface: a.spec.id for a in self.agents.values()}
        self.waiting: dict[str, Waiting] = {}  # uniqueid -> caller in a queue now
        self.ringing: dict[str, str] = {}  # uniqueid -> agent id

    def agent(self, agent_id: str) -> Agent:
        try:
            return self.agents[agent_id]
        except KeyError:
            raise NoSuchAgent(f"agent {agent_id!r}: not in the roster") from None

    def _by_interface(self, interface: str, member_name: str = "") -> Agent | None:
        name = self._ids_by_interface.get(interface) or (interface.split("/", 1)[-1] if interface else member_name)
        agent = self.agents.get(name) or self.agents.get(member_name)
        if agent is None and name:
            # An agent the roster does not know (added on the PBX by hand): track it anyway.
            agent = self.agents[name] = Agent(spec=AgentSpec(id=name, skills=frozenset()))
        return agent

    # -- queries the control loop uses ---------------------------------------------------

    def waiting_in(self, queue: str) -> list[Waiting]:
        return sorted((w for w in self.waiting.values() if w.queue == queue), key=lambda w: w.joined_at)

    def members(self, queue: str) -> list[Agent]:
        return [a for a in self.agents.values() if queue in a.queues and a.state is not AgentState.LOGGED_OUT]

    def free_agents(self, queue: str | None = None, now: float = 0.0) -> list[Agent]:
        out = []
        for a in self.agents.values():
            if a.state is AgentState.WRAPUP and now >= a.wrapup_until:
                a.move(AgentState.IDLE, a.wrapup_until)
            if a.state is AgentState.IDLE and (queue is None or queue in a.queues):
                out.append(a)
        return out

    def queues(self) -> set[str]:
        qs = {w.queue for w in self.waiting.values()}
        for a in self.agents.values():
            qs.update(a.queues)
        return qs

    # -- applying events -----------------------------------------------------------------

    def apply(self, event: AmiEvent, now: float) -> None:
        match event:
            case CallerJoinedEvent():
                self.waiting[event.uniqueid] = Waiting(
                    event.queue, event.uniqueid, event.caller_id, now, event.position, event.channel
                )
            case CallerLeftEvent() | CallerAbandonedEvent():
                self.waiting.pop(event.uniqueid, None)
                agent_id = self.ringing.pop(event.uniqueid, None)
                if agent_id and self.agents[agent_id].state is AgentState.RINGING:
                    self.agents[agent_id].move(AgentState.IDLE, now)
            case AgentCalledEvent():
                agent = self._by_interface(event.interface, event.member_name)
                if agent and agent.state is AgentState.IDLE:
                    agent.move(AgentState.RINGING, now)
                    self.ringing[event.uniqueid] = agent.spec.id
            case AgentNotAnsweredEvent():
                agent = self._by_interface(event.interface, event.member_name)
                if agent and agent.state is AgentState.RINGING:
                    agent.move(AgentState.IDLE, now)
            case AgentConnectedEvent():
                self.waiting.pop(event.uniqueid, None)
                self.ringing.pop(event.uniqueid, None)
                agent = self._by_interface(event.interface, event.member_name)
                if agent:
                    agent.move(AgentState.TALKING, now)
                    agent.current_call = event.uniqueid
            case AgentCompletedEvent():
                agent = self._by_interface(event.interface, event.member_name)
                if agent and agent.state is AgentState.TALKING:
                    agent.calls_taken += 1
                    agent.current_call = ""
                    agent.move(AgentState.WRAPUP, now)
                    agent.wrapup_until = now + agent.spec.wrapup_s
            case MemberAddedEvent() | MemberStatusChangedEvent() | MemberPausedEvent():
                agent = self._by_interface(event.interface, event.member_name)
                if agent:
                    agent.queues[event.queue] = event.penalty
                    self._member_state(agent, event.paused, event.status, event.paused_reason, now)
            case MemberRemovedEvent():
                agent = self._by_interface(event.interface, event.member_name)
                if agent:
                    agent.queues.pop(event.queue, None)
                    if not agent.queues:
                        agent.move(AgentState.LOGGED_OUT, now)
            case QueueSnapshotEvent():
                self._replace(event, now)
            case _:
                pass

    def _member_state(self, agent: Agent, paused: bool, status: MemberStatus, reason: str, now: float) -> None:
        if paused:
            if agent.state is not AgentState.PAUSED and agent.state is not AgentState.TALKING:
                agent.move(AgentState.PAUSED, now)
            agent.pause_reason = reason
            return
        if agent.state in (AgentState.PAUSED, AgentState.LOGGED_OUT):
            agent.move(AgentState.IDLE, now)
        if status is MemberStatus.UNAVAILABLE or status is MemberStatus.INVALID:
            # Softphone unregistered: app_queue will not ring it; neither may we count it.
            agent.move(AgentState.LOGGED_OUT, now)
        elif status in (MemberStatus.INUSE, MemberStatus.BUSY, MemberStatus.ONHOLD) and agent.state is AgentState.IDLE:
            agent.move(AgentState.TALKING, now)

    def _replace(self, snap: QueueSnapshotEvent, now: float) -> None:
        """After a reconnect the PBX is the truth: rebuild membership and waiting callers."""
        for agent in self.agents.values():
            for q in list(agent.queues):
                if q in snap.queues:
                    del agent.queues[q]
        for m in snap.members:
            agent = self._by_interface(m.interface, m.member_name)
            if agent is None:
                continue
            agent.queues[m.queue] = m.penalty
        for agent in self.agents.values():
            if not agent.queues and agent.state is not AgentState.LOGGED_OUT:
                agent.move(AgentState.LOGGED_OUT, now)
        for m in snap.members:
            agent = self._by_interface(m.interface, m.member_name)
            if agent is not None:
                if m.in_call and not m.paused:
                    agent.move(AgentState.TALKING, now)
                else:
                    self._member_state(agent, m.paused, m.status, m.paused_reason, now)
        self.waiting = {
            uid: w for uid, w in self.waiting.items() if w.queue not in snap.queues
        }
        for e in snap.entries:
            self.waiting[e.uniqueid] = Waiting(e.queue, e.uniqueid, e.caller_id, now - e.wait, e.position, e.channel)
