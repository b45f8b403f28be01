"""The report's aspect-mention sections: mentions by stage, emotions of negative mentions, top
negative aspect terms, and the rating-impact table.

The `mentions` table can hold millions of rows a night, so it is never loaded whole: its rows
are streamed from the sink in Arrow batches (`iter_batches`, when the sink offers it) and only
running counts are kept — per (channel, stage, polarity), per (channel, stage, emotion) over
negative mentions, and per (stage, aspect term) over negative mentions with the most negative
mention as the example. `rating_impact` is small (one row per stage and topic) and read whole.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from flows.report.theme import ALL
from flows.sinks.base import Sink

MENTION_COLUMNS = ["channel", "stage", "aspect", "sentiment_label", "sentiment_score",
                   "emotions", "text"]
BATCH_ROWS = 100_000
NO_RATING_NOTE = "今日没有任何来源带评分（impact.sources 中的渠道均无有效评分），不计算评分影响。"


@dataclass
class MentionSummary:
    """Running aggregates over one run date's mentions (channel `all` included)."""

    n_mentions: int = 0
    polarity: Counter = field(default_factory=Counter)  # (channel, stage, label) -> mentions
    negative: Counter = field(default_factory=Counter)  # (channel, stage) -> negative mentions
    emotions: Counter = field(default_factory=Counter)  # (channel, stage, emotion) -> negatives
    terms: dict[tuple[str, str], list] = field(default_factory=dict)  # -> [count, score, text]

    def add(self, frame: pd.DataFrame) -> None:
        """Fold one batch of mention rows into the counts."""
        if frame.empty:
            return
        frame = frame.assign(channel=frame["channel"].fillna("?"),
                             stage=frame["stage"].fillna("unknown"),
                             sentiment_label=frame["sentiment_label"].fillna("neutral"))
        self.n_mentions += len(frame)
        counts = frame.groupby(["channel", "stage", "sentiment_label"], sort=False).size()
        for (channel, stage, label), n in counts.items():
            self.polarity[(channel, stage, label)] += int(n)
            self.polarity[(ALL, stage, label)] += int(n)
        negative = frame[frame["sentiment_label"] == "negative"]
        if negative.empty:
            return
        for (channel, stage), n in negative.groupby(["channel", "stage"], sort=False).size().items():
            self.negative[(channel, stage)] += int(n)
            self.negative[(ALL, stage)] += int(n)
        for channel, stage, emotions in zip(negative["channel"], negative["stage"],
                                            negative["emotions"], strict=True):
            for emotion in _as_list(emotions):
                self.emotions[(channel, stage, emotion)] += 1
                self.emotions[(ALL, stage, emotion)] += 1
        named = negative[negative["aspect"].fillna("").str.len() > 0]
        if named.empty:
            return
        named = named.assign(sentiment_score=named["sentiment_score"].fillna(0.0),
                             text=named["text"].fillna(""))
        grouped = named.sort_values(["sentiment_score", "text"], kind="stable").groupby(
            ["stage", "aspect"], sort=False)
        for key, group in grouped:
            first = group.iloc[0]
            entry = self.terms.setdefault(key, [0, math.inf, ""])
            entry[0] += len(group)
            score = float(first["sentiment_score"])
            if (score, str(first["text"] or "")) < (entry[1], entry[2]):
                entry[1], entry[2] = score, str(first["text"] or "")

    def stage_counts(self) -> pd.DataFrame:
        """channel, stage, positive, negative, neutral (mentions)."""
        rows: dict[tuple[str, str], dict[str, int]] = {}
        for (channel, stage, label), n in self.polarity.items():
            rows.setdefault((channel, stage), {"positive": 0, "negative": 0, "neutral": 0})[
                label] = n
        return pd.DataFrame([{"channel": c, "stage": s, **v} for (c, s), v in rows.items()],
                            columns=["channel", "stage", "positive", "negative", "neutral"])

    def emotion_counts(self) -> pd.DataFrame:
        """channel, stage, emotion, count, negative (the stage's negative mentions)."""
        return pd.DataFrame(
            [{"channel": c, "stage": s, "emotion": e, "count": n,
              "negative": self.negative[(c, s)]} for (c, s, e), n in self.emotions.items()],
            columns=["channel", "stage", "emotion", "count", "negative"])

    def top_terms(self, n: int) -> pd.DataFrame:
        """The `n` aspect terms with most negative mentions: stage, aspect, negative, example."""
        rows = [{"stage": s, "aspect": a, "negative": v[0], "example": v[2]}
                for (s, a), v in self.terms.items()]
        frame = pd.DataFrame(rows, columns=["stage", "aspect", "negative", "example"])
        return frame.sort_values(["negative", "stage", "aspect"], ascending=[False, True, True],
                                 kind="stable").head(n).reset_index(drop=True)


def _as_list(value) -> list[str]:
    if value is None or isinstance(value, float):
        return []
    return [str(v) for v in value]


def mention_batches(sink: Sink, run_date: date, columns: list[str] = MENTION_COLUMNS,
                    rows: int = BATCH_ROWS) -> Iterator[pd.DataFrame]:
    """`run_date`'s mention rows, `columns` only, in batches: streamed when the sink offers
    `iter_batches`, else one read (small sinks, tests)."""
    stream = getattr(sink, "iter_batches", None)
    if stream is None:
        frame = sink.read_table("mentions", run_date)
        if len(frame):
            yield frame[columns]
        return
    for batch in stream("mentions", run_date, columns, rows):
        frame = batch.to_pandas()
        if "emotions" in columns:
            frame["emotions"] = pd.Series(batch.column("emotions").to_pylist(), dtype=object,
                                          index=frame.index)
        yield frame


def summarize_mentions(batches: Iterable[pd.DataFrame]) -> MentionSummary:
    summary = MentionSummary()
    for frame in batches:
        summary.add(frame)
    return summary


@dataclass
class TermView:
    stage_name: str
    aspect: str
    negative: int
    example: str


@dataclass
class ImpactView:
    dimension: str  # 阶段 | 话题
    item: str
    n_records: int
    mean_with: str
    mean_without: str
    impact: str
    interval: str
    tone: str  # bad: surely lowers the rating; good: surely raises it; "" otherwise


def term_views(terms: pd.DataFrame, stage_names: Mapping[str, str]) -> list[TermView]:
    return [TermView(stage_names.get(r.stage, r.stage), str(r.aspect), int(r.negative),
                     str(r.example)) for r in terms.itertuples(index=False)]


def _number(value, digits: int = 2, sign: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{float(value):+.{digits}f}" if sign else f"{float(value):.{digits}f}"


def impact_views(impact: pd.DataFrame, stage_names: Mapping[str, str],
                 topic_labels: Mapping[int, str], top_topics: int) -> list[ImpactView]:
    """Every stage, then the `top_topics` topics with the largest impact, each with its
    interval; a row is marked when its interval excludes 0."""
    if impact.empty:
        return []
    views = []
    stages = impact[impact["dimension"] == "stage"]
    topics = impact[impact["dimension"] == "topic_id"].head(top_topics)
    for frame, dimension in ((stages, "阶段"), (topics, "话题")):
        for r in frame.itertuples(index=False):
            if dimension == "阶段":
                item = stage_names.get(r.item, r.item)
            else:
                topic = int(r.item) if str(r.item).lstrip("-").isdigit() else None
                item = topic_labels.get(topic, f"话题 {r.item}") if topic is not None else r.item
            low, high = r.ci_low, r.ci_high
            sure_bad = low is not None and not pd.isna(low) and float(low) > 0
            sure_good = high is not None and not pd.isna(high) and float(high) < 0
            interval = ("—" if low is None or pd.isna(low)
                        else f"[{_number(low, sign=True)}, {_number(high, sign=True)}]")
            views.append(ImpactView(dimension, str(item), int(r.n_records),
                                    _number(r.mean_with), _number(r.mean_without),
                                    _number(r.impact, sign=True), interval,
                                    "bad" if sure_bad else "good" if sure_good else ""))
    return views


def has_ratings(impact: pd.DataFrame) -> bool:
    return not impact.empty and int(pd.to_numeric(impact["n_rated"]).max() or 0) > 0
