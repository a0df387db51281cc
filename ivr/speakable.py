"""Prompt text as a Mandarin speaker reads it aloud, then as tone-numbered pinyin for espeak-ng.

Numbers follow the telephone habit: service, phone and ticket numbers digit by digit with
1 as 幺 (12345 -> 幺二三四五), years digit by digit (2026年 -> 二零二六年), quantities, months,
days and clock times in words (15个工作日 -> 十五个工作日, 08:30 -> 八点三十分), menu keys as
plain digits (请按1 -> 请按一). The pinyin comes from pypinyin with tone sandhi applied
(你好 -> ni2 hao3, 一个 -> yi2 ge4), so espeak-ng's `cmn-Latn-pinyin` voice says every syllable
in Mandarin: Debian 12's espeak-ng 1.51 reads Hanzi with its `cmn` voice as English-spelled
pinyin, and the pinyin voice does not.
"""

from __future__ import annotations

import re

from pypinyin import Style, lazy_pinyin

DIGIT = "零一二三四五六七八九"
_UNITS = "个点天日月号年岁次条项名位家户元角分秒倍届期周层楼"
_TWO_AS_LIANG = "个天次条项名位家户倍周"
_PAUSE = {"，": ",", "、": ",", "；": ",", "：": ",", "。": ".", "！": ".", "？": "?", "（": ",", "）": ",",
          ",": ",", ".": ".", "!": ".", "?": "?", ";": ",", ":": ",", "(": ",", ")": ","}


def cardinal(n: int) -> str:
    """0..99999999 in words: 15 -> 十五, 205 -> 二百零五, 10000 -> 一万."""
    if n < 0:
        return "负" + cardinal(-n)
    if n < 10:
        return DIGIT[n]
    if n < 20:
        return "十" + (DIGIT[n - 10] if n > 10 else "")
    if n >= 10000:
        high, low = divmod(n, 10000)
        rest = "" if low == 0 else ("零" if low < 1000 else "") + cardinal(low)
        return cardinal(high) + "万" + rest
    out = ""
    zero = False
    for value, name in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit, n = divmod(n, value)
        if digit:
            if zero:
                out += "零"
            out += DIGIT[digit] + name
            zero = False
        elif out:
            zero = True
    return out


def digit_by_digit(digits: str, *, yao: bool = True) -> str:
    """Phone-style reading; `yao` reads 1 as 幺 (so 1 and 7 are not confused on the line)."""
    return "".join(("幺" if yao else "一") if d == "1" else DIGIT[int(d)] for d in digits)


def _date(m: re.Match[str]) -> str:
    year, month, day = m.group(1), int(m.group(2)), int(m.group(3))
    return f"{digit_by_digit(year, yao=False)}年{cardinal(month)}月{cardinal(day)}日"


def _clock(m: re.Match[str]) -> str:
    hour, minute = int(m.group(1)), int(m.group(2))
    return f"{cardinal(hour)}点" + (f"{cardinal(minute)}分" if minute else "")


def _number(m: re.Match[str]) -> str:
    digits, after = m.group(1), m.group(2)
    if after == "年" and len(digits) == 4:
        return digit_by_digit(digits, yao=False) + after
    if after and len(digits) <= 5 and not digits.startswith("0"):
        value = int(digits)
        word = "两" if value == 2 and after in _TWO_AS_LIANG else cardinal(value)
        return word + after
    if len(digits) <= 2 and not (len(digits) == 2 and digits.startswith("0")):
        return cardinal(int(digits)) + after
    # Service, phone and ticket numbers: digit by digit.
    return digit_by_digit(digits) + after


def spoken(text: str) -> str:
    """Digits, dates and times written out the way a Mandarin speaker says them."""
    text = re.sub(r"(\d{4})-(\d{1,2})-(\d{1,2})", _date, text)
    text = re.sub(r"(\d{1,2}:\d{2})\s*[-~至]\s*(?=\d{1,2}:\d{2})", r"\1至", text)
    text = re.sub(r"(\d{1,2}):(\d{2})", _clock, text)
    text = re.sub(r"(\d+)\s*[x×*]\s*(\d+)", lambda m: f"{cardinal(int(m.group(1)))}乘{cardinal(int(m.group(2)))}",
                  text)
    text = re.sub(r"(\d+)%", lambda m: "百分之" + cardinal(int(m.group(1))), text)
    text = re.sub(r"(\d+)\.(\d+)", lambda m: f"{cardinal(int(m.group(1)))}点{digit_by_digit(m.group(2), yao=False)}",
                  text)
    text = re.sub(r"(\d+)-(?=\d)", r"\1", text)  # a ticket number 20261203-000001 is read as one run
    return re.sub(rf"(\d+)([{_UNITS}]?)", _number, text)


_SYLLABLE = re.compile(r"^[a-z]+[1-5]$")


def pinyin(text: str) -> str:
    """Tone-numbered pinyin for espeak-ng's cmn-Latn-pinyin voice; punctuation kept as pauses.

    Anything that is neither Hanzi nor punctuation (Latin letters, symbols) is dropped: the voice
    would spell it with other rules, and no prompt needs it."""
    words: list[str] = []
    for token in lazy_pinyin(spoken(text), style=Style.TONE3, neutral_tone_with_five=True, tone_sandhi=True,
                             errors=lambda chars: list(chars)):
        token = token.strip()
        if not token:
            continue
        if _SYLLABLE.match(token):
            words.append(token)
            continue
        pauses = [_PAUSE[c] for c in token if c in _PAUSE]
        if pauses and words:
            words[-1] += "." if "." in pauses or "?" in pauses else ","
    return " ".join(words)
