"""Asterisk's queue_log, read back: what app_queue recorded about each queued call.

app_queue writes one line per queue event, `time|uniqueid|queue|agent|event|data1|data2|...`,
whether or not the engine is connected (the dev PBX writes /var/log/asterisk/queue_log). It is
the record to rebuild the 24-hour figures from for calls the engine did not see, e.g. callers
the dialplan sent to the fallback queue while the engine was down. Pure: text in, calls out.

Events used (Asterisk's queue_log documentation):
  ENTERQUEUE  url|callerid|position
  CONNECT     holdtime|bridged uniqueid|ringtime         -> answered
  ABANDON     position|origposition|waittime             -> gave up
  EXITWITHTIMEOUT / EXITEMPTY  position|origposition|waittime
  EXITWITHKEY key|position|origposition|waittime
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from agent_queue.sla import CallOutcome, Result

_LEFT = {"ABANDON": 2, "EXITWITHTIMEOUT": 2, "EXITEMPTY": 2, "EXITWITHKEY": 3}  # event -> waittime field


@dataclass(frozen=True, slots=True)
class QueuedCall:
    """One settled queue call as app_queue recorded it."""

    uniqueid: str
    queue: str
    caller_id: str
    entered_at: float
    settled_at: float
    wait_s: float
    answered: bool
    agent: str = ""

    def outcome(self) -> CallOutcome:
        result = Result.ANSWERED if self.answered else Result.ABANDONED
        return CallOutcome(self.queue, self.uniqueid, self.entered_at, self.settled_at, self.wait_s, result)


def _number(text: str, default: float = 0.0) -> float:
    try:
        return float(text)
    except ValueError:
        return default


def parse(lines: Iterable[str], *, since: float = 0.0) -> list[QueuedCall]:
    """Calls settled at or after `since`, in settle order. Lines that are not queue_log records
    (torn last line, other formats) are skipped; a call still waiting is not settled yet."""
    entered: dict[tuple[str, str], tuple[float, str]] = {}
    out: list[QueuedCall] = []
    for line in lines:
        f = line.rstrip("\n").split("|")
        if len(f) < 5 or f[1] in ("", "NONE"):
            continue
        at = _number(f[0], -1.0)
        if at < 0:
            continue
        uid, queue, agent, event, data = f[1], f[2], f[3], f[4], f[5:]
        key = (uid, queue)
        if event == "ENTERQUEUE":
            entered[key] = (at, data[1] if len(data) > 1 else "")
            continue
        if event == "CONNECT":
            wait = _number(data[0]) if data else 0.0
            answered, agent_id = True, "" if agent == "NONE" else agent
        elif event in _LEFT:
            i = _LEFT[event]
            wait = _number(data[i]) if len(data) > i else 0.0
            answered, agent_id = False, ""
        else:
            continue
        start, caller = entered.pop(key, (at - wait, ""))
        if at >= since:
            out.append(QueuedCall(uid, queue, caller, start, at, wait, answered, agent_id))
    return out


def read(path: Path, *, since: float = 0.0) -> list[QueuedCall]:
    """The calls of a queue_log file; none when Asterisk has not written one yet."""
    try:
        with path.open(encoding="utf-8", errors="replace") as fh:
            return parse(fh, since=since)
    except FileNotFoundError:
        return []
