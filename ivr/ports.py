"""The call path's seams: what `CallService` needs from the other packages, as Protocols.

The composition root (hotline/engine.py) passes the real services -- tickets.TicketService,
tickets.ReturnVisitService, asr.SpeechService, ivr.PromptLibrary and the engine's
DialplanHolder -- and they match these structurally; a unit test passes small fakes and drives
CallService over a fake Asterisk without a PBX (tests/ivr/test_call_service.py). ivr imports
none of those packages for this: the types below name only what the call flow uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from hotline_merge.models import Dialplan


class DialplanPort(Protocol):
    """The running dialplan; `current` is swapped in one assignment on reload."""

    @property
    def current(self) -> Dialplan: ...


class PromptPort(Protocol):
    async def ensure(self, prompt_id: str, text: str) -> str:
        """The prompt's file path for STREAM FILE / GET DATA (no extension), rendered if needed."""
        ...


class TicketRefLike(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def number(self) -> str: ...


class TicketPort(Protocol):
    """The tickets package's IVR-facing calls (docs/interfaces.md)."""

    async def open_from_call(self, *, caller: str, line_number: str, department: str, call_id: str,
                             route: str, ticket_type: str | None = None) -> TicketRefLike: ...

    async def mark_abandoned(self, ticket_id: int, *, stage: str) -> Any: ...

    async def record_not_accepted(self, ticket_id: int, *, matter: str) -> Any: ...

    async def close_direct(self, ticket_id: int, *, answer: str) -> Any: ...

    async def attach_voicemail(self, ticket_id: int, *, recording_path: str) -> Any: ...

    async def progress_text(self, ticket_number: str) -> str | None: ...


class VisitPort(Protocol):
    """Return visits (回访): the survey call's text and its result."""

    async def survey_prompt_text(self, ticket_id: int) -> str: ...

    async def record_survey_result(self, ticket_id: int, digit: str) -> Any: ...


class UtteranceLike(Protocol):
    @property
    def text(self) -> str: ...


class IntentLike(Protocol):
    @property
    def kind(self) -> Any: ...  # asr's IntentKind literal

    @property
    def department(self) -> str | None: ...

    @property
    def target(self) -> str | None: ...

    @property
    def confidence(self) -> float: ...

    @property
    def name(self) -> str | None: ...


class SpeechPort(Protocol):
    """asr's SpeechService as the call flow uses it: listen over AudioSocket, match an intent."""

    @property
    def available(self) -> bool: ...

    @property
    def address(self) -> str:
        """`host:port` for `AudioSocket(<uuid>,<address>)`."""
        ...

    async def listen(self, call_uuid: str, *, grammar: Sequence[str] | None = None,
                     timeout: float = 5.0) -> UtteranceLike: ...  # noqa: ASYNC109 - the asr contract

    def phrases(self, plan: Any = None) -> list[str]: ...

    def match(self, text: str, *, plan: Any = None) -> IntentLike: ...
