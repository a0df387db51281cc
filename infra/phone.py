"""Caller numbers: one canonical form on input, and masking of every phone-like sequence in text.

`canonical_number` turns a caller ID however Asterisk, a carrier or a web form wrote it into
one E.164-like form, so that the same citizen is the same string everywhere (tickets,
call-back book, the supervisor's ?caller= filter):

- Chinese mobiles and landlines become `+86...` (the trunk 0 of a landline is dropped,
  as E.164 does): `138-1234-5678` -> `+8613812345678`, `(0935)2253337` -> `+869352253337`;
- foreign numbers written with `+` or `00` keep their country code: `+44 20 7946 0958`;
- short service numbers, extensions and local numbers without an area code (3-8 digits)
  stay bare digits: `12345`, `110`, `2253337`;
- anything else (anonymous, withheld, `unknown`, SIPp's default `sipp`, letters, too few or
  too many digits) is None: not dialable, so nothing calls it back.

`mask_phones` finds every phone-like sequence in free text, written with spaces, dashes,
dots, brackets, full-width or other Unicode digits and +86/0086/86 prefixes, and keeps
only enough of it to tell numbers apart (`138****5678`, `0935****3337`). Short service
numbers (12345, 110, 95598) are not phone-like and stay readable, as do dates, times and
Asterisk unique ids (`1764759712.1`).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["canonical_number", "find_phones", "mask_phones"]

# Separators people and systems put inside numbers: spaces (also no-break and ideographic),
# ASCII and Unicode dashes, dots (ASCII and full-width), slashes.
_SEPARATORS = " \t\u00a0\u3000-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d.\uff0e/"
_OPEN = "(\uff08["
_CLOSE = ")\uff09]"
_PLUS = "+\uff0b"

_NOT_DIALABLE = frozenset({
    "", "anonymous", "withheld", "unknown", "unavailable", "private", "restricted", "sipp",
    "none", "null", "asterisk", "invalid",
})

_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"0[1-9]\d{8,10}")  # trunk 0, 2-3 digit area code, 7-8 digit local number
_LANDLINE_INTL = re.compile(r"[1-9]\d{8,10}")  # the same after +86, without the trunk 0
_BUSINESS = re.compile(r"[48]00\d{7}")  # 400 / 800 numbers
_LOCAL = re.compile(r"[2-9]\d{6,7}")  # local landline without area code
_DATE = re.compile(r"(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])")


def _ascii_digits(text: str) -> str:
    """Every Unicode decimal digit (full-width, Arabic-Indic, ...) as its ASCII digit."""
    out = []
    for ch in text:
        if ch.isdecimal() and not ("0" <= ch <= "9"):
            out.append(str(unicodedata.decimal(ch)))
        else:
            out.append(ch)
    return "".join(out)


def canonical_number(raw: str | None) -> str | None:
    """The caller's number in one E.164-like form, or None when it is not a dialable number."""
    if not isinstance(raw, str):
        return None
    text = _ascii_digits(unicodedata.normalize("NFKC", raw)).strip()
    if "<" in text and text.endswith(">"):  # '"Name" <sip:138...@host>'
        text = text[text.rindex("<") + 1:-1].strip()
    low = text.lower()
    for scheme in ("sips:", "sip:", "tel:"):
        if low.startswith(scheme):
            # a URI: the user part, without host and parameters
            text = text[len(scheme):].split("@", 1)[0].split(";", 1)[0].strip()
            break
    if text.lower() in _NOT_DIALABLE:
        return None
    compact = "".join(ch for ch in text if ch not in _SEPARATORS and ch not in _OPEN and ch not in _CLOSE)
    if compact.startswith("+"):
        digits, international = compact[1:], True
    elif compact.startswith("00"):
        digits, international = compact[2:], True
    else:
        digits, international = compact, False
    if not digits.isascii() or not digits.isdigit():
        return None
    if international:
        if digits.startswith("86"):
            return _chinese(digits[2:], after_country_code=True)
        return "+" + digits if 7 <= len(digits) <= 15 else None
    if len(digits) == 13 and digits.startswith("86") and _MOBILE.fullmatch(digits[2:]):
        return "+" + digits
    return _chinese(digits, after_country_code=False)


def _chinese(digits: str, *, after_country_code: bool) -> str | None:
    if _MOBILE.fullmatch(digits) or _BUSINESS.fullmatch(digits):
        return "+86" + digits
    if _LANDLINE.fullmatch(digits):
        return "+86" + digits[1:]
    if after_country_code:
        return "+86" + digits if _LANDLINE_INTL.fullmatch(digits) else None
    if 3 <= len(digits) <= 8 and digits.strip("0"):
        return digits
    return None


# --- masking ---------------------------------------------------------------------------------

# A run of digit groups: digits, optionally with one bracketed group (an area code), joined by
# at most a few separator characters. The exact phone test runs on the groups afterwards.
_GROUP = re.compile(r"\d+")
_JOIN_CHARS = _SEPARATORS + _OPEN + _CLOSE
_MAX_JOIN = 3  # '(0935) ' or ' - ' still join; a longer gap separates two numbers
_MAX_GROUPS = 12  # 1 3 8 1 2 3 4 5 6 7 8 spelled digit by digit is still a number


class _Group:
    __slots__ = ("digits", "start", "end", "joiner")

    def __init__(self, digits: str, start: int, end: int, joiner: str) -> None:
        self.digits = digits  # ASCII digits
        self.start = start
        self.end = end
        self.joiner = joiner  # the characters between the previous group and this one


def _runs(text: str) -> list[list[_Group]]:
    runs: list[list[_Group]] = []
    current: list[_Group] = []
    prev_end = -1
    for m in _GROUP.finditer(text):
        joiner = text[prev_end:m.start()] if current else ""
        if current and not (len(joiner) <= _MAX_JOIN and all(ch in _JOIN_CHARS for ch in joiner)):
            runs.append(current)
            current = []
            joiner = ""
        current.append(_Group(_ascii_digits(m.group()), m.start(), m.end(), joiner))
        prev_end = m.end()
    if current:
        runs.append(current)
    return runs


def _breaks(run: list[_Group]) -> list[int]:
    """Prefix counts of joins that do not join one written number: a dot or slash beside a
    group of fewer than 3 digits (`1764759712.1` is an id, `1.2.3` a version; 138.1234.5678 is a number)."""
    counts = [0, 0]
    for k in range(1, len(run)):
        g, prev = run[k], run[k - 1]
        bad = any(c in g.joiner for c in ".\uff0e/") and (len(g.digits) < 3 or len(prev.digits) < 3)
        counts.append(counts[-1] + bad)
    return counts


def _kind(groups: list[_Group], plus: bool, digits: str) -> tuple[str, str] | None:
    """(kind, digits without the country code) when the groups (`digits` joined) spell a phone number."""
    rest, international = digits, False
    if plus and digits.startswith("86"):
        rest, international = digits[2:], True
    elif digits.startswith("0086"):
        rest, international = digits[4:], True
    elif digits.startswith("86") and (groups[0].digits == "86" or len(digits) == 13):
        rest, international = digits[2:], True
    if _MOBILE.fullmatch(rest):
        return "mobile", rest
    if _BUSINESS.fullmatch(rest):
        return "business", rest
    if _LANDLINE.fullmatch(rest):
        return "landline", rest
    if international and _LANDLINE_INTL.fullmatch(rest):
        return "landline", "0" + rest
    if plus and not international and 7 <= len(digits) <= 15:
        return "foreign", digits
    if not international and len(groups) <= 2 and _LOCAL.fullmatch(rest) \
            and [len(g.digits) for g in groups] in ([7], [8], [3, 4], [4, 4]):
        return None if _DATE.fullmatch(rest) else ("local", rest)
    return None


def _masked(kind: str, digits: str) -> str:
    if kind in ("mobile", "business"):
        return f"{digits[:3]}****{digits[-4:]}"
    if kind == "landline":
        area = 3 if digits[1] in "12" else 4  # 010 and 02x are two-digit area codes
        return f"{digits[:area]}****{digits[-4:]}"
    if kind == "foreign":
        return f"+{digits[:2]}****{digits[-2:]}"
    return f"****{digits[-2:]}"


def _matches(text: str):
    """(start, end, kind, masked) for every phone-like sequence, left to right."""
    for run in _runs(text):
        # digits before each group, so a window's digits are one slice of the run's digits
        offsets = [0]
        for g in run:
            offsets.append(offsets[-1] + len(g.digits))
        digits_of_run = "".join(g.digits for g in run)
        breaks = _breaks(run)
        i = 0
        while i < len(run):
            found = None
            start = run[i].start
            plus = start > 0 and text[start - 1] in _PLUS
            if not plus and start > 1 and text[start - 1] in _OPEN and text[start - 2] in _PLUS:
                plus = True
            head = run[i].digits[:2] if len(run[i].digits) >= 2 else "".join(g.digits for g in run[i:i + 2])[:2]
            # only +, 0, 4, 8 or 1[3-9] can open a number of several groups; anything else is at
            # most a local number (one or two groups), which keeps long digit junk linear
            wide = plus or head[:1] in ("0", "4", "8") or (head[:1] == "1" and head[1:2] in "3456789")
            for j in range(min(len(run), i + (_MAX_GROUPS if wide else 2)), i, -1):
                if not 7 <= offsets[j] - offsets[i] <= 19:
                    continue
                if breaks[j] - breaks[i + 1]:  # a break between two groups of the window
                    continue
                hit = _kind(run[i:j], plus, digits_of_run[offsets[i]:offsets[j]])
                if hit:
                    found = (j, hit, plus)
                    break
            if not found:
                i += 1
                continue
            j, (kind, digits), plus = found
            window = run[i:j]
            start, end = window[0].start, window[-1].end
            if plus:
                start -= 1
            # an opening bracket before the first group, or a closing one right after, goes too
            if start > 0 and text[start - 1] in _OPEN:
                start -= 1
                if start > 0 and text[start - 1] in _PLUS:
                    start -= 1
            if end < len(text) and text[end] in _CLOSE and any(c in _OPEN for c in text[start:end]):
                end += 1
            yield start, end, kind, _masked(kind, digits)
            i = j


# Call and channel ids (Asterisk/AudioSocket UUIDs) are hex with digit runs that look like numbers:
# masking inside them would break log correlation and mask nobody's phone.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _phone_matches(text: str):
    ids = [m.span() for m in _UUID.finditer(text)]
    for hit in _matches(text):
        if not any(a < hit[1] and hit[0] < b for a, b in ids):
            yield hit


def mask_phones(text: str) -> str:
    """`我的电话 138 1234 5678` -> `我的电话 138****5678`; short service numbers stay."""
    if not text:
        return text
    out = []
    last = 0
    for start, end, _, masked in _phone_matches(text):
        out.append(text[last:start])
        out.append(masked)
        last = end
    if not out:
        return text
    out.append(text[last:])
    return "".join(out)


def find_phones(text: str) -> list[str]:
    """The unmasked phone-like sequences in text, as written (for scans of logs and pages)."""
    return [text[start:end] for start, end, _, _m in _phone_matches(text)]
