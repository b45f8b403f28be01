"""The topic record the rest of the pipeline reads (painpoints, topics table)."""

from __future__ import annotations

from dataclasses import dataclass

OUTLIER = -1


@dataclass(frozen=True, slots=True)
class TopicInfo:
    topic_id: int  # stable id
    label: str
    keywords: list[str]
    size: int
    representative: list[int]  # indices into the texts list handed over with the topics
