"""Scanning log output for phone numbers, independently of infra.phone's own rules.

The scan is deliberately broader than the masking: any run of 7 to 15 digits (any Unicode digits,
with spaces, dashes, dots or brackets between them, + or 00 in front) counts as a possible number
unless it has one of the shapes the engine logs that are not numbers (ticket numbers, dates,
Asterisk unique ids, IP addresses, UUIDs). Written without separators, only the shapes a number
can have count (11 digits from 1, 10-12 from 0, 7-8 local digits, 86/+/00 in front): a 10-digit
id like 2147483648 is not a number. A number the masking misses shows up here.
"""

from __future__ import annotations

import re
import unicodedata

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_ACCESS = re.compile(r'" \d{3} \d+ "')  # aiohttp access log: "GET /path HTTP/1.1" 200 39355 "-"
_CONTIGUOUS = re.compile(r"(?:\+|00)\d{7,15}|(?:86)?1\d{10}|0\d{9,11}|[2-9]\d{6,7}")
_CANDIDATE = re.compile(r"[+\uff0b]?[\d(\uff08][\d \-.()\uff08\uff09\uff0d\u3000]*\d")
_NOT_A_NUMBER = [re.compile(p) for p in (
    r"\d{8}-\d{6}",  # ticket number YYYYMMDD-NNNNNN
    r"\d{4}-\d\d-\d\d(?: \d\d)?",  # ISO date (and the hour after a space)
    r"1[5-9]\d{8}\.\d{1,6}",  # Asterisk unique id (epoch seconds.sequence)
    r"1[5-9]\d{8}(?:\.\d+)?",  # epoch seconds
    r"(?:\d{1,3}\.){3}\d{1,3}",  # IPv4 address
    r"\d+\.\d+",  # decimals: durations, ratios
    r"(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])",  # compact date
)]


def _digits(text: str) -> str:
    return "".join(str(unicodedata.decimal(c)) for c in text if c.isdecimal())


def unmasked_numbers(line: str) -> list[str]:
    """Digit runs in `line` that could be a phone number written out in full."""
    found = []
    line = "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in unicodedata.normalize("NFKC", line))
    line = _ACCESS.sub('" status "', _UUID.sub("uuid", line))
    for m in _CANDIDATE.finditer(line):
        text = m.group().strip(" -.()（）")
        digits = _digits(text)
        if not 7 <= len(digits) <= 15 or any(p.fullmatch(text) for p in _NOT_A_NUMBER):
            continue
        if text.lstrip("+").isdigit() and not _CONTIGUOUS.fullmatch(text):
            continue
        # allowed shapes side by side (a date and an hour, an id and a count)
        parts = text.split()
        known = [any(p.fullmatch(part) for p in _NOT_A_NUMBER) for part in parts]
        if len(parts) > 1 and any(known) and all(k or len(_digits(part)) < 3 for k, part in zip(known, parts, strict=True)):
            continue
        found.append(text)
    return found
