"""The channel-variable contract between the engine and the generated dialplan.

The engine answers the dialplan's `AGI(agi://.../call)` by setting these variables; the
[hotline-call] context in asterisk/templates/extensions.conf branches on them. Every name the
engine sets and every IVR_* name the template reads is a member here, and
tests/ivr/test_channel_vars.py parses the template to keep the two sides in step.

`reader` says who consumes a variable:
- "dialplan": [hotline-call] branches on it (the template must read it);
- "record": not branched on; it stays on the channel for everything that watches the call
  (AMI VarSet events the supervisor tools and the e2e tests read, the agent's screen pop
  through the queue, the call's CDR variables).
"""

from __future__ import annotations

import enum
from typing import Literal

Reader = Literal["dialplan", "record"]


class ChannelVar(enum.StrEnum):
    """Channel variables the engine sets for the dialplan (values are the Asterisk names)."""

    ACTION = "IVR_ACTION"  # queue | dial | done; unset = the line's fallback queue
    QUEUE = "IVR_QUEUE"  # app_queue queue for ACTION=queue
    DIAL = "IVR_DIAL"  # Dial() string for ACTION=dial (transfer, emergency, sub-center trunk)
    ROUTE = "IVR_ROUTE"  # the flow's route label, e.g. main:1 or emergency; "fallback:..." set by the dialplan
    DEPARTMENT = "IVR_DEPARTMENT"  # department the caller asked for ("" = general)
    TARGET = "IVR_TARGET"  # the number a dial decision goes to (110, 120, a sub-center)
    TICKET_ID = "TICKET_ID"  # the 12345 ticket number, opened before the caller is queued
    CALLBACK_OK = "HOTLINE_CALLBACK_OK"  # 1: a dialable caller ID; [hotline-queue-exit] takes key 1

    @property
    def reader(self) -> Reader:
        return _READERS[self]


_READERS: dict[ChannelVar, Reader] = {
    ChannelVar.ACTION: "dialplan",
    ChannelVar.QUEUE: "dialplan",
    ChannelVar.DIAL: "dialplan",
    ChannelVar.ROUTE: "record",
    ChannelVar.DEPARTMENT: "record",
    ChannelVar.TARGET: "record",
    ChannelVar.TICKET_ID: "record",
    ChannelVar.CALLBACK_OK: "dialplan",
}


class IvrAction(enum.StrEnum):
    """Values of IVR_ACTION the template branches on."""

    QUEUE = "queue"
    DIAL = "dial"
    DONE = "done"
