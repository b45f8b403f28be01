"""Wiring of aspect mentions, emotions and rating impact for the flow and the CLI.

Thin glue over pure functions in nlp/ (nlp/mentions.py, nlp/emotions.py, nlp/impact.py): build
the extractor from the loaded components and settings, then the `mentions` table, the
mention-counted pain points and the rating-impact frames. The nightly flow calls
`mention_tables` after topics are assigned (see the issue note for the exact lines).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from flows.components import Components
from nlp.config import Settings
from nlp.emotions import load_emotion_lexicon
from nlp.impact import apply_rating_impact, rating_impact, record_ratings
from nlp.journey import JourneyTagger
from nlp.mentions import (
    MentionExtractor,
    build_mentions,
    load_mention_config,
    mentions_as_sentences,
)
from nlp.painpoints import build_painpoints
from nlp.topics import TopicInfo


class PrefetchTagger:
    """The extractor's journey tagger with a cache of `tag` results per token list: one
    stage-model call costs ~15 ms of scikit-learn overhead, so callers that extract one record
    at a time (`voc eval mentions`, `voc analyze`) reuse earlier clauses' results. Results are
    the same: `tag` is per sentence."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.cache: dict[tuple[str, ...], object] = {}

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def prefetch(self, sentences: Sequence[list[str]]) -> None:
        todo = list(dict.fromkeys(tuple(t) for t in sentences if tuple(t) not in self.cache))
        if todo:
            for key, result in zip(todo, self.inner.tag([list(t) for t in todo]), strict=True):
                self.cache[key] = result

    def tag(self, sentences: Sequence[list[str]]) -> list:
        self.prefetch(sentences)
        return [self.cache[tuple(t)] for t in sentences]

    def clear(self) -> None:
        self.cache.clear()


def make_extractor(settings: Settings, comp: Components,
                   topic_keywords: Mapping[int, Sequence[str]] | None = None) -> MentionExtractor:
    extractor = MentionExtractor(comp.segmenter.tokens, comp.tagger, comp.sentiment,
                                 load_emotion_lexicon(settings.mentions.emotions), topic_keywords,
                                 load_mention_config(settings.mentions.config),
                                 tokenize_batch=comp.segmenter.tokens_batch)
    if isinstance(getattr(extractor, "tagger", None), JourneyTagger):
        extractor.tagger = PrefetchTagger(extractor.tagger)
    return extractor


def mention_tables(sentences: pd.DataFrame, documents: pd.DataFrame, painpoints: pd.DataFrame,
                   topics: Sequence[TopicInfo], settings: Settings,
                   comp: Components) -> dict[str, pd.DataFrame]:
    """`mentions` (the new table), `painpoints` (recounted over mentions when
    painpoints.count is `mentions`; priority scaled by rating impact when
    painpoints.use_rating_impact) and `rating_impact` (stage and topic impact figures)."""
    extractor = make_extractor(settings, comp, {t.topic_id: t.keywords for t in topics})
    mentions = build_mentions(sentences, extractor)
    if settings.painpoints.count == "mentions":
        weights = comp.stage_weights(settings.painpoints.stage_weights)
        painpoints = build_painpoints(mentions_as_sentences(mentions), documents, topics, weights,
                                      settings.painpoints.examples)
    source = mentions if settings.painpoints.count == "mentions" else sentences
    ratings = record_ratings(documents, settings.impact)
    impact = pd.concat([rating_impact(ratings, source, "stage", settings.impact),
                        rating_impact(ratings, source, "topic_id", settings.impact)],
                       ignore_index=True)
    if settings.painpoints.use_rating_impact:
        painpoints = apply_rating_impact(painpoints, impact)
    return {"mentions": mentions, "painpoints": painpoints, "rating_impact": impact}
