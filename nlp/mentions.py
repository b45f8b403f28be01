"""Aspect mentions: each customer sentence split into clauses about one journey aspect each.

"味道不错，送餐太慢了" is one sentence with two opinions: `use` (味道) positive and `deliver`
(送餐) negative. A sentence is cut into clauses at punctuation, contrast markers (但是, 不过,
可惜, 却, ...) and additive markers (而且, 另外, ...); each clause's aspect term is a cue phrase
of the journey taxonomy (JourneyTagger.match), else a keyword of a topic. A clause with its own
aspect opens a mention; a clause without one belongs to the mention before it ("送餐太慢了，
等了一个小时"), or, after a contrast marker, opens a mention of its own when the stage
classifier is sure of a stage. A mention that names only an aspect ("物流、客服都很差") shares
the opinion of the mention after it. A sentence without any aspect term is one mention with the
sentence's own stage. Sentiment (the configured backend) and emotions (nlp/emotions.py) are
computed on each mention's text; offsets are character offsets into the normalised sentence.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from nlp.config import read_yaml, validate
from nlp.emotions import EmotionLexicon, consistent_with, hownet_lists
from nlp.errors import ConfigError
from nlp.journey import UNKNOWN, JourneyTagger, StageResult
from nlp.sentiment.base import SentimentBackend, SentimentResult
from nlp.topics import OUTLIER

MENTION_COLUMNS = [
    "record_id", "channel", "turn_index", "sentence_index", "mention_index", "start_char",
    "end_char",
    "text", "aspect", "stage", "stage_method", "touchpoint", "topic_id", "sentiment_label",
    "sentiment_score", "sentiment_confidence", "emotions", "emotion_scores",
]

_BOUNDARY = re.compile(r"[，,；;。！!？?：:、\n]+|(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")
# Markers that open a new clause wherever they occur, and the part of them that is a contrast.
_SPLIT_MARKER = re.compile(
    r"但是|可是|然而|不过|(?<![不非])但(?![愿凡])|(?<![冷退])却|而且|并且|可惜")
_CONTRAST = re.compile(r"^(?:但是|可是|然而|不过|但|却|可惜|只是|就是|可|倒是|结果)")
# Words at the start of a clause that are not part of what it says about the aspect.
_LEAD = re.compile(
    r"^(?:(?:嗯+|呃+|啊|那个|就是说|就是|只是|不过|但是|可是|然而|但|却|而且|并且|另外|还有|同时"
    r"|可惜|虽然|虽说|尽管|然后|结果|所以|反正|总之|喂|哎)[，,\s…]*)+")
_WORD = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]")
_FUNCTION = re.compile(r"[的了也都还和与及跟很太真挺都就是在]")


class PolaritySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weight: float = Field(0.6, ge=0, le=1)  # share of the lexicon in the clause score
    band: float = Field(0.15, ge=0, lt=1)  # |score| below it is neutral
    positive: list[str] = Field(default_factory=list)
    negative: list[str] = Field(default_factory=list)


class MentionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    aspects: dict[str, list[str]] = Field(default_factory=dict)  # stage -> extra regexes
    polarity: PolaritySpec = Field(default_factory=PolaritySpec)


def load_mention_config(path) -> MentionConfig:
    config: MentionConfig = validate(MentionConfig, read_yaml(path), [path])
    for stage, patterns in config.aspects.items():
        for number, pattern in enumerate(patterns):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ConfigError(f"'{path}' key 'aspects.{stage}.{number}': invalid regular "
                                  f"expression: {exc}") from exc
    return config


def aspect_tagger(tagger: JourneyTagger, tokenize: Callable[[str], list[str]],
                  config: MentionConfig) -> JourneyTagger:
    """The journey tagger with the mention config's aspect patterns added to its stages."""
    if not config.aspects:
        return tagger
    taxonomy = tagger.taxonomy.model_copy(deep=True)
    unknown = sorted(set(config.aspects) - set(taxonomy.stages))
    if unknown:
        raise ConfigError(f"mention aspects name stages the taxonomy lacks: {unknown}")
    for stage, patterns in config.aspects.items():
        taxonomy.stages[stage].patterns.extend(patterns)
    return JourneyTagger(taxonomy, tokenize, tagger.min_confidence, tagger.model)


_NEGATOR = re.compile(r"[不没别未无]")


class PolarityLexicon:
    """Clause polarity in [-1, 1] from HowNet's word lists (tokens) and the config's CX words
    (substrings); a negator just before a word flips it."""

    def __init__(self, spec: PolaritySpec, lists: dict[str, Sequence[str]] | None = None) -> None:
        lists = hownet_lists() if lists is None else lists
        self.spec = spec
        self.positive = frozenset(lists.get("pos", ()))
        self.negative = frozenset(lists.get("neg", ()))
        self.negators = frozenset(lists.get("deny", ())) | {"不", "没", "没有", "别"}
        words = [(w, 1) for w in spec.positive] + [(w, -1) for w in spec.negative]
        words.sort(key=lambda wp: -len(wp[0]))
        self._cx = re.compile("|".join(re.escape(w) for w, _ in words)) if words else None
        self._cx_sign = dict(words)

    def score(self, text: str, tokens: Sequence[str]) -> float:
        total = count = 0.0
        covered: set[int] = set()
        if self._cx is not None:
            for match in self._cx.finditer(text):
                sign = self._cx_sign[match.group()]
                before = text[max(0, match.start() - 2):match.start()]
                if _NEGATOR.search(before) and match.group()[0] not in "不没":
                    sign = -sign
                total += sign
                count += 1
                covered.update(range(match.start(), match.end()))
        pos = 0
        for i, token in enumerate(tokens):
            start = text.find(token, pos)
            pos = start + len(token) if start >= 0 else pos
            if start >= 0 and start in covered:
                continue
            sign = 1 if token in self.positive else -1 if token in self.negative else 0
            if not sign:
                continue
            if any(t in self.negators for t in tokens[max(0, i - 2):i]):
                sign = -sign
            total += sign
            count += 1
        return total / count if count else 0.0

    def blend(self, result: SentimentResult, text: str, tokens: Sequence[str]) -> SentimentResult:
        lexical = self.score(text, tokens)
        if lexical == 0.0:
            score = result.score
        else:
            score = (1 - self.spec.weight) * result.score + self.spec.weight * lexical
        if abs(score) < self.spec.band:
            return SentimentResult("neutral", round(score, 4),
                                   round(1.0 - abs(score) / max(self.spec.band, 1e-9) * 0.5, 4))
        label = "positive" if score > 0 else "negative"
        return SentimentResult(label, round(score, 4), round(0.5 + min(1.0, abs(score)) / 2, 4))


@dataclass(slots=True)
class Clause:
    start: int
    end: int
    contrast: bool  # opened by a contrast marker


def split_clauses(text: str) -> list[Clause]:
    """Clauses of one sentence as character spans (start inclusive, end exclusive), without the
    punctuation around them and without leading discourse or contrast markers."""
    cuts: list[tuple[int, int, bool]] = []  # (start, end, contrast) before trimming
    pos = 0
    pieces = []
    for match in _BOUNDARY.finditer(text):
        pieces.append((pos, match.start()))
        pos = match.end()
    pieces.append((pos, len(text)))
    for start, end in pieces:
        inner = start
        for marker in _SPLIT_MARKER.finditer(text, start, end):
            if marker.start() > inner:
                cuts.append((inner, marker.start(), False))
            inner = marker.start()
        cuts.append((inner, end, False))
    clauses = []
    for start, end, _ in cuts:
        segment = text[start:end]
        contrast = bool(_CONTRAST.match(segment.lstrip("嗯呃啊，, …")))
        lead = _LEAD.match(segment)
        if lead:
            start += lead.end()
        while start < end and not _WORD.match(text[start]):
            start += 1
        while end > start and text[end - 1] in " \t…~～":
            end -= 1
        if start < end and _WORD.search(text[start:end]):
            clauses.append(Clause(start, end, contrast))
    return clauses


@dataclass(slots=True)
class Mention:
    start: int
    end: int
    aspect: str
    stage: str
    stage_method: str  # cue | model | sentence | none
    touchpoint: str | None
    bare: bool = False  # names the aspect only; takes the opinion of the next mention
    topic_id: int = OUTLIER
    sentiment_label: str = "neutral"
    sentiment_score: float = 0.0
    sentiment_confidence: float = 0.0
    emotions: dict[str, float] = field(default_factory=dict)


def _is_bare(text: str, aspect: str) -> bool:
    rest = text.replace(aspect, "", 1) if aspect else text
    return len(_WORD.findall(_FUNCTION.sub("", rest))) < 2


class MentionExtractor:
    """Splits sentences into aspect mentions and scores them. Pure over batches: sentence texts
    (with each sentence's own stage and topic) in, mentions out."""

    def __init__(self, tokenize: Callable[[str], list[str]], tagger: JourneyTagger,
                 sentiment: SentimentBackend, emotions: EmotionLexicon | None = None,
                 topic_keywords: Mapping[int, Sequence[str]] | None = None,
                 config: MentionConfig | None = None) -> None:
        self.tokenize = tokenize
        self.config = config or MentionConfig()
        self.tagger = aspect_tagger(tagger, tokenize, self.config)
        self.sentiment = sentiment
        self.emotions = emotions
        self.polarity = PolarityLexicon(self.config.polarity) if self.config.polarity.weight else None
        self.topic_keywords = {int(k): [w.lower() for w in v] for k, v in
                               (topic_keywords or {}).items() if int(k) != OUTLIER}

    def spans(self, text: str, sentence_stage: str = UNKNOWN,
              sentence_touchpoint: str | None = None) -> list[Mention]:
        """The mentions of one sentence, unscored."""
        clauses = split_clauses(text)
        if not clauses:
            return []
        tokens = [self.tokenize(text[c.start:c.end]) for c in clauses]
        cues: list[StageResult] = self.tagger.match(tokens)
        mentions: list[Mention] = []
        pending: int | None = None  # start of clauses waiting for the next aspect
        for clause, cue, toks in zip(clauses, cues, tokens, strict=True):
            if cue.method == "cue":
                start = clause.start if pending is None else pending
                pending = None
                mentions.append(Mention(start, clause.end, cue.evidence, cue.stage, "cue",
                                        cue.touchpoint))
                continue
            aspect = self._topic_aspect(toks)
            if clause.contrast or not mentions:
                modelled = self.tagger.tag([toks])[0] if self.tagger.model is not None else cue
                if modelled.method == "model" or (clause.contrast and mentions):
                    # a contrast opens its own opinion even when no stage is sure
                    start = clause.start if pending is None else pending
                    pending = None
                    mentions.append(Mention(start, clause.end, aspect, modelled.stage,
                                            modelled.method if modelled.method == "model"
                                            else "none", modelled.touchpoint))
                    continue
            if mentions:
                mentions[-1].end = clause.end
                if not mentions[-1].aspect and aspect:
                    mentions[-1].aspect = aspect
            elif pending is None:
                pending = clause.start
        if not mentions:  # no aspect anywhere: the whole sentence, with its own stage
            stage = sentence_stage or UNKNOWN
            return [Mention(clauses[0].start, clauses[-1].end,
                            self._topic_aspect(self.tokenize(text)), stage,
                            "sentence" if stage != UNKNOWN else "none", sentence_touchpoint)]
        if pending is not None:  # trailing clauses without an aspect: the last mention's
            mentions[-1].end = clauses[-1].end
        for mention in mentions:
            mention.bare = _is_bare(text[mention.start:mention.end], mention.aspect)
        return mentions

    def _topic_aspect(self, tokens: Sequence[str]) -> str:
        lowered = {t.lower() for t in tokens}
        for keywords in self.topic_keywords.values():
            for word in keywords[:5]:
                if word in lowered:
                    return word
        return ""

    def _topic(self, tokens: Sequence[str], sentence_topic: int) -> int:
        """The topic whose top keywords the mention uses most (earlier keywords weigh more);
        the sentence's topic when none is used."""
        lowered = {t.lower() for t in tokens}
        best, best_score = sentence_topic, 0.0
        for topic_id, keywords in sorted(self.topic_keywords.items()):
            score = sum(1.0 / (1 + rank) for rank, w in enumerate(keywords[:10]) if w in lowered)
            if score > best_score:
                best, best_score = topic_id, score
        return best

    def extract(self, texts: Sequence[str], stages: Sequence[str] | None = None,
                touchpoints: Sequence[str | None] | None = None,
                topics: Sequence[int] | None = None) -> list[list[Mention]]:
        """Scored mentions for each sentence: one sentiment call over every mention text."""
        n = len(texts)
        stages = stages if stages is not None else [UNKNOWN] * n
        touchpoints = touchpoints if touchpoints is not None else [None] * n
        topics = topics if topics is not None else [OUTLIER] * n
        per_sentence = [self.spans(t, s or UNKNOWN, tp)
                        for t, s, tp in zip(texts, stages, touchpoints, strict=True)]
        flat = [(i, m) for i, ms in enumerate(per_sentence) for m in ms]
        results = self.sentiment.predict([texts[i][m.start:m.end] for i, m in flat])
        for (i, mention), result in zip(flat, results, strict=True):
            text = texts[i][mention.start:mention.end]
            toks = self.tokenize(text)
            if self.polarity is not None:
                result = self.polarity.blend(result, text, toks)
            mention.sentiment_label = result.label
            mention.sentiment_score = float(result.score)
            mention.sentiment_confidence = float(result.confidence)
            mention.topic_id = self._topic(toks, int(topics[i]))
            if self.emotions is not None:
                mention.emotions = self.emotions.score(toks)
        for mentions in per_sentence:  # "物流、客服都很差": the bare aspect shares the opinion
            for mention, after in zip(mentions, mentions[1:], strict=False):
                if mention.bare and mention.sentiment_label == "neutral":
                    mention.sentiment_label = after.sentiment_label
                    mention.sentiment_score = after.sentiment_score
                    mention.sentiment_confidence = after.sentiment_confidence
        for mention in (m for ms in per_sentence for m in ms):
            mention.emotions = consistent_with(mention.emotions, mention.sentiment_label)
        return per_sentence


def build_mentions(sentences: pd.DataFrame, extractor: MentionExtractor) -> pd.DataFrame:
    """One row per aspect mention of every customer sentence (the `mentions` table without its
    run keys). `sentences` is the utterances frame: record_id, channel, turn_index,
    sentence_index, role, text and, when present, stage, touchpoint, topic_id."""
    customer = sentences[sentences["role"] == "customer"]
    if customer.empty:
        return pd.DataFrame(columns=MENTION_COLUMNS)

    def column(name: str, default):
        return customer[name].tolist() if name in customer else [default] * len(customer)

    stages = [s if isinstance(s, str) else UNKNOWN for s in column("stage", UNKNOWN)]
    touchpoints = [t if isinstance(t, str) else None for t in column("touchpoint", None)]
    topics = [int(t) if pd.notna(t) else OUTLIER for t in column("topic_id", OUTLIER)]
    texts = customer["text"].tolist()
    extracted = extractor.extract(texts, stages, touchpoints, topics)
    rows = []
    for (_, row), text, mentions in zip(customer.iterrows(), texts, extracted, strict=True):
        for index, m in enumerate(mentions):
            rows.append({
                "record_id": row["record_id"], "channel": row["channel"],
                "turn_index": int(row["turn_index"]), "sentence_index": int(row["sentence_index"]),
                "mention_index": index, "start_char": m.start, "end_char": m.end,
                "text": text[m.start:m.end], "aspect": m.aspect, "stage": m.stage,
                "stage_method": m.stage_method, "touchpoint": m.touchpoint,
                "topic_id": m.topic_id, "sentiment_label": m.sentiment_label,
                "sentiment_score": round(m.sentiment_score, 4),
                "sentiment_confidence": round(m.sentiment_confidence, 4),
                "emotions": list(m.emotions),
                "emotion_scores": json.dumps(m.emotions, ensure_ascii=False),
            })
    return pd.DataFrame(rows, columns=MENTION_COLUMNS)


def mentions_as_sentences(mentions: pd.DataFrame) -> pd.DataFrame:
    """Mention rows shaped like customer utterance rows, so that nlp.painpoints.build_painpoints
    counts mentions instead of sentences: "味道不错，送餐太慢了" then adds a positive to `use`
    and a negative to `deliver` instead of one mixed sentence to one stage."""
    frame = mentions.assign(role="customer")
    return frame[["record_id", "channel", "turn_index", "sentence_index", "mention_index", "role",
                  "text", "stage", "touchpoint", "topic_id", "sentiment_label", "sentiment_score",
                  "sentiment_confidence"]].reset_index(drop=True)


def mention_pairs(mentions: Sequence[Mention]) -> set[tuple[str, str]]:
    """(stage, polarity) pairs a piece of feedback expresses: placed, non-neutral mentions."""
    return {(m.stage, m.sentiment_label) for m in mentions
            if m.stage != UNKNOWN and m.sentiment_label != "neutral"}
