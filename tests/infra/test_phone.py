"""Caller-number normalisation and masking: the ten formats of the privacy probe and more."""

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infra.logs import MaskingFormatter
from infra.phone import canonical_number, find_phones, mask_phones

MOBILE = "+8613812345678"


def _ascii(text):
    return "".join(str(int(c)) if c.isdecimal() else c for c in text)

LANDLINE = "+869352253337"

# The probe's ten formats (six of which leaked before), then more ways people and carriers write them.
TEN_FORMATS = [
    ("13812345678", MOBILE),
    ("138-1234-5678", MOBILE),
    ("+86-138-1234-5678", MOBILE),
    ("008613812345678", MOBILE),
    ("86 138 1234 5678", MOBILE),
    ("１３８１２３４５６７８", MOBILE),
    ("0935-2253337", LANDLINE),
    ("(0935)2253337", LANDLINE),
    ("0935 2253337", LANDLINE),
    ("sip:13812345678@host", MOBILE),
]
MORE_FORMATS = [
    ("+8613812345678", MOBILE),
    ("8613812345678", MOBILE),
    ("138.1234.5678", MOBILE),
    ("138 1234 5678", MOBILE),
    ("+86 (0935) 2253337", LANDLINE),
    ("+86 935 2253337", LANDLINE),
    ("（０９３５）２２５３３３７", LANDLINE),
    ("0935－2253337", LANDLINE),
    ("١٣٨١٢٣٤٥٦٧٨", MOBILE),  # Arabic-Indic digits
    ("tel:+86-138-1234-5678", MOBILE),
    ("sips:008613812345678@10.0.0.1:5061;transport=tls", MOBILE),
    ('"Zhang San" <sip:+8613812345678@192.0.2.1;user=phone>', MOBILE),
    ("010-12345678", "+861012345678"),
    ("+86 10 1234 5678", "+861012345678"),
    ("400-123-4567", "+864001234567"),
    ("+44 20 7946 0958", "+442079460958"),
    ("0044 20 7946 0958", "+442079460958"),
    ("12345", "12345"),
    ("110", "110"),
    ("2253337", "2253337"),
    ("1001", "1001"),
]
NOT_DIALABLE = ["", "   ", "anonymous", "Anonymous", "withheld", "unknown", "sipp", "private", "restricted",
                "sip:anonymous@anonymous.invalid", '"Anonymous" <sip:anonymous@anonymous.invalid>',
                "abc123", "138-1234-567x", "1381234567", "99999999999999999999", "+", "00", "0", "000",
                "12", "+1", "13812345678;drop table", "²", "①"]


@pytest.mark.parametrize(("raw", "canonical"), TEN_FORMATS + MORE_FORMATS)
def test_canonical_number(raw, canonical):
    assert canonical_number(raw) == canonical


@pytest.mark.parametrize("raw", NOT_DIALABLE)
def test_not_dialable_is_none(raw):
    assert canonical_number(raw) is None


def test_canonical_is_a_fixed_point():
    for raw, canonical in TEN_FORMATS + MORE_FORMATS:
        assert canonical_number(canonical) == canonical, raw


@pytest.mark.parametrize(("raw", "_canonical"), TEN_FORMATS + MORE_FORMATS[:17])
def test_every_format_is_masked_in_free_text(raw, _canonical):
    for text in (raw, f"我的电话是{raw}，请回电", f"caller={raw} line=12345", f"({raw})"):
        masked = mask_phones(text)
        assert "****" in masked, text
        assert find_phones(masked) == [], masked
        digits = canonical_number(raw).removeprefix("+86")
        assert digits not in "".join(c for c in mask_phones(_ascii(masked)) if c.isdigit())


@pytest.mark.parametrize(("text", "masked"), [
    ("caller=13812345678 dnis=12345", "caller=138****5678 dnis=12345"),
    ("from +8613912345678", "from 139****5678"),
    ("landline 0935-2253337", "landline 0935****3337"),
    ("请拨（0935）2253337转", "请拨0935****3337转"),
    ("电话 138 1234 5678 或 0935 2253337", "电话 138****5678 或 0935****3337"),
    ("北京 010-12345678", "北京 010****5678"),
    ("1 3 8 1 2 3 4 5 6 7 8", "138****5678"),
    ("local 8888 6666 and 2253337", "local ****66 and ****37"),
])
def test_mask_examples(text, masked):
    assert mask_phones(text) == masked


@pytest.mark.parametrize("text", [
    "queue 12333 and 110 stay, 12345 and 95598 and 12315 too",
    "2026-12-03T11:01:52.123 INFO ivr.agi call=1764759712.1 took 20 ms",
    "ticket 2026120300001 opened 20261203; version 1.2.3 port 5060 pid 31337",
    "amount 1,000,000 yuan on 2026/12/03",
    "",
])
def test_non_phone_numbers_stay_readable(text):
    assert mask_phones(text) == text


def test_log_formatter_masks_message_fields_and_exceptions():
    fmt = MaskingFormatter()
    try:
        raise ValueError("bad caller 138-1234-5678")
    except ValueError:
        import sys
        exc = sys.exc_info()
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "routing decision for %s", ("+86 138 1234 5678",), exc)
    record.fields = {"caller": "008613812345678", "note": "回电 (0935)2253337"}
    line = fmt.format(record)
    assert find_phones(line) == [], line
    assert line.count("138****5678") >= 3 and "0935****3337" in line


digit_chars = st.sampled_from("0123456789")
separators = st.sampled_from(["", " ", "-", ".", "－", "\u3000", " - "])


@st.composite
def written_mobiles(draw):
    digits = "1" + draw(st.sampled_from("3456789")) + "".join(draw(st.lists(digit_chars, min_size=9, max_size=9)))
    a, b = draw(separators), draw(separators)
    prefix = draw(st.sampled_from(["", "+86", "+86 ", "+86-", "0086", "86 ", "0086 "]))
    text = f"{prefix}{digits[:3]}{a}{digits[3:7]}{b}{digits[7:]}"
    if draw(st.booleans()):  # full-width digits
        text = "".join(chr(ord(c) - ord("0") + 0xFF10) if c.isdigit() else c for c in text)
    return digits, text


@settings(max_examples=300, deadline=None)
@given(written_mobiles(), st.text(alphabet="我的电话是请回拨谢，。 abc=:", max_size=8),
       st.text(alphabet="我的电话是请回拨谢，。 abc=:", max_size=8))
def test_any_written_mobile_is_normalised_and_masked(mobile, before, after):
    digits, written = mobile
    assert canonical_number(written) == "+86" + digits
    masked = mask_phones(before + written + after)
    assert f"{digits[:3]}****{digits[-4:]}" in masked
    assert find_phones(masked) == []


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_masking_is_idempotent_and_total(text):
    once = mask_phones(text)
    assert mask_phones(once) == once
    assert find_phones(once) == []
    canonical_number(text)  # never raises


def test_call_ids_are_not_masked_but_numbers_beside_them_are() -> None:
    # AudioSocket/Asterisk uuids carry digit runs ("b1385786-1385-...") that read like numbers
    line = "utterance uuid=b1385786-1385-4daf-a0aa-af09b99e8132 caller=13812345678"
    masked = mask_phones(line)
    assert "uuid=b1385786-1385-4daf-a0aa-af09b99e8132" in masked
    assert "13812345678" not in masked
