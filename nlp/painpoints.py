"""Aggregations that build the `painpoints` (stage x topic) and `topics` tables.

priority = negative_volume x stage_weight x (1 + severity) x (1 + escalation_rate + churn_rate)

where negative_volume is the number of negative customer sentences in the cell (volume x negative
share), severity the mean intensity (-score) of those sentences, and the stage weight comes from
journey.yaml (`weight`) or `painpoints.stage_weights`. Impact first, as the seed articles advise:
many, strongly negative mentions at a stage that matters, from customers who threaten to escalate
or leave, come first. Sentences without a journey stage (`unknown`) are counted but get
priority 0: a pain point nobody can place on the journey has no owner to act on it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence

import pandas as pd

from nlp.topics import OUTLIER, TopicInfo

PAINPOINT_COLUMNS = [
    "stage", "topic_id", "topic_label", "volume", "share", "n_documents", "negative_count",
    "negative_share", "mean_sentiment", "severity", "effort", "escalation_rate", "churn_rate",
    "peak_end", "priority", "keywords", "example_record_ids",
]


def build_painpoints(sentences: pd.DataFrame, documents: pd.DataFrame,
                     topics: Sequence[TopicInfo], stage_weights: Mapping[str, float],
                     n_examples: int = 3) -> pd.DataFrame:
    customer = sentences[sentences["role"] == "customer"]
    if customer.empty:
        return pd.DataFrame(columns=PAINPOINT_COLUMNS)
    docs = documents.set_index("record_id")
    info = {t.topic_id: t for t in topics}
    total = len(customer)
    rows = []
    for (stage, topic_id), cell in customer.groupby(["stage", "topic_id"], sort=True):
        negative = cell[cell["sentiment_label"] == "negative"]
        cell_docs = docs.loc[cell["record_id"].unique()]
        severity = -fmean(negative["sentiment_score"]) if len(negative) else 0.0
        escalation = fmean(cell_docs["escalation"])
        churn = fmean(cell_docs["churn"])
        weight = stage_weight(stage, stage_weights)
        examples = (negative if len(negative) else cell).sort_values(
            ["sentiment_score", "record_id"], kind="stable"
        )["record_id"].drop_duplicates().head(n_examples).tolist()
        peak_end = cell_docs["peak_end_score"].dropna()
        rows.append(painpoint_row(
            stage, int(topic_id), info, volume=len(cell), total=total,
            n_documents=len(cell_docs), negative_count=len(negative),
            mean_sentiment=fmean(cell["sentiment_score"]), severity=severity,
            effort=fmean(cell_docs["effort_score"]), escalation=escalation, churn=churn,
            peak_end=fmean(peak_end) if len(peak_end) else None, weight=weight,
            examples=examples))
    return sort_painpoints(rows)


def fmean(values: pd.Series) -> float:
    """Mean of the non-missing values with a correctly rounded sum (math.fsum): the same in
    any order, so the flow's SQL path (flows/aggregate.py, DuckDB fsum) agrees to the last
    digit the rounding keeps."""
    values = values.dropna().astype(float)
    return math.fsum(values) / len(values) if len(values) else float("nan")


def stage_weight(stage: str, stage_weights: Mapping[str, float]) -> float:
    return 0.0 if stage == "unknown" else float(stage_weights.get(stage, 0.5))


def painpoint_row(stage: str, topic_id: int, info: Mapping[int, TopicInfo], *, volume: int,
                  total: int, n_documents: int, negative_count: int, mean_sentiment: float,
                  severity: float, effort: float, escalation: float, churn: float,
                  peak_end: float | None, weight: float, examples: list[str]) -> dict:
    """One painpoints row from a cell's aggregates (the priority formula and the rounding live
    here, for the pandas path above and the flow's SQL path, flows/aggregate.py)."""
    priority = negative_count * weight * (1 + severity) * (1 + escalation + churn)
    topic = info.get(int(topic_id))
    return {
        "stage": stage,
        "topic_id": int(topic_id),
        "topic_label": topic.label if topic else ("未归类" if topic_id == OUTLIER else ""),
        "volume": volume,
        "share": round(volume / total, 4),
        "n_documents": n_documents,
        "negative_count": negative_count,
        "negative_share": round(negative_count / volume, 4),
        "mean_sentiment": round(mean_sentiment, 4),
        "severity": round(severity, 4),
        "effort": round(effort, 4),
        "escalation_rate": round(escalation, 4),
        "churn_rate": round(churn, 4),
        "peak_end": round(peak_end, 4) if peak_end is not None else None,
        "priority": round(priority, 3),
        "keywords": topic.keywords[:5] if topic else [],
        "example_record_ids": examples,
    }


def sort_painpoints(rows: list[dict]) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=PAINPOINT_COLUMNS)
    return table.sort_values(["priority", "stage", "topic_id"], ascending=[False, True, True],
                             kind="stable").reset_index(drop=True)


TOPIC_COLUMNS = ["topic_id", "label", "keywords", "size", "representative", "stage_mix"]


def build_topic_table(topics: Sequence[TopicInfo], sentences: pd.DataFrame,
                      fitted_texts: Sequence[str]) -> pd.DataFrame:
    """One row per topic with label, keywords, size, 3 masked verbatims and the stage mix."""
    customer = sentences[sentences["role"] == "customer"]
    counts = customer.groupby(["topic_id", "stage"], dropna=False).size().rename("n").reset_index()
    return topic_table_from_counts(topics, counts, fitted_texts)


def topic_table_from_counts(topics: Sequence[TopicInfo], counts: pd.DataFrame,
                            fitted_texts: Sequence[str]) -> pd.DataFrame:
    """build_topic_table from customer-sentence counts per topic_id x stage (column `n`; rows
    with no stage count towards the size only)."""
    by_topic = {int(t): group for t, group in counts.groupby("topic_id")} if len(counts) else {}
    rows = []
    for topic in topics:
        members = by_topic.get(topic.topic_id)
        mix = {} if members is None else {
            str(stage): int(n) for stage, n in sorted(zip(members["stage"], members["n"],
                                                          strict=True), key=lambda x: str(x[0]))
            if isinstance(stage, str)}
        rows.append(
            {
                "topic_id": topic.topic_id,
                "label": topic.label,
                "keywords": topic.keywords,
                "size": 0 if members is None else int(members["n"].sum()),
                "representative": [fitted_texts[i] for i in topic.representative],
                "stage_mix": json.dumps(mix, ensure_ascii=False, sort_keys=True),
            }
        )
    return pd.DataFrame(rows, columns=TOPIC_COLUMNS)
