"""Chinese text to sound-unit search tokens, shared by every package that matches Chinese text.

A citizen types 公基金 for 公积金 and a recognizer hears 社宝 for 社保: both spell the same
toneless pinyin. Search therefore compares pinyin, not characters. Tokens are the jieba words of
the text (search mode, so 公积金提取 also yields 公积金 and 提取) plus every pair of adjacent
syllables, which keeps a mis-segmented homophone findable. Syllables are folded the way
speakers and recognizers confuse them (zh/z, ch/c, sh/s, l/n, f/h, ang/an, eng/en, ing/in).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache

import jieba
from pypinyin import Style, lazy_pinyin

jieba.setLogLevel(logging.WARNING)

_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)
_HAN = re.compile(r"[\u3400-\u9fff]")
_RUNS = re.compile(r"[\u3400-\u9fff]+|[a-z0-9]+")

# Question words and particles: every citizen's question has them, no article is about them.
STOP_WORDS = frozenset(
    "的 了 吗 呢 吧 啊 呀 么 嘛 我 你 他 她 我们 您 要 想 请问 请 问 一下 怎么 怎么样 怎样 如何 什么 哪里 哪儿 "
    "哪个 哪些 在 去 到 能 能不能 可以 可不可以 需要 是 是不是 有 有没有 没有 和 与 或 及 还 就 都 也 对 给 "
    "从 被 把 让 多少 几 多久 多长时间 时间 办理 办 为什么 谁 该 应该 会 不会 吗 这个 那个 这 那 个 啥 咋 "
    "咋办 怎么办 找 问问 知道 告诉".split()
)

_INITIAL_FOLD = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("l", "n"), ("f", "h"), ("r", "n"))
_FINAL_FOLD = (("iang", "ian"), ("uang", "uan"), ("ang", "an"), ("eng", "en"), ("ing", "in"))


def normalize(text: str) -> str:
    """Full-width to half-width, lower case, punctuation and spaces dropped."""
    return _PUNCT.sub("", unicodedata.normalize("NFKC", text).lower())


@lru_cache(maxsize=16384)
def fold(syllable: str) -> str:
    """One spelling for the syllable pairs that are easily confused."""
    for long, short in _INITIAL_FOLD:
        if syllable.startswith(long):
            syllable = short + syllable[len(long) :]
            break
    for long, short in _FINAL_FOLD:
        if syllable.endswith(long):
            syllable = syllable[: -len(long)] + short
            break
    return syllable


@lru_cache(maxsize=16384)
def syllables(word: str) -> tuple[str, ...]:
    """Folded toneless pinyin per Han character; other runs (digits, latin) stay one unit."""
    out: list[str] = []
    for run in _RUNS.findall(normalize(word)):
        if _HAN.match(run):
            out.extend(fold(s) for s in lazy_pinyin(run, style=Style.NORMAL))
        else:
            out.append(run)
    return tuple(out)


def words(text: str) -> list[str]:
    """jieba search-mode words of the text, without stop words and punctuation."""
    out = []
    for w in jieba.cut_for_search(unicodedata.normalize("NFKC", text).lower()):
        w = normalize(w)
        if w and w not in STOP_WORDS:
            out.append(w)
    return out


def search_tokens(text: str) -> list[str]:
    """Sound tokens for a full-text index or query: one per word, one per adjacent syllable pair."""
    tokens: list[str] = []
    for w in words(text):
        units = syllables(w)
        if units:
            tokens.append("".join(units))
    for run in _RUNS.findall(normalize(text)):
        if not _HAN.match(run):
            continue
        kept = [c for c in jieba.lcut(run) if c not in STOP_WORDS]
        units = [u for part in kept for u in syllables(part)]
        tokens.extend(a + b for a, b in zip(units, units[1:], strict=False))
    return tokens
