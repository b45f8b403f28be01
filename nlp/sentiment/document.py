"""Sentiment of a whole record from its customer sentences."""

from __future__ import annotations

from collections.abc import Sequence

from nlp.sentiment.base import SentimentResult


def document_sentiment(sentences: Sequence[SentimentResult],
                       neutral_band: float = 0.15) -> SentimentResult:
    """Confidence-weighted mean of the sentence scores, with neutral sentences counting half:
    one plain question in a complaint should not water the complaint down. The label follows
    the mean unless it is inside `neutral_band`; confidence is the weighted agreement with it."""
    if not sentences:
        raise ValueError("document_sentiment needs at least one sentence")
    weights = [r.confidence * (0.5 if r.label == "neutral" else 1.0) for r in sentences]
    total = sum(weights) or float(len(sentences))
    if not any(weights):
        weights = [1.0] * len(sentences)
    score = sum(w * r.score for w, r in zip(weights, sentences, strict=True)) / total
    label = ("neutral" if abs(score) < neutral_band
             else "positive" if score > 0 else "negative")
    agree = sum(w for w, r in zip(weights, sentences, strict=True) if r.label == label) / total
    return SentimentResult(label, round(score, 4), round(agree, 4))
