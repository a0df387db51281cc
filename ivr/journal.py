"""What happened in the IVR for each recent call, for the agent's screen pop (来电弹屏).

Kept in memory by uniqueid (the caller's channel, the same id the queue events carry), a
bounded number of calls; the composition root hands `get` to the web desktop. Plain dicts
out, so the reader needs nothing from ivr/.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class IvrStep:
    prompt: str
    text: str = ""  # what the caller heard, shortened
    keys: str = ""
    said: str = ""
    intent: str = ""
    department: str = ""
    confidence: float | None = None


@dataclass
class CallRecord:
    uniqueid: str
    caller: str
    dnis: str
    started: float
    steps: list[IvrStep] = field(default_factory=list)
    decision: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["keys"] = "".join(s.keys for s in self.steps)
        return data


class CallJournal:
    def __init__(self, *, keep: int = 5000) -> None:
        self.keep = keep
        self._calls: OrderedDict[str, CallRecord] = OrderedDict()

    def begin(self, uniqueid: str, *, caller: str, dnis: str) -> CallRecord:
        rec = self._calls[uniqueid] = CallRecord(uniqueid, caller, dnis, time.time())
        while len(self._calls) > self.keep:
            self._calls.popitem(last=False)
        return rec

    def step(self, uniqueid: str, step: IvrStep) -> None:
        rec = self._calls.get(uniqueid)
        if rec is not None:
            rec.steps.append(step)

    def decided(self, uniqueid: str, decision: dict[str, Any]) -> None:
        rec = self._calls.get(uniqueid)
        if rec is not None:
            rec.decision = decision

    def get(self, uniqueid: str) -> dict[str, Any] | None:
        rec = self._calls.get(uniqueid)
        return None if rec is None else rec.as_dict()
