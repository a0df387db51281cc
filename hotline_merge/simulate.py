"""Dry runs: drive a CallFlow with scripted keys and speech, as `hotline route` and the tests do."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hotline_merge.decision import RoutingDecision
from hotline_merge.flow import (
    CallFlow,
    Collect,
    DigitsEntered,
    Finish,
    NoInput,
    Play,
    Played,
    SpeechHeard,
    Step,
)
from hotline_merge.models import Dialplan

# Text -> an object with the attributes of asr.intent.IntentResult (kind, department, target,
# confidence, name). Injected, so hotline_merge never imports the speech package.
TextMatcher = Callable[[str], Any]

# Every step either consumes script or counts towards a menu's retries, so a real flow ends
# long before this; the cap only turns a bug into an error instead of a hang.
MAX_STEPS = 500


@dataclass
class DryRun:
    decision: RoutingDecision
    steps: list[Step] = field(default_factory=list)
    unused_digits: str = ""
    text_used: bool = False


def dry_run(
    dialplan: Dialplan,
    dnis: str,
    *,
    at: dt.datetime,
    digits: str = "",
    text: str | None = None,
    matcher: TextMatcher | None = None,
) -> DryRun:
    """Run the flow: `text` answers the first Collect that listens for speech, `digits` the
    others in order (one key per one-key Collect; up to `#` or the limit for longer ones);
    when the script runs out the caller stays silent."""
    flow = CallFlow(dialplan, dnis, at)
    step = flow.start()
    steps: list[Step] = [step]
    keys = digits
    text_used = False
    for _ in range(MAX_STEPS):
        if isinstance(step, Finish):
            return DryRun(step.decision, steps, keys, text_used)
        if isinstance(step, Play):
            step = flow.feed(Played())
        elif isinstance(step, Collect):
            if step.speech and text and matcher is not None and not text_used:
                text_used = True
                step = flow.feed(_heard(matcher(text), text))
            elif keys:
                chunk, keys = _take(keys, step.max_digits)
                step = flow.feed(DigitsEntered(chunk))
            else:
                step = flow.feed(NoInput())
        steps.append(step)
    raise RuntimeError(f"call flow for {dnis} did not finish within {MAX_STEPS} steps")


def _take(keys: str, max_digits: int) -> tuple[str, str]:
    if max_digits <= 1:
        return keys[0], keys[1:]
    end = keys.find("#")
    if 0 <= end < max_digits:
        return keys[: end + 1], keys[end + 1 :]
    return keys[:max_digits], keys[max_digits:]


def _heard(result: Any, text: str) -> SpeechHeard:
    return SpeechHeard(
        kind=str(result.kind),
        department=getattr(result, "department", None),
        target=getattr(result, "target", None),
        confidence=float(getattr(result, "confidence", 0.0) or 0.0),
        text=text,
        name=getattr(result, "name", None),
        confirm=bool(getattr(result, "confirm", False)),
    )
