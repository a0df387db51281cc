"""Errors of the dialplan domain. Each carries a stable id the web layer can map."""

from __future__ import annotations

from dataclasses import dataclass

from infra.errors import DomainError


@dataclass(frozen=True, order=True)
class DialplanIssue:
    """One problem in a dialplan file, positioned 1-based like compilers and editors do."""

    file: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.message}"


class DialplanError(DomainError):
    error_id = "dialplan-error"


class DialplanInvalid(DialplanError):
    """The YAML cannot be run; `.errors` lists every problem found, in file order."""

    error_id = "dialplan-invalid"

    def __init__(self, errors: list[DialplanIssue]) -> None:
        self.errors = sorted(errors)
        super().__init__("\n".join(str(e) for e in self.errors) or "dialplan invalid",
                         field=self.errors[0].file if self.errors else None)


class NoSuchLine(DialplanError):
    """The dialled number (DNIS) is not a line of this dialplan."""

    error_id = "no-such-line"

    def __init__(self, number: str) -> None:
        self.number = number
        super().__init__(f"no line has number {number!r}")


class IllegalFlowEvent(DialplanError):
    """An event arrived that the call flow's current step does not accept."""

    error_id = "illegal-call-flow-event"
