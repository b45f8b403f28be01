"""Researcher overrides of topics (configs/local/topics.yaml): rename, merge, noise, seed topics.

Overrides refer to stable topic ids, so they survive refits; they are applied on every run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nlp.topics.types import OUTLIER


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SeedTopic(_Strict):
    """A guided topic: BERTopic's seed_topic_list on the next refit, and its label."""

    label: str = Field(min_length=2)
    keywords: list[str] = Field(min_length=1)


class TopicOverrides(_Strict):
    rename: dict[int, str] = Field(default_factory=dict)  # topic id -> label
    merge: dict[int, list[int]] = Field(default_factory=dict)  # kept id -> ids merged into it
    noise: list[int] = Field(default_factory=list)  # ids whose sentences become -1 (未归类)
    seeds: list[SeedTopic] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> TopicOverrides:
        sources = [s for ids in self.merge.values() for s in ids]
        if len(sources) != len(set(sources)):
            raise ValueError("merge: a topic id is merged into more than one topic")
        chained = set(sources) & set(self.merge)
        if chained:
            raise ValueError(f"merge: ids {sorted(chained)} are both merged away and merge targets")
        if OUTLIER in set(sources) | set(self.merge) | set(self.noise) | set(self.rename):
            raise ValueError("merge/noise/rename: -1 is the outlier id and cannot be overridden")
        return self

    def effective_id(self, topic_id: int) -> int:
        """The id a sentence of `topic_id` is reported under."""
        if topic_id in self.noise:
            return OUTLIER
        for target, sources in self.merge.items():
            if topic_id in sources:
                return OUTLIER if target in self.noise else target
        return topic_id

    def seed_lists(self) -> list[list[str]] | None:
        return [s.keywords for s in self.seeds] or None

    def label_for(self, topic_id: int, keywords: Sequence[str], default: str) -> str:
        """Rename wins; else the label of the seed topic whose keywords the topic's top keywords
        share most; else `default`."""
        if topic_id in self.rename:
            return self.rename[topic_id]
        top = {k.replace(" ", "") for k in keywords[:10]}
        best, best_hits = None, 0
        for seed in self.seeds:
            hits = len(top & set(seed.keywords))
            if hits > best_hits:
                best, best_hits = seed.label, hits
        return best or default


def merge_keywords(weights: Mapping[int, Mapping[str, float]], sizes: Mapping[int, int],
                   ids: Sequence[int], top_n: int) -> list[str]:
    """Keywords of topics merged into one: c-TF-IDF weights averaged by topic size."""
    total: dict[str, float] = {}
    for topic in ids:
        for word, w in weights.get(topic, {}).items():
            total[word] = total.get(word, 0.0) + w * max(sizes.get(topic, 1), 1)
    return [w for w, _ in sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))[:top_n]]
