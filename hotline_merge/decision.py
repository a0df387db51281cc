"""The routing decision a call flow ends with: what the IVR sets on the channel."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Action = Literal["queue", "transfer", "emergency", "explain", "selfservice", "voicemail"]


@dataclass(frozen=True)
class RoutingDecision:
    """Where a call goes. `prompts` are the texts the caller heard, in play order.

    queue: Asterisk queue for action `queue`; target: Dial() string for `transfer`, the
    emergency number for `emergency`, the not-accepted matter id for `explain`;
    ticket_variable: channel variable that must carry the ticket id (sub-center hand-off);
    ticket_number: digits the caller keyed in at the progress lookup.
    """

    line_number: str
    line_name: str
    mode: str
    department: str | None
    queue: str | None
    action: Action
    target: str | None
    prompts: tuple[str, ...]
    route: str
    ticket_type: str | None = None
    selfservice_answer: str | None = None
    ticket_number: str | None = None
    ticket_variable: str | None = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["prompts"] = list(self.prompts)
        return data
