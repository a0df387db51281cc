"""The session log scan (tests/conftest.py) catches every written form of a number and passes masked ones."""

import pytest

from infra.phone import mask_phones
from tests.infra.test_phone import MORE_FORMATS, TEN_FORMATS
from tests.support.logscan import unmasked_numbers

LINE = "2026-12-03T11:01:52.123 INFO ivr.services routing decision call=1764759712.45 caller={} line=12345 route=menu.1"


@pytest.mark.parametrize(("written", "_c"), TEN_FORMATS + MORE_FORMATS[:17])
def test_scan_flags_a_number_and_not_its_masked_form(written, _c):
    assert unmasked_numbers(LINE.format(written)), written
    assert unmasked_numbers(mask_phones(LINE.format(written))) == []


@pytest.mark.parametrize("line", [
    "2026-12-03T11:01:52.123 INFO tickets.services ticket created ticket=20261203-000001 channel=phone line=12345",
    "2026-12-03 11:01:52 WARNING agent_queue.ami connected host=127.0.0.1:5038 took=0.0123456",
    "call=1764759712.45 uniqueid=1764759712 dialplan v3 queue=hotline-general",
])
def test_scan_passes_what_the_engine_logs_that_is_not_a_number(line):
    assert unmasked_numbers(line) == []
