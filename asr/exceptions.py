"""Speech errors. Each carries a stable `id` so callers (IVR, web) map it without parsing text."""

from __future__ import annotations


class AsrError(Exception):
    id = "asr-error"


class FrameError(AsrError):
    """An AudioSocket frame that breaks the protocol; the message names the frame and byte offset."""

    id = "audiosocket-bad-frame"


class ModelUnavailable(AsrError):
    """The configured Vosk model is missing or broken; the message names the path."""

    id = "asr-model-unavailable"


class ModelFetchFailed(AsrError):
    id = "asr-model-fetch-failed"


class RecognizerOverloaded(AsrError):
    """Every decoder thread is busy and the wait queue is full: shed this call to keys."""

    id = "asr-overloaded"
