"""Text -> intent: what the caller wants, robust to the slips a speech recognizer makes.

The recognizer hands us characters, and in Chinese its typical errors are homophones
(社宝 for 社保, 公基金 for 公积金): the sound is right, the character is wrong. So every
phrase and every utterance is compared as a sequence of *sound units* (toneless pinyin
per Han character; the character itself for anything else, which is how the Korean test
phrases work), with an approximate-substring alignment that tolerates one slipped,
dropped or extra syllable. A second score counts the phrase's jieba words found anywhere
in the utterance, for callers who say the words in another order (查询社保 / 社保怎么查).

Order matters and is fixed: emergencies first (a fire beats a tax question in the same
sentence), then matters 12345 does not accept, then the dialplan's intents; below the
threshold the answer is `unknown` and the IVR falls back to keys or an agent.

Emergencies and not-accepted matters stay exact phrase matches. For departments the matcher
is combined with a classifier trained at start-up on the dialplan (asr.intent_model): the
two agreeing, or the model sure of itself, decide; a literal listed phrase decides next; a
middling model score comes back with `confirm=True` so the IVR asks the caller once.

Pure and synchronous: no I/O; one matcher (and its model) is built per loaded dialplan.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Literal

import jieba
from pypinyin import Style, lazy_pinyin

KIND_LABEL = "@"  # the department model's prefix for agent/progress labels (asr.intent_model)

# jieba announces its dictionary build on the root logger at INFO; that is noise in a CLI.
jieba.setLogLevel(logging.WARNING)

IntentKind = Literal["department", "emergency", "not_accepted", "agent", "progress", "unknown"]
KINDS: tuple[str, ...] = ("department", "emergency", "not_accepted", "agent", "progress", "unknown")

# A phrase found character for character scores 1.0; found only by sound it scores a
# little less, so that a literal hit wins a tie against a homophone of another phrase.
_SOUND_ONLY = 0.95
# A syllable that differs only by a classic regional/ASR confusion (zh/z, n/l, an/ang...).
_NEAR_SYLLABLE = 0.8
# Cost of a phrase syllable the caller did not say, or said as something else entirely.
_DROPPED = 1.5
# Word-order-free overlap is weaker evidence than a contiguous hit.
_BAG_OF_WORDS = 0.9
# Words that cancel a trigger just before it: "不是着火" must not call 119.
_NEGATIONS = ("不是", "没有", "并非", "没")


@dataclass(frozen=True)
class IntentSpec:
    """Phrases that mean one thing; `kind` is department, agent or progress."""

    name: str
    phrases: tuple[str, ...]
    kind: Literal["department", "agent", "progress"] = "department"
    department: str | None = None
    target: str | None = None  # a queue name, when the dialplan routes the intent straight to one


@dataclass(frozen=True)
class EmergencySpec:
    """Trigger words that send the caller to an emergency number at once."""

    target: str
    words: tuple[str, ...]
    name: str = ""


@dataclass(frozen=True)
class NotAcceptedSpec:
    """A matter 12345 does not take (courts, discipline inspection, ...): explain, do not queue."""

    name: str
    phrases: tuple[str, ...]
    target: str | None = None
    explanation: str = ""


@dataclass(frozen=True)
class IntentResult:
    kind: IntentKind
    department: str | None = None
    target: str | None = None
    confidence: float = 0.0
    matched: str | None = None
    name: str | None = None
    confirm: bool = False  # understood, but only half sure: ask the caller before routing
    source: str = "phrase"  # phrase | model | both

    def as_json(self) -> dict[str, Any]:
        """The `hotline intent --json` shape (docs/interfaces.md)."""
        return {
            "intent": self.kind,
            "department": self.department,
            "target": self.target,
            "confidence": round(self.confidence, 3),
            "matched": self.matched,
            "confirm": self.confirm,
            "source": self.source,
        }


UNKNOWN = IntentResult(kind="unknown")

# Defaults shipped for a hotline without a dialplan (and for `hotline intent` before one
# exists). Numbers per the national rules: 110 police, 119 fire, 120 ambulance, 122 traffic.
DEFAULT_EMERGENCIES: tuple[EmergencySpec, ...] = (
    EmergencySpec("119", ("火灾", "着火", "起火", "失火", "冒烟", "烧起来"), "火警"),
    EmergencySpec("110", ("抢劫", "杀人", "报警", "绑架", "打人", "行凶", "偷窃"), "匪警"),
    EmergencySpec("120", ("急救", "晕倒", "昏倒", "心脏病", "受伤", "救护车", "流血"), "急救"),
    EmergencySpec("122", ("车祸", "交通事故", "撞车", "追尾"), "交通事故"),
)

# Matters outside 12345's remit (国务院办公厅关于12345热线的指导意见: 涉法涉诉, 纪检监察,
# 国家秘密 and matters already in another legal procedure), with where to go instead.
DEFAULT_NOT_ACCEPTED: tuple[NotAcceptedSpec, ...] = (
    NotAcceptedSpec(
        "涉法涉诉",
        ("法院判决", "起诉", "诉讼", "上诉", "仲裁", "打官司", "判决书", "检察院"),
        target="12368",
        explanation="涉法涉诉事项请向人民法院或检察机关反映。",
    ),
    NotAcceptedSpec(
        "纪检监察",
        ("贪污", "受贿", "纪委", "腐败", "违纪", "监察委"),
        target="12388",
        explanation="反映党员干部违纪违法问题请拨打12388。",
    ),
    NotAcceptedSpec(
        "国家秘密",
        ("国家秘密", "军事机密", "泄密"),
        explanation="涉及国家秘密的事项请向保密部门反映。",
    ),
    NotAcceptedSpec(
        "信访程序中",
        ("信访", "上访"),
        explanation="已进入信访程序的事项请向信访部门咨询办理进度。",
    ),
)

DEFAULT_INTENTS: tuple[IntentSpec, ...] = (
    IntentSpec("agent", ("人工", "转人工", "人工服务", "话务员", "接线员", "客服"), kind="agent"),
    IntentSpec("progress", ("查询进度", "办理进度", "工单进度", "处理结果", "工单编号"), kind="progress"),
    IntentSpec("social-security", ("社保", "社会保险", "养老保险", "医保", "失业金"), department="市人社局"),
    IntentSpec("housing-fund", ("公积金", "住房公积金", "提取公积金"), department="市住房公积金中心"),
    IntentSpec("water", ("停水", "自来水", "水费", "水管爆裂"), department="市自来水公司"),
    IntentSpec("power", ("停电", "电费", "供电"), department="国网供电公司"),
    IntentSpec("gas", ("燃气", "煤气", "天然气"), department="市燃气公司"),
    IntentSpec("traffic", ("公交", "出租车", "道路", "红绿灯"), department="市交通运输局"),
    IntentSpec("noise", ("噪音", "扰民", "施工噪声"), department="市生态环境局"),
    IntentSpec("tax", ("税务", "发票", "个人所得税", "纳税"), department="市税务局"),
)


# --- sound units ---------------------------------------------------------------------------

_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)
_HAN = re.compile(r"[\u3400-\u9fff]")


def normalize(text: str) -> str:
    """Full-width to half-width, lower case, punctuation and spaces dropped."""
    text = unicodedata.normalize("NFKC", text).lower()
    return _PUNCT.sub("", text)


def _split_other(chunk: str) -> list[str]:
    return list(chunk)


@lru_cache(maxsize=4096)
def sound_units(text: str) -> tuple[str, ...]:
    """One unit per character: toneless pinyin for Han, the character itself otherwise."""
    text = normalize(text)
    if not text:
        return ()
    return tuple(lazy_pinyin(text, style=Style.NORMAL, errors=_split_other))


_INITIAL_FOLD = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("l", "n"), ("f", "h"), ("r", "n"))
_FINAL_FOLD = (("ang", "an"), ("eng", "en"), ("ing", "in"), ("iang", "ian"), ("uang", "uan"))


@lru_cache(maxsize=8192)
def _fold(unit: str) -> str:
    """Collapse the pairs that speakers and recognizers confuse, to one spelling."""
    for long, short in _INITIAL_FOLD:
        if unit.startswith(long) and unit.isascii():
            unit = short + unit[len(long) :]
            break
    for long, short in _FINAL_FOLD:
        if unit.endswith(long) and unit.isascii():
            unit = unit[: -len(long)] + short
            break
    return unit


def _unit_similarity(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if _fold(a) == _fold(b):
        return _NEAR_SYLLABLE
    return 0.0


def align_score(phrase: Sequence[str], text: Sequence[str]) -> tuple[float, int, int]:
    """Best approximate occurrence of `phrase` anywhere in `text` (Sellers' algorithm).

    Returns (score in 0..1, start, end) over `text` units. A near syllable costs one minus
    its similarity, an extra syllable in the text costs 1, and a syllable of the phrase
    that is missing or wholly different costs more (`_DROPPED`), so 天气 is not a slip of
    天然气.
    """
    m, n = len(phrase), len(text)
    if m == 0 or n == 0:
        return 0.0, 0, 0
    # prev[j]: cost of aligning phrase[:i] ending at text[:j]; start[j]: where that began.
    prev = [0.0] * (n + 1)
    start = list(range(n + 1))
    for i in range(1, m + 1):
        cur = [i * _DROPPED] + [0.0] * n
        cur_start = [0] * (n + 1)
        p = phrase[i - 1]
        for j in range(1, n + 1):
            sim = _unit_similarity(p, text[j - 1])
            sub = prev[j - 1] + (1.0 - sim if sim else _DROPPED)
            dele = prev[j] + _DROPPED
            ins = cur[j - 1] + 1.0
            best = min(sub, dele, ins)
            cur[j] = best
            if best == sub:
                cur_start[j] = start[j - 1] if i > 1 else j - 1
            elif best == dele:
                cur_start[j] = start[j] if i > 1 else j
            else:
                cur_start[j] = cur_start[j - 1]
        prev, start = cur, cur_start
    end = min(range(1, n + 1), key=lambda j: prev[j])
    score = max(0.0, 1.0 - prev[end] / m)
    return score, start[end], end


@lru_cache(maxsize=4096)
def _words(text: str) -> tuple[str, ...]:
    return tuple(w for w in jieba.lcut(normalize(text), HMM=False) if w.strip())


def _bag_score(phrase: str, text_words: Iterable[str]) -> float:
    """Share of the phrase's characters whose words (by sound) occur anywhere in the text."""
    words = _words(phrase)
    if len(words) < 2:
        return 0.0  # a one-word phrase is already scored by the alignment
    heard = {sound_units(w) for w in text_words}
    total = sum(len(w) for w in words)
    found = sum(len(w) for w in words if sound_units(w) in heard)
    return _BAG_OF_WORDS * found / total


@dataclass(frozen=True)
class _Hit:
    score: float
    phrase: str
    start: int  # in normalized characters (one unit per character)


def _best_hit(phrases: Sequence[str], text: str, units: tuple[str, ...]) -> _Hit | None:
    best: _Hit | None = None
    text_words = _words(text)
    for phrase in phrases:
        norm = normalize(phrase)
        if not norm:
            continue
        pos = text.find(norm)
        if pos >= 0:
            hit = _Hit(1.0, phrase, pos)
        else:
            score, start, _ = align_score(sound_units(norm), units)
            hit = _Hit(score * _SOUND_ONLY, phrase, start)
            bag = _bag_score(norm, text_words)
            if bag > hit.score:
                hit = _Hit(bag, phrase, 0)
        # Longer phrases win ties: "住房公积金" is more specific than "公积金".
        if best is None or (hit.score, len(norm)) > (best.score, len(normalize(best.phrase))):
            best = hit
    return best


def _negated(text: str, start: int) -> bool:
    before = text[max(0, start - 3) : start]
    return any(before.endswith(neg) for neg in _NEGATIONS)


@dataclass
class IntentMatcher:
    """Match caller text against emergencies, not-accepted matters, then intents."""

    intents: Sequence[IntentSpec] = field(default_factory=lambda: list(DEFAULT_INTENTS))
    emergencies: Sequence[EmergencySpec] = field(default_factory=lambda: list(DEFAULT_EMERGENCIES))
    not_accepted: Sequence[NotAcceptedSpec] = field(default_factory=lambda: list(DEFAULT_NOT_ACCEPTED))
    threshold: float = 0.6
    # Triggers are safety-critical in both directions: a near miss must still fire, but a
    # loose match must not send a tax question to 119; only whole-syllable sound matches.
    emergency_threshold: float = 0.9
    # The department model (asr.intent_model.DepartmentModel); None = phrases only.
    model: Any = None
    accept: float = 0.5  # model confidence that decides on its own
    confirm_floor: float = 0.25  # below: unknown; between this and `accept`: ask back
    # Duty terms the model learned: a recognizer grammar must let callers say them too.
    vocabulary: Sequence[str] = ()

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"IntentMatcher.threshold: {self.threshold} is outside 0..1")

    def phrases(self) -> list[str]:
        """Every phrase the matcher knows, for a recognizer grammar (deduplicated, in order)."""
        seen: dict[str, None] = {}
        for spec in self.emergencies:
            seen.update(dict.fromkeys(spec.words))
        for spec in self.not_accepted:
            seen.update(dict.fromkeys(spec.phrases))
        for spec in self.intents:
            seen.update(dict.fromkeys(spec.phrases))
        seen.update(dict.fromkeys(self.vocabulary))
        return list(seen)

    def decides_early(self, text: str) -> bool:
        """A partial result that already holds a listed phrase literally: safe to end on a short pause.

        Substring tests only (no alignment, no model): it runs on every partial of every call."""
        norm = normalize(text)
        if not norm:
            return False
        if not hasattr(self, "_literal"):
            words = [w for e in self.emergencies for w in e.words]
            words += [p for m in self.not_accepted for p in m.phrases]
            words += [p for spec in self.intents for p in spec.phrases]
            self._literal = tuple(sorted({normalize(w) for w in words if len(normalize(w)) >= 2}))
        return any(phrase in norm for phrase in self._literal)

    def match(self, text: str) -> IntentResult:
        norm = normalize(text)
        if not norm:
            return UNKNOWN
        units = sound_units(norm)

        for emergency in self.emergencies:
            hit = _best_hit(emergency.words, norm, units)
            if hit and hit.score >= self.emergency_threshold and not _negated(norm, hit.start):
                return IntentResult(
                    "emergency", None, emergency.target, hit.score, hit.phrase, emergency.name or emergency.target
                )

        ranked: list[tuple[str, float]] | None = None

        def model_sure() -> bool:
            # A department the model is sure of overrules a phrase heard only by its sound
            # (新房 sounds like 信访): only a literal not-accepted/agent/progress phrase stands.
            nonlocal ranked
            if self.model is None:
                return False
            if ranked is None:
                ranked = self.model.scores(norm, top=1)
            return bool(ranked) and ranked[0][1] >= self.accept and not ranked[0][0].startswith(KIND_LABEL)

        best_na: tuple[_Hit, NotAcceptedSpec] | None = None
        for matter in self.not_accepted:
            hit = _best_hit(matter.phrases, norm, units)
            if hit and hit.score >= self.threshold and (best_na is None or hit.score > best_na[0].score):
                best_na = (hit, matter)
        if best_na and (best_na[0].score >= 1.0 or not model_sure()):
            hit, matter = best_na
            return IntentResult("not_accepted", None, matter.target, hit.score, hit.phrase, matter.name)

        best: tuple[_Hit, IntentSpec] | None = None
        for spec in self.intents:
            hit = _best_hit(spec.phrases, norm, units)
            if hit and (best is None or hit.score > best[0].score):
                best = (hit, spec)
        phrase: IntentResult | None = None
        if best is not None and best[0].score >= self.threshold:
            hit, spec = best
            department = spec.department if spec.kind == "department" else None
            phrase = IntentResult(spec.kind, department, spec.target, hit.score, hit.phrase, spec.name)
        if phrase is not None and phrase.kind != "department" and (phrase.confidence >= 1.0 or not model_sure()):
            return phrase
        if self.model is None:
            return phrase or IntentResult("unknown", confidence=best[0].score if best else 0.0)
        if phrase is not None and phrase.kind != "department":
            phrase = None
        if ranked is None:
            ranked = self.model.scores(norm, top=1)
        return self._with_model(ranked, phrase)

    def _with_model(self, ranked: list[tuple[str, float]], phrase: IntentResult | None) -> IntentResult:
        if not ranked:
            return phrase or UNKNOWN
        department, p = ranked[0]
        if department.startswith(KIND_LABEL):
            kind = department[len(KIND_LABEL):]
            spec = next((s for s in self.intents if s.kind == kind), None)
            if spec is not None and p >= self.accept:
                return IntentResult(spec.kind, None, spec.target, p, None, spec.name, source="model")
            return phrase or IntentResult("unknown", confidence=p, source="model")
        if phrase is not None and phrase.department == department:
            return replace(phrase, confidence=max(phrase.confidence, p), source="both")
        guess = IntentResult("department", department, self._targets.get(department), p, None,
                             f"department:{department}", source="model")
        if p >= self.accept:
            return guess
        if phrase is not None and phrase.confidence >= _SOUND_ONLY:
            return phrase  # a listed phrase said (almost) literally
        if p >= self.confirm_floor:
            return replace(guess, confirm=True)
        return IntentResult("unknown", confidence=p, source="model")

    @property
    def _targets(self) -> dict[str, str | None]:
        return {spec.department: spec.target for spec in self.intents if spec.department}


def default_matcher(threshold: float = 0.6) -> IntentMatcher:
    return IntentMatcher(list(DEFAULT_INTENTS), list(DEFAULT_EMERGENCIES), list(DEFAULT_NOT_ACCEPTED), threshold)


def matcher_from_dialplan(dialplan: Any, *, threshold: float = 0.6, model: bool = True) -> IntentMatcher:
    """Build the matcher from a loaded `hotline_merge.models.Dialplan`.

    Reads only: `intents` (name, kind, department, phrases), `departments` (name, aliases:
    every department is reachable by saying its name or an alias), `emergencies` (number,
    name, words), `not_accepted` (id, name, words, channel, explanation) and `duties`
    (department, terms, examples: the model's training text, with phrases and names). A dialplan with
    no emergencies or not-accepted matters keeps the shipped defaults for those, because an
    emergency must never go unrecognized just because an admin left the section out.
    """
    intents: list[IntentSpec] = []
    for intent in getattr(dialplan, "intents", []) or []:
        intents.append(
            IntentSpec(
                name=intent.name,
                phrases=tuple(intent.phrases),
                kind=intent.kind,
                department=getattr(intent, "department", None),
            )
        )
    named = {spec.department for spec in intents if spec.department}
    for dept in getattr(dialplan, "departments", []) or []:
        spoken = tuple(dict.fromkeys([dept.name, *getattr(dept, "aliases", [])]))
        intents.append(IntentSpec(name=f"department:{dept.name}", phrases=spoken, department=dept.name))
        named.add(dept.name)
    if not any(spec.kind == "agent" for spec in intents):
        intents.extend(spec for spec in DEFAULT_INTENTS if spec.kind == "agent")
    if not any(spec.kind == "progress" for spec in intents):
        intents.extend(spec for spec in DEFAULT_INTENTS if spec.kind == "progress")

    emergencies = [
        EmergencySpec(target=e.number, words=tuple(e.words), name=e.name)
        for e in getattr(dialplan, "emergencies", []) or []
    ] or list(DEFAULT_EMERGENCIES)
    not_accepted = [
        NotAcceptedSpec(
            name=m.name,
            phrases=tuple(m.words),
            target=getattr(m, "channel", None),
            explanation=getattr(m, "explanation", ""),
        )
        for m in getattr(dialplan, "not_accepted", []) or []
    ] or list(DEFAULT_NOT_ACCEPTED)
    trained = None
    vocabulary = tuple(t for duty in getattr(dialplan, "duties", []) or [] for t in duty.terms)
    decision = getattr(getattr(dialplan, "settings", None), "speech", None)
    if model:
        from asr.intent_model import DepartmentModel, samples_from_dialplan  # scikit-learn: only when used

        samples = samples_from_dialplan(dialplan)
        if len({s.label for s in samples}) >= 2:
            trained = DepartmentModel().fit(samples)
    return IntentMatcher(
        intents, emergencies, not_accepted, threshold, model=trained, vocabulary=vocabulary,
        accept=getattr(decision, "accept", 0.5), confirm_floor=getattr(decision, "confirm_floor", 0.25),
    )
