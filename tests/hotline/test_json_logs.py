"""JSON log lines: one object a line, fields kept, phone numbers masked in every string."""

from __future__ import annotations

import json
import logging

from infra.logs import JsonMaskingFormatter, log_event


def test_json_lines_carry_fields_and_mask_numbers(caplog):
    logger = logging.getLogger("test.json")
    with caplog.at_level(logging.INFO, logger="test.json"):
        log_event(logger, "caller 13812345678 queued", queue="hotline-general", caller="13812345678", wait=12.5,
                  raw=13912345678)
        try:
            raise ValueError("bad number 0935-2253337")
        except ValueError:
            logger.exception("failed")
    first, second = (json.loads(JsonMaskingFormatter().format(r)) for r in caplog.records)
    assert first["msg"] == "caller 138****5678 queued"
    assert first["caller"] == "138****5678"
    assert "13912345678" not in json.dumps(first)  # an int caller ID is masked too
    assert (first["queue"], first["wait"], first["level"], first["logger"]) == ("hotline-general", 12.5, "INFO", "test.json")
    assert "0935****3337" in second["exc"] and "2253337" not in second["exc"]
