"""Where the output tables go: DuckDB by default, Postgres or Parquet, all behind one Sink."""

from flows.sinks.base import APPEND_ONLY, FanOutSink, Sink
from flows.sinks.duckdb_sink import DuckDBSink
from flows.sinks.factory import make_sink
from flows.sinks.parquet_sink import ParquetSink
from flows.sinks.schema import SCHEMA_VERSION, SCHEMAS, TABLES, conform, to_arrow, to_frame

__all__ = ["APPEND_ONLY", "DuckDBSink", "FanOutSink", "ParquetSink", "SCHEMA_VERSION", "SCHEMAS",
           "Sink", "TABLES", "conform", "make_sink", "to_arrow", "to_frame"]
