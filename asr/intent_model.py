"""A department classifier trained at start-up, so callers are understood in their own words.

The phrase matcher (asr.intent) finds the words an admin listed; callers say the same matter
otherwise (失业金 for 失业保险, 违章搭建 for 违章建筑, a whole story around one key word). This
model learns from what the dialplan already holds for each department — intents' phrases,
the department's name and aliases, and its duty vocabulary (职责 terms, `duties:` in the YAML)
— and scores any utterance.

Features are TF-IDF over character 1-3-grams of the text *and* over syllable 1-2-grams of its
toneless pinyin, so a homophone slip (社宝, 公基金) keeps half its features. Each term is also
put into every spoken carrier sentence ("我想问一下…的事"), which teaches the model that the
filler callers wrap around a matter says nothing about the department. A classifier
(linear SVM; a softmax over its decision scores is the confidence) ranks the departments;
training on ~2,700 samples takes a fraction of a second.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from asr.intent import KIND_LABEL, normalize, sound_units

# Sentences callers wrap around a matter; `{}` is the term. They carry no department.
CARRIERS = (
    "{}",
    "我想问一下{}",
    "我要反映{}的问题",
    "你好我想咨询{}的事情",
    "就是那个{}的事",
    "我们这边{}没人管",
    "请问{}找哪个部门",
    "{}怎么办啊",
)


# Labels of the non-department intents the model also learns, so "我要找人工" is not read as a
# department's matter just because 工 appears in 工作 and 工伤.


@dataclass(frozen=True)
class TrainingSample:
    text: str
    label: str  # a department name, or KIND_LABEL + "agent" / "progress"


def _pinyin_text(text: str) -> str:
    return " ".join(u for u in sound_units(text) if u.isascii() and u.isalpha())


@dataclass
class DepartmentModel:
    """Character + pinyin n-gram logistic regression over department intents."""

    c: float = 1.0
    carriers: Sequence[str] = CARRIERS
    # Softmax sharpness over the SVM's decision scores: a ranking turned into a 0..1 confidence.
    sharpness: float = 5.0
    _pipeline: Any = field(default=None, repr=False)
    labels: tuple[str, ...] = ()

    def fit(self, samples: Iterable[TrainingSample]) -> DepartmentModel:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import make_pipeline, make_union
        from sklearn.preprocessing import FunctionTransformer
        from sklearn.svm import LinearSVC

        texts: list[str] = []
        labels: list[str] = []
        for sample in samples:
            term = normalize(sample.text)
            if not term:
                continue
            # Every carrier for every term, so no carrier becomes a cue for one department.
            for carrier in self.carriers:
                texts.append(carrier.format(term))
                labels.append(sample.label)
        if len(set(labels)) < 2:
            raise ValueError("DepartmentModel needs samples of at least two departments")
        chars = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, preprocessor=normalize)
        syllables = make_pipeline(
            FunctionTransformer(lambda xs: [_pinyin_text(x) for x in xs]),
            TfidfVectorizer(analyzer="word", ngram_range=(1, 2), token_pattern=r"[a-z]+", sublinear_tf=True),
        )
        self._pipeline = make_pipeline(
            make_union(chars, syllables),
            LinearSVC(C=self.c, class_weight="balanced"),
        )
        self._pipeline.fit(texts, labels)
        self.labels = tuple(self._pipeline.classes_)
        return self

    def scores(self, text: str, top: int = 2) -> list[tuple[str, float]]:
        """The `top` departments with their probabilities, best first."""
        if self._pipeline is None:
            raise RuntimeError("DepartmentModel.scores before fit")
        if not normalize(text):
            return []
        raw = self._pipeline.decision_function([text])[0]
        # Two classes give one signed score (positive = the second class).
        decision = [-float(raw), float(raw)] if len(self.labels) == 2 else [float(d) for d in raw]
        high = max(decision)
        weights = [math.exp(self.sharpness * (d - high)) for d in decision]
        total = sum(weights)
        ranked = sorted(zip(self.labels, weights, strict=True), key=lambda lw: -lw[1])
        return [(str(label), w / total) for label, w in ranked[:top]]


def samples_from_dialplan(dialplan: Any) -> list[TrainingSample]:
    """Phrases, names, aliases, duty terms and examples, each labelled with its department
    (agent and progress phrases with their kind)."""
    out: list[TrainingSample] = []
    for intent in getattr(dialplan, "intents", []) or []:
        if intent.kind == "department" and intent.department:
            out.extend(TrainingSample(p, intent.department) for p in intent.phrases)
        elif intent.kind in ("agent", "progress"):
            out.extend(TrainingSample(p, KIND_LABEL + intent.kind) for p in intent.phrases)
    for dept in getattr(dialplan, "departments", []) or []:
        out.extend(TrainingSample(p, dept.name) for p in (dept.name, *dept.aliases))
    for duty in getattr(dialplan, "duties", []) or []:
        out.extend(TrainingSample(t, duty.department) for t in (*duty.terms, *duty.examples))
    return out
