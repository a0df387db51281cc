"""Request bodies of the tickets API, validated at the edge with field-level errors."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from infra.phone import canonical_number
from tickets.services import CHANNELS

TicketType = Literal["咨询", "求助", "投诉", "举报", "建议"]
Channel = Literal[CHANNELS]  # type: ignore[valid-type]


def _caller(value: str) -> str:
    if not value:
        return ""
    canonical = canonical_number(value)
    if canonical is None:
        raise ValueError("not a dialable phone number (e.g. 13812345678, 0935-2253337, +86 138 1234 5678)")
    return canonical


# Written any way a person or a SIP URI writes it; stored in one canonical form (infra.phone).
CallerNumber = Annotated[str, Field(max_length=64), AfterValidator(_caller)]


# C0 controls other than tab/newline/CR: a NUL cannot be stored in PostgreSQL text, and none of
# them belongs in a complaint or a department name
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: object) -> object:
        for text in value if isinstance(value, list) else (value,):
            if isinstance(text, str) and _CONTROL.search(text):
                ch = _CONTROL.search(text).group()
                raise ValueError(f"control character U+{ord(ch):04X} at position {text.index(ch)}")
        return value


class CreateTicket(_Body):
    channel: Channel = "phone"
    caller: CallerNumber = ""
    type: TicketType = "咨询"
    text: str = Field(..., min_length=1, max_length=5000)
    title: str = Field("", max_length=200)
    category: str = Field("", max_length=64)
    line_number: str = Field("", max_length=32)


class UpdateTicket(_Body):
    type: TicketType | None = None
    text: str | None = Field(None, min_length=1, max_length=5000)
    title: str | None = Field(None, max_length=200)
    category: str | None = Field(None, max_length=64)


class DispatchBody(_Body):
    department: str = Field(..., min_length=1, max_length=64)
    co_departments: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=20)
    level: str | None = Field(None, max_length=32)


class ReasonBody(_Body):
    reason: str = Field(..., min_length=1, max_length=2000)


class OptionalReasonBody(_Body):
    reason: str = Field("", max_length=2000)


class ExtendBody(_Body):
    working_days: int = Field(..., ge=1, le=60)
    reason: str = Field(..., min_length=1, max_length=2000)


class ReplyBody(_Body):
    text: str = Field(..., min_length=1, max_length=5000)


class CloseBody(_Body):
    mode: Literal["direct", "lawful"]
    text: str = Field(..., min_length=1, max_length=5000)


class VisitBody(_Body):
    result: Literal["satisfied", "basically_satisfied", "unsatisfied"]


class CommentBody(_Body):
    note: str = Field(..., min_length=1, max_length=2000)


class EmptyBody(_Body):
    pass


# ---------------------------------------------------------------- responses (documented in OpenAPI)


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Event(_Out):
    at: str
    actor: str
    action: str
    from_: str | None = Field(alias="from")
    to: str
    note: str


class Due(_Out):
    dispatch: str | None
    sign: str | None
    return_: str | None = Field(alias="return")
    handle: str | None
    handle_original: str | None


class Ticket(_Out):
    """A ticket; `caller` and every phone-like sequence in free text are masked for supervisor and
    admin roles. Same fields as the export format (tickets/EXPORT.md) plus id and version."""

    id: int
    number: str = Field(description="YYYYMMDD-NNNNNN")
    status: str
    channel: str
    caller: str = Field(description="E.164-like (+8613812345678), masked (138****5678) for supervisors/admins")
    line_number: str = Field(description="the public hotline number dialled")
    type: str
    category: str
    level: str
    title: str
    text: str
    policy: str
    lead_department: str | None
    co_departments: list[str]
    department_hint: str
    accepted_at: str
    dispatched_at: str | None
    signed_at: str | None
    replied_at: str | None
    closed_at: str | None
    due: Due
    extension_count: int
    return_count: int
    redo_count: int
    closure: str | None
    satisfaction: str | None
    reply: str | None
    repeat_of_id: int | None
    repeat_count: int
    supervisions: list[str]
    recordings: list[str]
    version: int
    history: list[Event]


class TicketList(_Out):
    items: list[Ticket]
    count: int
