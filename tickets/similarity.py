"""Text similarity for linking repeated requests. Character bigrams suit Chinese without a segmenter."""

from __future__ import annotations

import re

_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


def _bigrams(text: str) -> set[str]:
    s = _NOISE.sub("", text.lower())
    if len(s) < 2:
        return {s} if s else set()
    return {s[i : i + 2] for i in range(len(s) - 1)}


def similarity(a: str, b: str) -> float:
    """Dice coefficient over character bigrams, 0..1."""
    x, y = _bigrams(a), _bigrams(b)
    if not x or not y:
        return 0.0
    return 2 * len(x & y) / (len(x) + len(y))
