"""Resetting the PBX's queues between PBX tests."""

from __future__ import annotations

from tests.support.ami_watch import AmiWatch


async def hang_up_waiting_callers(ami_watch: AmiWatch) -> int:
    """Callers an earlier test left in a queue (a SIPp call that died without its BYE keeps its
    channel) would be rung to our agents ahead of our callers: hang them up."""
    mark = ami_watch.mark()
    await ami_watch.action({"Action": "QueueStatus"})
    await ami_watch.wait_for("QueueStatusComplete", since=mark, timeout=10)
    entries = ami_watch.since(mark, "QueueEntry")
    for entry in entries:
        await ami_watch.action({"Action": "Hangup", "Channel": entry["Channel"]})
    return len(entries)
