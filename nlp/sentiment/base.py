"""The one small interface every sentiment backend implements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

SentimentLabel = Literal["negative", "neutral", "positive"]
LABELS: tuple[SentimentLabel, ...] = ("negative", "neutral", "positive")


@dataclass(frozen=True, slots=True)
class SentimentResult:
    """Sentiment of one sentence.

    score is in [-1, 1] (negative .. positive); confidence in [0, 1] is how sure the backend is
    of `label`.
    """

    label: SentimentLabel
    score: float
    confidence: float


@runtime_checkable
class SentimentBackend(Protocol):
    """Predicts sentiment for a batch of (already normalised) sentences."""

    name: str
    version: str

    def predict(self, sentences: Sequence[str]) -> list[SentimentResult]: ...
