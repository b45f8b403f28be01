"""make_sink: the configured sink (sink.kind) plus any `sink.also` extras behind one Sink."""

from __future__ import annotations

from typing import Any

from flows.sinks.base import FanOutSink, Sink
from flows.sinks.duckdb_sink import DuckDBSink
from flows.sinks.parquet_sink import ParquetSink
from nlp.config import SinkSettings


def make_one(kind: str, settings: SinkSettings) -> Sink:
    """One sink of `kind` configured from `settings`."""
    if kind == "duckdb":
        return DuckDBSink(settings.path)
    if kind == "parquet":
        return ParquetSink(settings.parquet_dir)
    if kind == "postgres":
        from flows.sinks.postgres_sink import PostgresSink  # needs psycopg, only when configured

        return PostgresSink.from_env(settings.url_env, settings.pg_schema)
    raise ValueError(f"unknown sink kind '{kind}'")


def make_sink(settings: Any) -> Sink:
    """The sink for `settings.sink` (pass the whole Settings or its SinkSettings)."""
    sink_settings: SinkSettings = getattr(settings, "sink", settings)
    primary = make_one(sink_settings.kind, sink_settings)
    extras = [make_one(kind, sink_settings) for kind in dict.fromkeys(sink_settings.also)
              if kind != sink_settings.kind]
    return FanOutSink(primary, extras) if extras else primary
