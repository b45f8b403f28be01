"""The report's mention sections: streamed aggregates, top negative aspect terms, rating impact."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pandas as pd
import pyarrow as pa
import pytest

from flows.report.build import mention_context
from flows.report.mentions_view import (
    MENTION_COLUMNS,
    NO_RATING_NOTE,
    impact_views,
    mention_batches,
    summarize_mentions,
)
from nlp.config import ReportSettings

DAY = date(2026, 11, 24)


def mention_rows() -> pd.DataFrame:
    rows = [
        ("chat", "deliver", "快递", "negative", -0.6, ["anger", "disappointment"], "快递太慢了"),
        ("chat", "deliver", "快递", "negative", -0.9, ["anger"], "快递丢了也不管"),
        ("call", "deliver", "快递", "negative", -0.7, [], "快递还没到"),
        ("call", "use", "味道", "positive", 0.8, ["joy"], "味道不错"),
        ("forum", "use", "", "negative", -0.5, ["disgust"], "太难吃"),
        ("forum", "billing", "退款", "neutral", 0.0, [], "退款申请了"),
    ]
    return pd.DataFrame(rows, columns=MENTION_COLUMNS)


class FrameSink:
    """A sink without iter_batches: reads return whole frames."""

    name = "frames"

    def __init__(self, tables: dict[str, pd.DataFrame]) -> None:
        self.tables = tables

    def read_table(self, table: str, run_date: date | None = None) -> pd.DataFrame:
        return self.tables.get(table, pd.DataFrame())


class BatchSink(FrameSink):
    """A sink that streams one row per batch."""

    def iter_batches(self, table, run_date, columns, rows=100_000):
        frame = self.tables[table][columns]
        for i in range(len(frame)):
            yield pa.Table.from_pandas(frame.iloc[i:i + 1], preserve_index=False)


@pytest.mark.parametrize("sink_type", [FrameSink, BatchSink])
def test_summary_is_the_same_whether_read_whole_or_streamed(sink_type):
    summary = summarize_mentions(mention_batches(sink_type({"mentions": mention_rows()}), DAY))
    assert summary.n_mentions == 6
    counts = summary.stage_counts().set_index(["channel", "stage"])
    assert counts.loc[("all", "deliver"), "negative"] == 3
    assert counts.loc[("all", "use"), ["positive", "negative"]].tolist() == [1, 1]
    assert counts.loc[("chat", "deliver"), "negative"] == 2
    emotions = summary.emotion_counts().set_index(["channel", "stage", "emotion"])
    assert emotions.loc[("all", "deliver", "anger"), ["count", "negative"]].tolist() == [2, 3]
    assert ("all", "use", "joy") not in emotions.index  # only negative mentions count
    terms = summary.top_terms(5)
    assert terms.to_dict("records") == [
        {"stage": "deliver", "aspect": "快递", "negative": 3, "example": "快递丢了也不管"}]


def test_impact_views_format_intervals_and_mark_sure_rows():
    impact = pd.DataFrame([
        {"dimension": "stage", "item": "deliver", "n_records": 30, "n_rated": 100,
         "mean_with": 2.0, "mean_without": 3.9, "impact": 0.3, "ci_low": 0.1, "ci_high": 0.5},
        {"dimension": "topic_id", "item": "4", "n_records": 3, "n_rated": 100,
         "mean_with": 4.5, "mean_without": 3.3, "impact": -0.02, "ci_low": None,
         "ci_high": None},
    ])
    views = impact_views(impact, {"deliver": "交付"}, {4: "送餐·超时"}, top_topics=5)
    assert [(v.dimension, v.item, v.impact, v.interval, v.tone) for v in views] == [
        ("阶段", "交付", "+0.30", "[+0.10, +0.50]", "bad"),
        ("话题", "送餐·超时", "-0.02", "—", ""),
    ]


def test_mention_context_notes_when_no_source_carries_a_rating():
    data = SimpleNamespace(run_date=DAY, tables={}, stage_order=lambda: ["deliver", "use"],
                           stage_name=lambda s: {"deliver": "交付"}.get(s, s))
    sink = FrameSink({"mentions": mention_rows(), "rating_impact": pd.DataFrame(
        columns=["dimension", "item", "n_records", "n_rated"])})
    context = mention_context(sink, data, ReportSettings())
    assert context["impact"] == [] and context["impact_note"] == NO_RATING_NOTE
    assert len(context["figures"]) == 2
    assert 'id="fig-mention-stages"' in context["figures"][0]
    assert 'id="fig-mention-emotions"' in context["figures"][1]
    assert context["terms"][0].stage_name == "交付" and context["n_mentions"] == 6
    empty = mention_context(FrameSink({}), data, ReportSettings())
    assert empty["figures"] == [] and empty["terms"] == [] and empty["n_mentions"] == 0
