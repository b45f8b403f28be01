"""Where the output tables go: DuckDB by default."""

from flows.sinks.duckdb_sink import DuckDBSink
from flows.sinks.schema import SCHEMA_VERSION, SCHEMAS, TABLES, to_arrow

__all__ = ["DuckDBSink", "SCHEMA_VERSION", "SCHEMAS", "TABLES", "to_arrow"]
