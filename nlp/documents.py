"""One row per Record: document sentiment, peak-end score, main stage and topic, signals."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence

import pandas as pd

from nlp.journey import UNKNOWN
from nlp.records import Record
from nlp.sentiment.base import SentimentResult
from nlp.sentiment.document import document_sentiment
from nlp.signals import EFFORT_SIGNALS, SignalDetector, peak_end_score
from nlp.topics import OUTLIER

SIGNAL_COLUMNS = (*EFFORT_SIGNALS, "escalation", "churn")


def _main_stage(stages: Sequence[str]) -> str:
    known = [s for s in stages if s != UNKNOWN]
    if not known:
        return UNKNOWN
    counts = Counter(known)
    best = max(counts.values())
    return next(s for s in known if counts[s] == best)


def _main_topic(topics: Sequence[int], scores: Sequence[float]) -> int:
    """The topic of the document's most negative sentences, else its most frequent topic."""
    weighted: Counter[int] = Counter()
    for topic, score in zip(topics, scores, strict=True):
        if topic != OUTLIER:
            weighted[topic] += 1.0 + max(0.0, -score)
    return weighted.most_common(1)[0][0] if weighted else OUTLIER


def _per_record(sentences: pd.DataFrame) -> dict[str, dict[str, list]]:
    """One pass over the sentence rows (in order): per record, the customer columns and the
    agent token lists. Far cheaper than filtering a pandas group per record."""
    out: dict[str, dict[str, list]] = {}
    if sentences.empty:
        return out
    columns = ("sentiment_label", "sentiment_score", "sentiment_confidence", "tokens", "stage",
               "topic_id", "touchpoint", "signals")
    role = sentences["role"].tolist()
    rid = sentences["record_id"].tolist()
    data = {c: sentences[c].tolist() if c in sentences else [OUTLIER] * len(sentences)
            for c in columns}  # topic_id may come later (main_topics)
    for i, record_id in enumerate(rid):
        entry = out.get(record_id)
        if entry is None:
            entry = out[record_id] = {c: [] for c in (*columns, "agent_tokens", "agent_signals")}
        if role[i] == "customer":
            for c in columns:
                entry[c].append(data[c][i])
        elif role[i] == "agent":
            entry["agent_tokens"].append(data["tokens"][i])
            entry["agent_signals"].append(data["signals"][i])
    return out


_EMPTY = {c: [] for c in ("sentiment_label", "sentiment_score", "sentiment_confidence", "tokens",
                          "stage", "topic_id", "touchpoint", "signals", "agent_tokens",
                          "agent_signals")}


def main_topics(sentences: pd.DataFrame) -> dict[str, int]:
    """record_id -> main topic (`_main_topic` of its customer sentences), for the records that
    have customer sentences; the others' main topic is OUTLIER. For documents built before the
    topic step (the flow builds them per shard, then the topics come from the whole night)."""
    customer = sentences[sentences["role"] == "customer"]
    out: dict[str, list] = {}
    for rid, topic, score in zip(customer["record_id"].tolist(), customer["topic_id"].tolist(),
                                 customer["sentiment_score"].tolist(), strict=True):
        entry = out.setdefault(rid, [[], []])
        entry[0].append(int(topic))
        entry[1].append(float(score))
    return {rid: _main_topic(t, s) for rid, (t, s) in out.items()}


def build_documents(records: Sequence[Record], sentences: pd.DataFrame,
                    detector: SignalDetector) -> pd.DataFrame:
    """`sentences` holds every sentence row of `records` with tokens and signals, and for
    customer rows the sentiment, stage, touchpoint and (optionally: else every main topic is
    OUTLIER, see `main_topics`) topic columns."""
    by_record = _per_record(sentences)
    rows = []
    for record in records:
        group = by_record.get(record.record_id, _EMPTY)
        scores = [float(s) for s in group["sentiment_score"]]
        results = [
            SentimentResult(label, score, conf)
            for label, score, conf in zip(group["sentiment_label"], scores,
                                          group["sentiment_confidence"], strict=True)
        ]
        doc = document_sentiment(results) if results else None
        # The stage step already found each sentence's signals: search only those sentences.
        signals = detector.detect(group["tokens"], group["agent_tokens"],
                                  (group["signals"], group["agent_signals"]))
        stages = group["stage"]
        rows.append(
            {
                "record_id": record.record_id,
                "channel": record.channel,
                "source_id": record.source_id,
                "created_at": record.created_at,
                "customer_key": record.customer_key,
                "industry": record.industry,
                "product": record.product,
                "region": record.region,
                "rating": record.rating,
                "n_turns": len(record.turns),
                "n_customer_sentences": len(scores),
                "language": record.meta.get("language", "zh"),
                "truncated": bool(record.meta.get("truncated", False)),
                "sentiment_label": doc.label if doc else "neutral",
                "sentiment_score": doc.score if doc else 0.0,
                "mean_sentiment": round(sum(scores) / len(scores), 4) if scores else 0.0,
                "peak_end_score": peak_end_score(scores),
                "main_stage": _main_stage(stages),
                "stages": sorted({s for s in stages if s != UNKNOWN}),
                "main_topic": _main_topic(group["topic_id"], scores),
                "touchpoints": sorted({t for t in group["touchpoint"] if t}),
                "effort_score": signals.effort_score,
                **{name: signals.flags.get(name, False) for name in SIGNAL_COLUMNS},
                "resolution": signals.resolution,
                "signal_evidence": json.dumps(signals.evidence, ensure_ascii=False),
            }
        )
    return pd.DataFrame(rows)
