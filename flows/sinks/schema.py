"""The output tables' schemas: a documented, versioned contract that dashboards rely on.

Bump SCHEMA_VERSION when a column is renamed, removed or changes type; adding a column is
backwards compatible and only needs docs/schema.md updated.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

SCHEMA_VERSION = 1
TS = pa.timestamp("us", tz="Asia/Shanghai")
STR_LIST = pa.list_(pa.string())

KEY = [("run_date", pa.date32()), ("run_id", pa.string())]

SCHEMAS: dict[str, pa.Schema] = {
    "utterances": pa.schema(KEY + [
        ("record_id", pa.string()), ("channel", pa.string()), ("created_at", TS),
        ("turn_index", pa.int32()), ("sentence_index", pa.int32()), ("role", pa.string()),
        ("text", pa.string()), ("tokens", STR_LIST), ("language", pa.string()),
        ("sentiment_label", pa.string()), ("sentiment_score", pa.float64()),
        ("sentiment_confidence", pa.float64()), ("stage", pa.string()),
        ("stage_confidence", pa.float64()), ("stage_method", pa.string()),
        ("stage_evidence", pa.string()), ("touchpoint", pa.string()), ("topic_id", pa.int32()),
        ("signals", STR_LIST),
    ]),
    "documents": pa.schema(KEY + [
        ("record_id", pa.string()), ("channel", pa.string()), ("source_id", pa.string()),
        ("created_at", TS), ("customer_key", pa.string()), ("industry", pa.string()),
        ("product", pa.string()), ("region", pa.string()), ("rating", pa.float64()),
        ("n_turns", pa.int32()), ("n_customer_sentences", pa.int32()), ("language", pa.string()),
        ("truncated", pa.bool_()), ("sentiment_label", pa.string()),
        ("sentiment_score", pa.float64()), ("mean_sentiment", pa.float64()),
        ("peak_end_score", pa.float64()), ("main_stage", pa.string()), ("stages", STR_LIST),
        ("main_topic", pa.int32()), ("touchpoints", STR_LIST), ("effort_score", pa.float64()),
        ("effort_transfer", pa.bool_()), ("effort_repeat", pa.bool_()),
        ("effort_wait", pa.bool_()), ("effort_contacts", pa.bool_()),
        ("escalation", pa.bool_()), ("churn", pa.bool_()), ("resolution", pa.string()),
        ("signal_evidence", pa.string()), ("meta", pa.string()),
    ]),
    "topics": pa.schema(KEY + [
        ("topic_id", pa.int32()), ("label", pa.string()), ("keywords", STR_LIST),
        ("size", pa.int32()), ("representative", STR_LIST), ("stage_mix", pa.string()),
    ]),
    "painpoints": pa.schema(KEY + [
        ("stage", pa.string()), ("topic_id", pa.int32()), ("topic_label", pa.string()),
        ("volume", pa.int32()), ("share", pa.float64()), ("n_documents", pa.int32()),
        ("negative_count", pa.int32()), ("negative_share", pa.float64()),
        ("mean_sentiment", pa.float64()), ("severity", pa.float64()), ("effort", pa.float64()),
        ("escalation_rate", pa.float64()), ("churn_rate", pa.float64()),
        ("peak_end", pa.float64()), ("priority", pa.float64()), ("keywords", STR_LIST),
        ("example_record_ids", STR_LIST),
        # nlp/trends.py: NULL when there is no earlier run date to compare with
        ("trend_7d", pa.float64()), ("trend_28d", pa.float64()), ("spike", pa.bool_()),
        ("spike_z", pa.float64()), ("spike_p", pa.float64()), ("history_days", pa.int32()),
        # "all", or one channel when painpoints.by_channel adds per-channel rows
        ("channel", pa.string()),
    ]),
    # Topic owner (flows/topic_store.py): how a refit's topics relate to the previous version's.
    "topic_lineage": pa.schema(KEY + [
        ("old_topic_id", pa.int32()), ("new_topic_id", pa.int32()), ("relation", pa.string()),
        ("similarity", pa.float64()), ("shared_docs", pa.int32()), ("from_version", pa.string()),
        ("to_version", pa.string()),
    ]),
    # Aspect mentions (nlp/mentions.py): clauses of customer sentences, one aspect each.
    "mentions": pa.schema(KEY + [
        ("record_id", pa.string()), ("channel", pa.string()), ("turn_index", pa.int32()),
        ("sentence_index", pa.int32()), ("mention_index", pa.int32()),
        ("start_char", pa.int32()), ("end_char", pa.int32()), ("text", pa.string()),
        ("aspect", pa.string()), ("stage", pa.string()), ("stage_method", pa.string()),
        ("touchpoint", pa.string()), ("topic_id", pa.int32()), ("sentiment_label", pa.string()),
        ("sentiment_score", pa.float64()), ("sentiment_confidence", pa.float64()),
        ("emotions", STR_LIST), ("emotion_scores", pa.string()),
    ]),
    # Rating impact of stages and topics (nlp/impact.py).
    "rating_impact": pa.schema(KEY + [
        ("dimension", pa.string()), ("item", pa.string()), ("n_records", pa.int32()),
        ("n_rated", pa.int32()), ("mean_rating", pa.float64()), ("mean_with", pa.float64()),
        ("mean_without", pa.float64()), ("impact", pa.float64()), ("ci_low", pa.float64()),
        ("ci_high", pa.float64()),
    ]),
    "quarantine": pa.schema(KEY + [
        ("channel", pa.string()), ("source_file", pa.string()), ("location", pa.string()),
        ("reason_code", pa.string()), ("reason", pa.string()), ("detail", pa.string()),
        ("excerpt", pa.string()),
    ]),
    "runs": pa.schema(KEY + [
        ("status", pa.string()), ("started_at", TS), ("finished_at", TS),
        ("read", pa.int64()), ("processed", pa.int64()), ("quarantined", pa.int64()),
        ("duplicates", pa.int64()), ("per_channel", pa.string()), ("sentiment_model", pa.string()),
        ("topic_model", pa.string()), ("config_hash", pa.string()), ("timings", pa.string()),
        ("schema_version", pa.int32()),
    ]),
}
TABLES = tuple(SCHEMAS)
# Columns computed from earlier runs (nlp/trends.py): a frame without them gets NULLs, which is also
# their value when there is no history. Every other missing column is an error.
DERIVED: dict[str, frozenset[str]] = {
    "painpoints": frozenset(
        {"trend_7d", "trend_28d", "spike", "spike_z", "spike_p", "history_days", "channel"}),
}


def to_arrow(name: str, frame: pd.DataFrame) -> pa.Table:
    """Select the contract's columns in order and cast them; a missing column is an error, except
    the table's DERIVED columns, which become NULL."""
    schema = SCHEMAS[name]
    if frame.empty:  # e.g. an incremental night with nothing new: no columns or guessed types
        return schema.empty_table()
    missing = [f.name for f in schema if f.name not in frame.columns]
    absent = [c for c in missing if c in DERIVED.get(name, ())]
    if len(absent) < len(missing):
        raise KeyError(f"table '{name}' lacks columns {sorted(set(missing) - set(absent))}")
    if absent:
        frame = frame.assign(**{c: None for c in absent})
    frame = frame[[f.name for f in schema]]
    return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)


def conform(name: str, table: pa.Table) -> pa.Table:
    """A table read back from any sink, in the contract's column order and types: columns the
    stored table lacks (written before they were added) become NULL, extra ones are dropped."""
    schema = SCHEMAS[name]
    columns = []
    for field in schema:
        if field.name in table.column_names:
            columns.append(table.column(field.name).cast(field.type))
        else:
            columns.append(pa.nulls(table.num_rows, field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def to_frame(name: str, table: pa.Table) -> pd.DataFrame:
    """The pandas frame every sink's reads return, so that sinks are interchangeable: dates as
    datetime.date, timestamps tz-aware, list columns as Python lists (None stays None)."""
    return arrow_to_frame(conform(name, table))


def arrow_to_frame(table: pa.Table) -> pd.DataFrame:
    """`table` as pandas the way the sinks' reads return it (dates as datetime.date, list
    columns as Python lists), for any subset of a table's columns."""
    frame = table.to_pandas(date_as_object=True)
    for field in table.schema:
        if pa.types.is_list(field.type):
            frame[field.name] = pd.Series(table.column(field.name).to_pylist(), dtype=object,
                                          index=frame.index)
    return frame
