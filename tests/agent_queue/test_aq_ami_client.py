"""AmiClient against a scripted fake manager on a loopback port: login, matching, dispatch,
resync, surviving an Asterisk restart. No test asserts a wall-clock duration; timeouts only
bound a hang."""

from __future__ import annotations

import asyncio
import random

import aq_wire as wire
import pytest
from aq_fake_ami import FakeAmi

from agent_queue.ami import AmiClient, ConnectionState
from agent_queue.events import (
    AgentConnectedEvent,
    AmiConnectedEvent,
    AmiDisconnectedEvent,
    AmiEvent,
    AmiResponse,
    CallerJoinedEvent,
    OriginateFinishedEvent,
    QueueSnapshotEvent,
)
from agent_queue.exceptions import AmiActionFailed, AmiNotConnected

WAIT = 10.0  # upper bound against hangs only


@pytest.fixture
async def fake():
    server = FakeAmi()
    await server.start()
    yield server
    if server.server is not None and server.server.is_serving():
        await server.stop()


def _client(port: int, **kw) -> AmiClient:
    kw.setdefault("reconnect_min", 0.01)
    kw.setdefault("reconnect_max", 0.05)
    return AmiClient(host="127.0.0.1", port=port, username="hotline", secret="s3", rng=random.Random(1), **kw)


async def _until(pred, what: str) -> None:
    async with asyncio.timeout(WAIT):
        # Polls counters and lists that have no event of their own; bounded by WAIT.
        while not pred():  # noqa: ASYNC110
            await asyncio.sleep(0.005)
    assert pred(), what


async def test_login_send_and_typed_dispatch_in_order(fake: FakeAmi) -> None:
    client = _client(fake.port)
    seen: list[AmiEvent] = []
    client.subscribe(CallerJoinedEvent, seen.append)
    client.subscribe(AgentConnectedEvent, seen.append)
    snapshots: list[QueueSnapshotEvent] = []
    client.subscribe(QueueSnapshotEvent, snapshots.append)
    await client.start()
    await client.wait_connected(WAIT)
    login = await fake.wait_action("Login")
    assert login.get("Username") == "hotline" and login.get("Secret") == "s3"

    # QueueAdd: panoramisk 1.4 would wait forever here.
    [resp] = await client.send({"Action": "QueueAdd", "Queue": "hotline-general", "Interface": "PJSIP/agent03"})
    assert isinstance(resp, AmiResponse) and resp.message == "Added interface to queue"

    fake.push(wire.caller_join("9.1") + wire.agent_connect("9.1") + wire.caller_join("9.2", pos=2))
    await _until(lambda: len(seen) == 3, "three events")
    await client.drain()
    assert [type(e).__name__ for e in seen] == ["CallerJoinedEvent", "AgentConnectedEvent", "CallerJoinedEvent"]
    assert [e.uniqueid for e in seen] == ["9.1", "9.1", "9.2"]
    await _until(lambda: bool(snapshots), "resync after login")
    assert snapshots[0].entries[0].uniqueid == "1700000000.7"
    await client.close()
    assert client.state is ConnectionState.CLOSED


async def test_error_response_raises_and_session_stays_up(fake: FakeAmi) -> None:
    fake.replies["queueremove"] = lambda aid: wire.frame(
        "Response: Error", f"ActionID: {aid}", "Message: Unable to remove interface: Not there"
    )
    client = _client(fake.port)
    await client.start()
    await client.wait_connected(WAIT)
    with pytest.raises(AmiActionFailed, match="Not there"):
        await client.send({"Action": "QueueRemove", "Queue": "q", "Interface": "PJSIP/agent09"})
    assert client.connected
    await client.close()


async def test_login_refused_backs_off_then_recovers(fake: FakeAmi) -> None:
    fake.replies["login"] = wire.login_failed
    client = _client(fake.port)
    await client.start()
    await _until(lambda: client.stats["failed_connects"] >= 3, "several refused logins")
    assert not client.connected
    with pytest.raises(AmiNotConnected, match="not connected"):
        await client.send({"Action": "Ping"})
    fake.replies["login"] = wire.login_ok  # e.g. manager.conf reloaded
    await client.wait_connected(WAIT)
    await client.close()


async def test_survives_asterisk_restart_mid_frame_and_resyncs(fake: FakeAmi) -> None:
    client = _client(fake.port)
    states: list[type] = []
    client.subscribe(AmiConnectedEvent, lambda e: states.append(type(e)))
    client.subscribe(AmiDisconnectedEvent, lambda e: states.append(type(e)))
    snapshots: list[QueueSnapshotEvent] = []
    client.subscribe(QueueSnapshotEvent, snapshots.append)
    await client.start()
    await client.wait_connected(WAIT)
    await _until(lambda: len(snapshots) == 1, "first resync")

    # While Asterisk is down a QueueStatus is in flight: it must be re-sent, not lost.
    fake.replies["queuestatus"] = None
    inflight = asyncio.create_task(client.send({"Action": "QueueStatus"}, within=WAIT))
    await fake.wait_action("QueueStatus")
    fake.replies["queuestatus"] = lambda aid: wire.queue_status(aid, waiting_uid="2.2")
    await fake.restart(partial=b"Event: QueueCallerJoin\r\nQueue: hotl")  # EOF inside a frame
    await _until(lambda: states.count(AmiConnectedEvent) == 2, "reconnected")
    result = await asyncio.wait_for(inflight, WAIT)
    assert result[0].success  # type: ignore[attr-defined]
    await _until(lambda: any(s.entries and s.entries[0].uniqueid == "2.2" for s in snapshots), "resync")
    assert states[:3] == [AmiConnectedEvent, AmiDisconnectedEvent, AmiConnectedEvent]
    assert fake.connections == 2
    await client.close()


async def test_originate_in_flight_is_failed_not_resent(fake: FakeAmi) -> None:
    fake.replies["originate"] = None  # Asterisk dies before answering
    client = _client(fake.port)
    await client.start()
    await client.wait_connected(WAIT)
    task = asyncio.create_task(client.send({"Action": "Originate", "Channel": "PJSIP/x", "Async": "true"}))
    await fake.wait_action("Originate")
    await fake.restart()
    with pytest.raises(AmiNotConnected, match="Originate: AMI connection lost"):
        await asyncio.wait_for(task, WAIT)
    await client.wait_connected(WAIT)
    await asyncio.sleep(0.05)
    assert not [m for m in fake.received if m.get("action") == "Originate"]  # not dialled twice
    await client.close()


async def test_async_originate_returns_the_originate_response(fake: FakeAmi) -> None:
    fake.replies["originate"] = lambda aid: wire.originate_queued(aid) + wire.originate_response(aid)
    client = _client(fake.port)
    await client.start()
    await client.wait_connected(WAIT)
    resp, done = await client.send({"Action": "Originate", "Channel": "PJSIP/x", "Async": "true"})
    assert isinstance(done, OriginateFinishedEvent) and done.success and done.reason == 4
    await client.close()


async def test_snapshot_is_applied_before_events_that_follow_it_on_the_wire(fake: FakeAmi) -> None:
    # A caller joins right after the QueueStatus list completes, in the same TCP read:
    # subscribers must see the snapshot first, then the join, never the reverse.
    fake.replies["queuestatus"] = lambda aid: wire.queue_status(aid) + wire.caller_join("after.1")
    client = _client(fake.port)
    order: list[str] = []
    client.subscribe(QueueSnapshotEvent, lambda e: order.append("snapshot"))
    client.subscribe(CallerJoinedEvent, lambda e: order.append(e.uniqueid))

    async def slow_snapshot(_e: QueueSnapshotEvent) -> None:
        await asyncio.sleep(0.01)  # an async subscriber does not let later events overtake

    client.subscribe(QueueSnapshotEvent, slow_snapshot)
    await client.start()
    await client.wait_connected(WAIT)
    await _until(lambda: "after.1" in order, "join delivered")
    assert order[:2] == ["snapshot", "after.1"]
    await client.close()


async def test_failing_subscriber_does_not_stop_the_stream(fake: FakeAmi) -> None:
    client = _client(fake.port)
    got: list[str] = []

    def boom(_e: CallerJoinedEvent) -> None:
        raise RuntimeError("subscriber bug")

    client.subscribe(CallerJoinedEvent, boom)
    client.subscribe(CallerJoinedEvent, lambda e: got.append(e.uniqueid))
    await client.start()
    await client.wait_connected(WAIT)
    fake.push(wire.caller_join("b.1") + wire.frame("Event: QueueCallerJoin", "Uniqueid: 1") + wire.caller_join("b.2"))
    await _until(lambda: got == ["b.1", "b.2"], "both valid joins")
    await _until(lambda: client.stats["invalid_events"] == 1, "invalid one dropped and counted")
    await client.close()
