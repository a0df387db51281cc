"""Request bodies of the tickets API, validated at the edge with field-level errors."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tickets.services import CHANNELS

TicketType = Literal["咨询", "求助", "投诉", "举报", "建议"]
Channel = Literal[CHANNELS]  # type: ignore[valid-type]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CreateTicket(_Body):
    channel: Channel = "phone"
    caller: str = Field("", max_length=32, pattern=r"^[0-9+\-]*$")
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
    co_departments: list[str] = Field(default_factory=list, max_length=20)
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
