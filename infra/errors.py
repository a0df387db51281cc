"""The one error shape every package raises: a stable `error_id` and the input `field` at fault.

Domain code never imports HTTP: web/ maps `error_id` to a status (web/app.py STATUS_FOR, which
a test keeps complete), the CLIs print the message, and `field` names the input at fault
(a request field, a settings key, a file) when there is one. Each subclass sets its own
`error_id`, stable across releases and safe to show.
"""

from __future__ import annotations

from typing import ClassVar


class DomainError(Exception):
    error_id: ClassVar[str] = "error"

    def __init__(self, message: str = "", *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
