"""Speech errors. Each carries a stable `error_id` so callers (IVR, web) map it without parsing text."""

from __future__ import annotations

from infra.errors import DomainError


class AsrError(DomainError):
    error_id = "asr-error"


class FrameError(AsrError):
    """An AudioSocket frame that breaks the protocol; the message names the frame and byte offset."""

    error_id = "audiosocket-bad-frame"


class ModelUnavailable(AsrError):
    """The configured Vosk model is missing or broken; the message names the path."""

    error_id = "asr-model-unavailable"


class ModelFetchFailed(AsrError):
    error_id = "asr-model-fetch-failed"


class RecognizerOverloaded(AsrError):
    """Every decoder thread is busy and the wait queue is full: shed this call to keys."""

    error_id = "asr-overloaded"
