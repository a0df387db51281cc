"""A deterministic mutation fuzzer over dialplan YAML: every mutant is either a valid dialplan or
refused with issues that each name this file and a real line and column; never a traceback."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from hotline_merge.loader import validate_dialplan
from tests.hotline_merge.conftest import DIALPLANS, SMALL

SEED = 12345
MUTANTS = 220  # of the small dialplan (~30 ms each)
FULL_MUTANTS = 8  # of the whole shipped dialplan in one file (~0.2 s each)
# Pieces a careless edit or a hostile file leaves in YAML.
JUNK = [":", ": ", "-", "- ", "[", "]", "{", "}", ",", "&a ", "*a", "*nope", "<<: *a", '"', "'", "\t", "\x00",
        "\x07", "\x85", "\x9b", "\ufeff", "\u2028", "#", "!!python/object:os.system ", "!!binary ", "? ", "|", ">",
        "%YAML 1.1\n", "---\n", "...\n", "１２３４５", "yes", "~", "0x1F", "1e9999", "2026-13-45", "\\u0000",
        "${HOME}", "{{x}}", "\r", "\r\n", "  ", "\n  - ", "\n    ", "&b [*b]"]


def _mutate(rng: random.Random, text: str) -> bytes:
    lines = text.split("\n")
    kind = rng.randrange(12)
    i = rng.randrange(len(lines))
    if kind == 0:
        del lines[i]
    elif kind == 1:
        lines.insert(i, lines[rng.randrange(len(lines))])
    elif kind == 2:
        j = rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    elif kind == 3:
        lines[i] = " " * rng.randint(1, 4) + lines[i]
    elif kind == 4:
        lines[i] = lines[i].lstrip()[: rng.randint(0, 3)] + lines[i].lstrip()
    elif kind == 5:
        at = rng.randint(0, len(lines[i]))
        lines[i] = lines[i][:at] + rng.choice(JUNK) + lines[i][at:]
    elif kind == 6:
        key, sep, _ = lines[i].partition(": ")
        if sep:
            lines[i] = key + sep + rng.choice(["", "[]", "{}", "null", "-1", "99999999999999999999", "[[[[1]]]]",
                                                 "*a", '"\\ud800"', "'", "true", "1.5"])
    elif kind == 7:
        return ("\n".join(lines)).encode()[: rng.randint(0, len(text.encode()))]
    elif kind == 8:
        data = bytearray("\n".join(lines).encode())
        at = rng.randrange(len(data))
        data[at:at] = bytes([rng.choice([0x80, 0xC0, 0xFF, 0xFE, 0xE4, 0xED])])
        return bytes(data)
    elif kind == 9:
        depth = rng.choice([10, 70, 500, 3000])
        lines.insert(i, "deep: " + "[" * depth + "]" * depth)
    elif kind == 10:
        bomb = ["b0: &b0 [x, x, x, x, x, x, x, x, x, x]"]
        bomb += [f"b{k}: &b{k} [{', '.join([f'*b{k - 1}'] * 10)}]" for k in range(1, rng.randint(3, 9))]
        lines[i:i] = bomb
    else:
        for _ in range(rng.randint(2, 6)):
            j = rng.randrange(len(lines))
            at = rng.randint(0, len(lines[j]))
            lines[j] = lines[j][:at] + rng.choice(JUNK) + lines[j][at:]
    return "\n".join(lines).encode("utf-8", "surrogatepass")


def test_mutants_never_raise_and_every_issue_is_positioned(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    shipped = "\n".join(f.read_text(encoding="utf-8") for f in sorted(DIALPLANS.glob("*.yaml")))
    bases = [SMALL] * MUTANTS + [shipped] * FULL_MUTANTS
    outcomes: Counter[str] = Counter()
    for n, base in enumerate(bases):
        data = _mutate(rng, base)
        path = tmp_path / f"m{n:03d}.yaml"
        path.write_bytes(data)
        plan, issues = validate_dialplan(path)  # must not raise, whatever the bytes
        if plan is not None:
            outcomes["valid"] += 1
            continue
        outcomes["refused"] += 1
        assert issues, f"mutant {n}: refused without an issue"
        nlines = data.count(b"\n") + 1
        widest = max(len(x) for x in data.decode("utf-8", "replace").split("\n")) + 2
        for issue in issues:
            where = f"mutant {n} ({path}): {issue}"
            assert issue.file == str(path), where
            assert 1 <= issue.line <= nlines + 1 and 1 <= issue.col <= widest, where
            assert issue.message and "Traceback" not in issue.message, where
        if all((i.line, i.col) == (1, 1) for i in issues):
            outcomes["only at 1:1"] += 1
    assert outcomes["valid"] + outcomes["refused"] == len(bases) >= 200
    assert outcomes["refused"] >= len(bases) // 2, outcomes
    # whole-document problems (a section gone) sit at 1:1; anything more often means lost positions
    assert outcomes["only at 1:1"] <= len(bases) // 20, outcomes
