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
        severity = float((-negative["sentiment_score"]).mean()) if len(negative) else 0.0
        escalation = float(cell_docs["escalation"].mean())
        churn = float(cell_docs["churn"].mean())
        weight = 0.0 if stage == "unknown" else float(stage_weights.get(stage, 0.5))
        priority = len(negative) * weight * (1 + severity) * (1 + escalation + churn)
        examples = (negative if len(negative) else cell).sort_values(
            ["sentiment_score", "record_id"], kind="stable"
        )["record_id"].drop_duplicates().head(n_examples).tolist()
        topic = info.get(int(topic_id))
        peak_end = cell_docs["peak_end_score"].dropna()
        rows.append(
            {
                "stage": stage,
                "topic_id": int(topic_id),
                "topic_label": topic.label if topic else ("未归类" if topic_id == OUTLIER else ""),
                "volume": len(cell),
                "share": round(len(cell) / total, 4),
                "n_documents": len(cell_docs),
                "negative_count": len(negative),
                "negative_share": round(len(negative) / len(cell), 4),
                "mean_sentiment": round(float(cell["sentiment_score"].mean()), 4),
                "severity": round(severity, 4),
                "effort": round(float(cell_docs["effort_score"].mean()), 4),
                "escalation_rate": round(escalation, 4),
                "churn_rate": round(churn, 4),
                "peak_end": round(float(peak_end.mean()), 4) if len(peak_end) else None,
                "priority": round(priority, 3),
                "keywords": topic.keywords[:5] if topic else [],
                "example_record_ids": examples,
            }
        )
    table = pd.DataFrame(rows, columns=PAINPOINT_COLUMNS)
    return table.sort_values(["priority", "stage", "topic_id"], ascending=[False, True, True],
                             kind="stable").reset_index(drop=True)


def build_topic_table(topics: Sequence[TopicInfo], sentences: pd.DataFrame,
                      fitted_texts: Sequence[str]) -> pd.DataFrame:
    """One row per topic with label, keywords, size, 3 masked verbatims and the stage mix."""
    customer = sentences[sentences["role"] == "customer"]
    rows = []
    for topic in topics:
        members = customer[customer["topic_id"] == topic.topic_id]
        mix = members["stage"].value_counts().sort_index().to_dict()
        rows.append(
            {
                "topic_id": topic.topic_id,
                "label": topic.label,
                "keywords": topic.keywords,
                "size": len(members),
                "representative": [fitted_texts[i] for i in topic.representative],
                "stage_mix": json.dumps(mix, ensure_ascii=False, sort_keys=True),
            }
        )
    columns = ["topic_id", "label", "keywords", "size", "representative", "stage_mix"]
    return pd.DataFrame(rows, columns=columns)
