"""Structured log lines (`ts level logger msg key=value ...`, or one JSON object per line for a
log shipper) with phone numbers masked.

Masking happens in the formatter, so no handler, library or exception message can
leak a caller's number into a log file.
"""

from __future__ import annotations

import json
import logging
import sys
import time

from infra.phone import mask_phones

# Kept for callers of the old name; infra.phone holds the rules.
mask_phone = mask_phones


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
        return mask_phones(line)


class JsonMaskingFormatter(logging.Formatter):
    """`{"ts": ..., "level": ..., "logger": ..., "msg": ..., <fields>}`; every string value masked."""

    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(record.created))
        line: dict[str, object] = {"ts": f"{ts}.{int(record.msecs):03d}", "level": record.levelname,
                                   "logger": record.name, "msg": mask_phone(record.getMessage())}
        for key, value in (getattr(record, "fields", None) or {}).items():
            if key in line:
                key = f"field_{key}"
            masked = mask_phone(str(value))
            # numbers stay JSON numbers unless they look like a phone number (an int caller ID)
            keep = (isinstance(value, int | float | bool) or value is None) and masked == str(value)
            line[key] = value if keep else masked
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
    # Alembic announces each of its built-in plugins at every start ("setup plugin ..."): noise.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def log_event(logger: logging.Logger, msg: str, level: int = logging.INFO, **fields: object) -> None:
    logger.log(level, msg, extra={"fields": fields})
