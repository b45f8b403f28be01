"""Sentence -> weighted hashed features: character n-grams, jieba words and word bigrams, with
negators bound to the word they negate and clauses before a contrast marker down-weighted."""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

# A negator flips the next content word; degree adverbs in between stay inside its scope
# ("不是很好" -> ¬很 ¬好, "不太满意" -> ¬满意 via the word 不太).
NEGATORS = frozenset({
    "不", "没", "没有", "无", "未", "非", "别", "不是", "不太", "不大", "不怎么", "不够", "不算",
    "并不", "并非", "从不", "从没", "毫不", "绝不", "不会", "不能", "不再", "没什么", "不怎么样",
    "谈不上", "算不上", "称不上", "不至于", "不用", "无法", "难以",
})
DEGREE = frozenset({
    "很", "太", "非常", "特别", "十分", "那么", "这么", "怎么", "够", "算", "是", "都", "也",
    "还", "再", "真", "真的", "有点", "有些", "比较", "蛮", "挺", "过", "得", "大",
})
# The clause after the last contrast marker dominates: "虽然A，但是B" / "A，不过B" -> B.
_CONTRAST = re.compile(
    r"但是|可是|然而|(?<![不非])但(?![愿凡])|(?:^|(?<=[，,；;：:\s]))(?:不过|只是|可惜|就是)|却"
)
# A concessive clause ("虽然A", "尽管A") counts as much as a pre-contrast clause.
_CONCESSIVE = re.compile(r"(?:虽然|虽说|尽管|虽)[^，,；;：:]*")
_CLAUSE_END = re.compile(r"[，,；;：:、\s]+")
_PII = re.compile(r"\[(?:手机号|电话|身份证|银行卡|邮箱|姓名)\]")
_PII_CHAR = "\u2606"  # one private character stands for any masked personal datum
_PUNCT = re.compile(r"[\s，,。.！!？?；;：:、~～…\-—\"'“”‘’（）()【】\[\]<>《》]+")


@dataclass(frozen=True)
class FeatureConfig:
    """How sentences become feature ids; saved with the model so training and use agree."""

    buckets: int = 2**20
    char_ngrams: tuple[int, ...] = (1, 2, 3)
    word_bigrams: bool = True
    negation: bool = True
    negation_window: int = 3
    pre_contrast_weight: float = 0.5
    max_chars: int = 400
    norm: str = "l2"  # bag weights scaled to unit L2 norm ("l1": to sum 1)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> FeatureConfig:
        data = dict(data)
        data["char_ngrams"] = tuple(data.get("char_ngrams", (1, 2, 3)))
        return cls(**data)


@lru_cache(maxsize=1)
def _jieba():
    """A private jieba-rs instance with the default dictionary: the project's user dictionary may
    change, the model's tokens must not."""
    import rjieba

    return rjieba.Jieba()


def tokenize(text: str) -> list[str]:
    return [t for t in _jieba().cut(text, True) if t.strip()]


def prepare(text: str, max_chars: int) -> str:
    """Lower-case, one placeholder character for masked personal data, bounded length."""
    return _PII.sub(_PII_CHAR, text.strip().lower())[:max_chars]


def contrast_segments(text: str, pre_weight: float) -> list[tuple[str, float]]:
    """(segment, weight) pairs: text before the last contrast marker and concessive clauses get
    `pre_weight`, the rest 1.0."""
    last = None
    for match in _CONTRAST.finditer(text):
        last = match
    head, tail = ("", text) if last is None else (text[: last.start()], text[last.end() :])
    segments: list[tuple[str, float]] = []
    if head.strip():
        segments.append((head, pre_weight))
    pos = 0
    for match in _CONCESSIVE.finditer(tail):
        if match.start() > pos:
            segments.append((tail[pos : match.start()], 1.0))
        segments.append((match.group(), pre_weight))
        pos = match.end()
    if pos < len(tail):
        segments.append((tail[pos:], 1.0))
    return [(s, w) for s, w in segments if s.strip()]


def negated_words(words: Sequence[str], window: int) -> list[str]:
    """'¬w' for each word in a negator's scope: up to `window` words after it, through degree
    adverbs, ending at the first content word or punctuation."""
    out: list[str] = []
    scope = 0
    for word in words:
        if _PUNCT.fullmatch(word):
            scope = 0
            continue
        if scope:
            out.append("¬" + word)
            scope = scope - 1 if word in DEGREE else 0
        if word in NEGATORS:
            scope = window
    return out


def feature_strings(text: str, config: FeatureConfig) -> list[tuple[str, float]]:
    """The named features of one sentence with their clause weights (before hashing)."""
    text = prepare(text, config.max_chars)
    features: list[tuple[str, float]] = []
    for segment, weight in contrast_segments(text, config.pre_contrast_weight):
        for clause in _CLAUSE_END.split(segment):
            chars = _PUNCT.sub("", clause)
            for n in config.char_ngrams:
                features.extend(("c" + chars[i : i + n], weight) for i in range(len(chars) - n + 1))
            words = [w for w in tokenize(clause) if not _PUNCT.fullmatch(w)]
            features.extend(("w" + w, weight) for w in words)
            if config.word_bigrams:
                features.extend(("b" + a + "|" + b, weight) for a, b in zip(words, words[1:], strict=False))
            if config.negation:
                features.extend(("n" + w, weight) for w in negated_words(words, config.negation_window))
    return features


def hash_feature(name: str, buckets: int) -> int:
    return zlib.crc32(name.encode("utf-8")) % buckets


def featurize(text: str, config: FeatureConfig) -> tuple[list[int], list[float]]:
    """Bucket ids and weights normalised to unit L2 norm (long reviews and one-line chat turns
    land on the same scale, as in TF-IDF). A text without any feature gets the empty bag."""
    named = feature_strings(text, config)
    total = (sum(w * w for _, w in named) ** 0.5 if config.norm == "l2"
             else sum(w for _, w in named))
    if not named or total <= 0:
        return [], []
    return ([hash_feature(n, config.buckets) for n, _ in named], [w / total for _, w in named])


@dataclass(frozen=True)
class Batch:
    """Flat EmbeddingBag input: ids, per-sample weights and bag offsets."""

    ids: np.ndarray
    weights: np.ndarray
    offsets: np.ndarray


def featurize_batch(texts: Sequence[str], config: FeatureConfig) -> Batch:
    ids: list[int] = []
    weights: list[float] = []
    offsets = np.zeros(len(texts), dtype=np.int64)
    for i, text in enumerate(texts):
        offsets[i] = len(ids)
        bag_ids, bag_weights = featurize(text, config)
        ids.extend(bag_ids)
        weights.extend(bag_weights)
    return Batch(np.asarray(ids, dtype=np.int64), np.asarray(weights, dtype=np.float32), offsets)
