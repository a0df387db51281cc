"""One AMI vocabulary: actions are built in agent_queue/actions.py only, and the agent's device
is spelled one way, the dialplan's agents[].interface."""

from __future__ import annotations

import ast
from pathlib import Path

from agent_queue.control import AddMember, ControlPolicy, QueueCore, RemoveMember
from agent_queue.events import MemberAddedEvent, MemberStatus
from agent_queue.services import QueueService
from agent_queue.sla import SlaTracker
from agent_queue.state import AgentSpec
from hotline.engine import agent_specs
from hotline_merge.loader import load_dialplan

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("hotline", "infra", "config", "ivr", "asr", "agent_queue", "tickets", "hotline_merge", "web", "bench")


def _raw_actions(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Dict)
            and any(isinstance(k, ast.Constant) and k.value == "Action" for k in node.keys)]


def test_no_raw_ami_action_outside_the_builders() -> None:
    found = []
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == ROOT / "agent_queue" / "actions.py":
                continue
            found += [f"{path.relative_to(ROOT)}:{line}" for line in _raw_actions(path)]
    assert found == [], "build AMI actions with agent_queue.actions, not a dict literal"


def test_the_scan_sees_a_raw_action(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text('ACTION = {"Action": "Ping"}\n', encoding="utf-8")
    assert _raw_actions(bad) == [1]


class _RecordingClient:
    connected = True

    def __init__(self) -> None:
        self.sent: list[dict] = []

    async def send(self, action, *, within=None):  # noqa: ANN001 - a test double of AmiClient.send
        self.sent.append(dict(action))
        return []


async def test_queue_actions_use_the_dialplans_agent_interface() -> None:
    spec = AgentSpec("agent07", frozenset({"hotline-general"}), home="hotline-general", device="PJSIP/seat-07")
    client = _RecordingClient()
    core = QueueCore(specs=[spec], tracker=SlaTracker(), policy=ControlPolicy())
    service = QueueService(client=client, core=core)  # type: ignore[arg-type]
    await service.apply(AddMember("overflow", "hotline-social", "agent07", 1, 1))
    await service.apply(RemoveMember("done", "hotline-social", "agent07"))
    await service.login("agent07")
    # Events about that device land on the agent, not on a stranger called "seat-07".
    core.board.apply(MemberAddedEvent(queue="hotline-general", interface="PJSIP/seat-07", member_name="seat 7",
                                      status=MemberStatus.NOT_INUSE, paused=False, penalty=0, in_call=False), 0.0)
    assert set(core.board.agents) == {"agent07"}
    assert "hotline-general" in core.board.agents["agent07"].queues
    await service.pause("agent07", True)
    assert [a["Action"] for a in client.sent] == ["QueueAdd", "QueueRemove", "QueueAdd", "QueuePause"]
    assert {a["Interface"] for a in client.sent} == {"PJSIP/seat-07"}


def test_the_engine_passes_the_dialplans_interface_to_the_queue_manager() -> None:
    shipped = load_dialplan(ROOT / "dialplans")
    first = shipped.agents[0]
    plan = shipped.model_copy(update={"agents": [first.model_copy(update={"interface": "PJSIP/desk-a"}),
                                                 *shipped.agents[1:]]})
    specs = {s.id: s for s in agent_specs(plan)}
    assert specs[first.id].interface == "PJSIP/desk-a"
    assert all(specs[a.id].interface == a.interface for a in plan.agents if a.id in specs)


def test_every_modelled_event_field_names_its_header() -> None:
    import dataclasses

    from agent_queue import events

    modelled = [c for c in vars(events).values() if isinstance(c, type) and issubclass(c, events.AmiEvent)
                and c.ami_name]
    assert len(modelled) >= 21
    assert {c.ami_name.lower() for c in modelled} == set(events._PARSERS)
    missing = [f"{c.__name__}.{f.name}" for c in modelled for f in dataclasses.fields(c) if "ami" not in f.metadata]
    assert missing == []
