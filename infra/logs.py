"""Structured log lines (`ts level logger msg key=value ...`) with phone numbers masked.

Masking happens in the formatter, so no handler, library or exception message can
leak a caller's number into a log file.
"""

from __future__ import annotations

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


def _quote(value: object) -> str:
    text = str(value)
    return f'"{text}"' if (" " in text or not text) else text


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(MaskingFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # panoramisk logs every AMI frame at INFO/DEBUG; our own edge logs what matters.
    logging.getLogger("panoramisk").setLevel(logging.WARNING)
    # Alembic announces each of its built-in plugins at every start ("setup plugin ..."): noise.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def log_event(logger: logging.Logger, msg: str, level: int = logging.INFO, **fields: object) -> None:
    logger.log(level, msg, extra={"fields": fields})
