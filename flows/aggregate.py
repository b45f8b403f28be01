"""The night's aggregate tables from the shards' staged Parquet files, with DuckDB.

The cell statistics that nlp/painpoints.py computes with pandas (build_painpoints,
build_topic_table) and the rating-impact inputs (nlp/impact.py) are queried here over the
night's `utterances` / `mentions` / `documents` files, so the flow never holds the night's rows;
the priority formula, rounding and labels stay in nlp/painpoints.py (painpoint_row). DuckDB
spills to the staging directory beyond `MEMORY_LIMIT`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import duckdb
import pandas as pd

from nlp.painpoints import (
    PAINPOINT_COLUMNS,
    painpoint_row,
    sort_painpoints,
    stage_weight,
    topic_table_from_counts,
)
from nlp.topics import TopicInfo

MEMORY_LIMIT = "1GB"


def connect(scratch: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute("SET threads = 2")
    con.execute("SET temp_directory = ?", [str(Path(scratch) / "duckdb.tmp")])
    return con


def parquet(paths: Sequence[Path]) -> str:
    """A read_parquet() over `paths` (quoted literals: DuckDB takes no parameters here)."""
    files = ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)
    return f"read_parquet([{files}])"


def cell_statistics(con: duckdb.DuckDBPyConnection, rows: str, documents: str,
                    n_examples: int, by_channel: bool) -> pd.DataFrame:
    """Per stage x topic (x channel) cell of `rows` (customer utterance or mention rows): the
    aggregates build_painpoints computes, plus `total` (rows of the cell's channel or of all)."""
    group = "channel, stage, topic_id" if by_channel else "stage, topic_id"
    part = "channel" if by_channel else "1"
    sql = f"""
    WITH r AS (SELECT * FROM {rows} WHERE stage IS NOT NULL AND topic_id IS NOT NULL),
    totals AS (SELECT {part} AS part, count(*) AS total FROM {rows} GROUP BY ALL),
    cells AS (
        SELECT {group}, {part} AS part, count(*) AS volume,
               count(DISTINCT record_id) AS n_documents,
               count(*) FILTER (WHERE sentiment_label = 'negative') AS negative_count,
               fsum(sentiment_score) / count(sentiment_score) AS mean_sentiment,
               coalesce(fsum(-sentiment_score) FILTER (WHERE sentiment_label = 'negative')
                        / count(sentiment_score) FILTER (WHERE sentiment_label = 'negative'),
                        0.0) AS severity
        FROM r GROUP BY ALL),
    docs AS (
        SELECT {group}, fsum(d.escalation::DOUBLE) / count(d.escalation) AS escalation,
               fsum(d.churn::DOUBLE) / count(d.churn) AS churn,
               fsum(d.effort_score) / count(d.effort_score) AS effort,
               fsum(d.peak_end_score) / nullif(count(d.peak_end_score), 0) AS peak_end
        FROM (SELECT DISTINCT {group}, record_id FROM r) c
        JOIN (SELECT record_id, escalation, churn, effort_score, peak_end_score
              FROM {documents}) d USING (record_id)
        GROUP BY ALL),
    pool AS (
        SELECT {group}, r.record_id, min(r.sentiment_score) AS score
        FROM r JOIN cells c USING ({group})
        WHERE c.negative_count = 0 OR r.sentiment_label = 'negative'
        GROUP BY ALL),
    ranked AS (
        SELECT *, row_number() OVER (PARTITION BY {group} ORDER BY score, record_id) AS rn
        FROM pool),
    examples AS (
        SELECT {group}, list(record_id ORDER BY rn) AS examples
        FROM ranked WHERE rn <= {int(n_examples)} GROUP BY ALL)
    SELECT cells.*, totals.total, docs.escalation, docs.churn, docs.effort, docs.peak_end,
           examples.examples
    FROM cells JOIN totals USING (part)
    LEFT JOIN docs USING ({group}) LEFT JOIN examples USING ({group})
    ORDER BY {group}
    """
    return con.execute(sql).df()


def painpoints_from_cells(cells: pd.DataFrame, topics: Sequence[TopicInfo],
                          stage_weights: Mapping[str, float]) -> pd.DataFrame:
    info = {t.topic_id: t for t in topics}
    rows = []
    for c in cells.itertuples(index=False):
        peak_end = None if pd.isna(c.peak_end) else float(c.peak_end)
        rows.append(painpoint_row(
            c.stage, int(c.topic_id), info, volume=int(c.volume), total=int(c.total),
            n_documents=int(c.n_documents), negative_count=int(c.negative_count),
            mean_sentiment=float(c.mean_sentiment), severity=float(c.severity),
            effort=float(c.effort), escalation=float(c.escalation), churn=float(c.churn),
            peak_end=peak_end, weight=stage_weight(c.stage, stage_weights),
            examples=[str(x) for x in (c.examples if c.examples is not None else [])]))
    return sort_painpoints(rows)


def customer_rows(utterances: Sequence[Path]) -> str:
    return (f"(SELECT record_id, channel, stage, topic_id, sentiment_label, sentiment_score "
            f"FROM {parquet(utterances)} WHERE role = 'customer')")


def mention_rows(mentions: Sequence[Path]) -> str:
    return (f"(SELECT record_id, channel, stage, topic_id, sentiment_label, sentiment_score "
            f"FROM {parquet(mentions)})")


def build_painpoints_sql(con: duckdb.DuckDBPyConnection, rows: str | None,
                         documents: Sequence[Path], topics: Sequence[TopicInfo],
                         stage_weights: Mapping[str, float], n_examples: int,
                         by_channel: bool = False) -> pd.DataFrame:
    """build_painpoints over staged rows; with `by_channel`, one table per channel (in channel
    order, each sorted like build_painpoints) with a `channel` column."""
    if rows is None or not documents:
        columns = [*PAINPOINT_COLUMNS, "channel"] if by_channel else PAINPOINT_COLUMNS
        return pd.DataFrame(columns=columns)
    cells = cell_statistics(con, rows, parquet(documents), n_examples, by_channel)
    if not by_channel:
        return painpoints_from_cells(cells, topics, stage_weights)
    parts = [painpoints_from_cells(group, topics, stage_weights).assign(channel=channel)
             for channel, group in cells.groupby("channel", sort=True)]
    return (pd.concat(parts, ignore_index=True) if parts
            else pd.DataFrame(columns=[*PAINPOINT_COLUMNS, "channel"]))


def topic_table_sql(con: duckdb.DuckDBPyConnection, utterances: Sequence[Path],
                    topics: Sequence[TopicInfo], texts: Sequence[str]) -> pd.DataFrame:
    """build_topic_table over the staged utterances."""
    counts = pd.DataFrame(columns=["topic_id", "stage", "n"])
    if utterances and topics:
        counts = con.execute(
            f"SELECT topic_id, stage, count(*) AS n FROM {parquet(utterances)} "
            "WHERE role = 'customer' GROUP BY ALL").df()
    return topic_table_from_counts(topics, counts, texts)


def rated_documents(con: duckdb.DuckDBPyConnection, documents: Sequence[Path],
                    channels: Sequence[str], with_meta: bool) -> pd.DataFrame:
    """The documents columns nlp.impact.record_ratings reads, for the rated channels only."""
    columns = "record_id, channel, rating" + (", meta" if with_meta else "")
    if not documents or not channels:
        return pd.DataFrame(columns=columns.split(", "))
    marks = ", ".join("?" for _ in channels)
    return con.execute(f"SELECT {columns} FROM {parquet(documents)} WHERE channel IN ({marks})",
                       list(channels)).df()


def rated_pairs(con: duckdb.DuckDBPyConnection, rows: str, ratings: pd.DataFrame,
                key: str) -> pd.DataFrame:
    """Distinct (record_id, key) of `rows` for rated records: all rating_impact needs."""
    if ratings.empty:
        return pd.DataFrame(columns=["record_id", key])
    con.register("rated_ids", ratings[["record_id"]])
    try:
        return con.execute(
            f"SELECT DISTINCT r.record_id, r.{key} FROM {rows} r "
            f"JOIN rated_ids USING (record_id) WHERE r.{key} IS NOT NULL "
            f"ORDER BY r.record_id, r.{key}").df()
    finally:
        con.unregister("rated_ids")
