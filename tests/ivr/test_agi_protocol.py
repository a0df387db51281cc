"""AGI parsing is pure: bytes in, responses or exceptions out."""

import asyncio

import pytest

from ivr.agi import AgiRequest, parse_header_line, parse_response, read_request
from ivr.exceptions import (
    AgiDeadChannel,
    AgiHangup,
    AgiInvalidCommand,
    AgiProtocolError,
    AgiUsageError,
)


@pytest.mark.parametrize(
    ("line", "result", "value", "data", "extra"),
    [
        ("200 result=0", 0, "0", "", ""),
        ("200 result=1 (PJSIP/trunk-00000001)", 1, "1", "PJSIP/trunk-00000001", ""),
        ("200 result=012 (timeout)", 12, "012", "timeout", ""),
        ("200 result= (timeout)", 0, "", "timeout", ""),
        ("200 result=49 endpos=12345", 49, "49", "", "endpos=12345"),
        ("200 result=-1", -1, "-1", "", ""),
    ],
)
def test_parse_response(line, result, value, data, extra):
    r = parse_response(line)
    assert (r.result, r.value, r.data, r.extra) == (result, value, data, extra)


@pytest.mark.parametrize(
    ("line", "exc"),
    [
        ("HANGUP", AgiHangup),
        ("510 Invalid or unknown command", AgiInvalidCommand),
        ("511 Command Not Permitted on a dead channel or intercept routine", AgiDeadChannel),
        ("520-Invalid command syntax.  Proper usage follows:", AgiUsageError),
        ("garbage", AgiProtocolError),
        ("200 nothing", AgiProtocolError),
        ("302 result=1", AgiProtocolError),
        ("200 result=99999999999999999999", AgiProtocolError),
        ("200 result=-99999999999", AgiProtocolError),
        ("200 result=2147483648", AgiProtocolError),
    ],
)
def test_parse_response_errors(line, exc):
    with pytest.raises(exc):
        parse_response(line)


@pytest.mark.parametrize("line", ["agi_uniqueid: 1.1\x00", "agi_callerid: 138\x1b[31m", "agi_channel: a\x7fb"])
def test_header_line_with_control_characters_is_refused(line):
    with pytest.raises(AgiProtocolError, match="control character"):
        parse_header_line(line)


def test_header_line_needs_agi_prefix():
    assert parse_header_line("agi_channel: PJSIP/trunk-1") == ("channel", "PJSIP/trunk-1")
    with pytest.raises(AgiProtocolError, match="malformed AGI header"):
        parse_header_line("channel PJSIP/trunk-1")


def _reader(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader(limit=8192)
    reader.feed_data(data)
    reader.feed_eof()
    return reader


async def test_request_from_headers_takes_script_and_args():
    raw = (
        b"agi_network: yes\nagi_network_script: call?lang=zh\nagi_request: agi://127.0.0.1:4573/call\n"
        b"agi_channel: PJSIP/trunk-00000002\nagi_uniqueid: 1700000000.2\nagi_callerid: 13812345678\n"
        b"agi_calleridname: unknown\nagi_extension: s\nagi_context: hotline-call\nagi_arg_1: 12333\n\n"
    )
    req = await read_request(_reader(raw))
    assert isinstance(req, AgiRequest)
    assert req.script == "call"
    assert req.params == {"lang": "zh"}
    assert req.arguments == ("12333",)
    assert req.calleridname == ""  # "unknown" means absent
    assert req.callerid == "+8613812345678"  # canonical form; Asterisk's text stays in raw
    assert req.raw["callerid"] == "13812345678"


async def test_request_eof_before_blank_line_is_an_error_not_a_spin():
    with pytest.raises(AgiHangup):
        await read_request(_reader(b"agi_channel: PJSIP/x\n"))


async def test_request_without_channel_is_rejected():
    with pytest.raises(AgiProtocolError, match="agi_channel"):
        await read_request(_reader(b"agi_uniqueid: 1.1\n\n"))


async def test_header_block_has_a_total_deadline():
    """One valid line every now and then within the per-line timeout still ends at the deadline."""
    from ivr.agi import AgiHeaderTimeout

    reader = asyncio.StreamReader(limit=8192)

    async def dribble():
        for n in range(100):
            reader.feed_data(f"agi_x{n}: y\n".encode())
            await asyncio.sleep(0.05)

    task = asyncio.create_task(dribble())
    try:
        with pytest.raises(AgiHeaderTimeout, match="within 0.3 s"):
            await read_request(reader, timeout=1.0, deadline=0.3)
    finally:
        task.cancel()


@pytest.mark.parametrize(("raw", "callerid"), [
    ("anonymous", ""), ("sipp", ""), ("unknown", ""), ("+86-138-1234-5678", "+8613812345678"),
    ("(0935)2253337", "+869352253337"), ("", ""),
])
def test_callerid_is_canonical_at_the_edge(raw, callerid):
    req = AgiRequest.from_headers({"channel": "PJSIP/x", "uniqueid": "1.1", "callerid": raw})
    assert req.callerid == callerid and req.raw["callerid"] == raw
