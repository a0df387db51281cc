"""Structured log lines (`ts level logger msg key=value ...`, or one JSON object per line for a
log shipper) with phone numbers masked.

Masking happens in the formatter, so no handler, library or exception message can
leak a caller's number into a log file.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time

# Mobile numbers (11 digits starting 1[3-9]) and landlines with an area code (0xx-xxxxxxx).
# Service numbers such as 12345 or 110 are short and stay readable.
_MOBILE = re.compile(r"(?<!\d)(?:\+?86)?(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})-?(\d{3,4})(\d{4})(?!\d)")


def mask_phone(text: str) -> str:
    """`13812345678` -> `138****5678`; `0935-2253337` -> `0935****3337`."""
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    return _LANDLINE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


class MaskingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(record.created))
        parts = [f"{ts}.{int(record.msecs):03d}", record.levelname, record.name, record.getMessage()]
        fields = getattr(record, "fields", None)
        if fields:
            parts.extend(f"{k}={_quote(v)}" for k, v in fields.items())
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return mask_phone(line)


class JsonMaskingFormatter(logging.Formatter):
    """`{"ts": ..., "level": ..., "logger": ..., "msg": ..., <fields>}`; every string value masked."""

    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(record.created))
        line: dict[str, object] = {"ts": f"{ts}.{int(record.msecs):03d}", "level": record.levelname,
                                   "logger": record.name, "msg": mask_phone(record.getMessage())}
        for key, value in (getattr(record, "fields", None) or {}).items():
            if key in line:
                key = f"field_{key}"
            line[key] = value if isinstance(value, int | float | bool) or value is None else mask_phone(str(value))
        if record.exc_info:
            line["exc"] = mask_phone(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


def _quote(value: object) -> str:
    text = str(value)
    return f'"{text}"' if (" " in text or not text) else text


def setup_logging(level: str = "INFO", fmt: str = "text") -> None:
    """`fmt` "text" (key=value lines) or "json" (one object per line, e.g. for journald/Loki)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonMaskingFormatter() if fmt == "json" else MaskingFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # panoramisk logs every AMI frame at INFO/DEBUG; our own edge logs what matters.
    logging.getLogger("panoramisk").setLevel(logging.WARNING)
    # alembic announces its plugins and migration context at INFO on every start-up.
    logging.getLogger("alembic").setLevel(logging.WARNING)


def log_event(logger: logging.Logger, msg: str, level: int = logging.INFO, **fields: object) -> None:
    logger.log(level, msg, extra={"fields": fields})
