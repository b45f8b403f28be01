"""The one interface every sink implements: write a run date's tables, read them back.

Semantics shared by all sinks (tests/flows/test_sinks.py checks them on each):
- `write(run_date, tables)` replaces `run_date`'s rows of every given table (delete + insert);
  `runs` is append-only (every attempt is kept). DuckDB and Postgres do it in one transaction.
  A table is an Arrow table, or a `flows.staging.Staged` one (Parquet files in the contract's
  schema, run keys included) that the sink streams in without materialising it.
- `read_table(table, run_date=None)` returns every row, or one date's rows.
- `read_history(table, before, days)` returns the rows with `before - days <= run_date < before`
  (calendar days; the run dates present in that window, none for a date without a run).
- `iter_batches(table, run_date, columns, rows)` (optional; `iter_table` falls back to
  `read_table`) streams one date's rows in Arrow batches, for the report's passes over the
  night's big tables.
- Reads return `flows.sinks.schema.to_frame` frames: the contract's columns in order, whatever
  the stored table holds; a table never written reads as an empty frame.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from typing import Protocol, runtime_checkable

import pandas as pd
import pyarrow as pa

from flows.sinks.schema import SCHEMAS, conform

APPEND_ONLY = frozenset({"runs"})  # every attempt is kept as history


@runtime_checkable
class Sink(Protocol):
    """Where the output tables go and where the report and dashboards read them from."""

    name: str

    def write(self, run_date: date, tables: Mapping[str, pa.Table]) -> None:
        """Replace `run_date`'s rows of each table (append to `runs`)."""
        ...

    def read_table(self, table: str, run_date: date | None = None) -> pd.DataFrame:
        """All rows of `table`, or only `run_date`'s."""
        ...

    def read_history(self, table: str, before: date, days: int) -> pd.DataFrame:
        """Rows with `before - days <= run_date < before`."""
        ...


def check_table(name: str) -> None:
    """Table names come from the contract only; anything else is a programming error."""
    if name not in SCHEMAS:
        raise KeyError(f"unknown table '{name}'; the contract has {sorted(SCHEMAS)}")


def check_tables(tables: Mapping[str, pa.Table]) -> None:
    for name in tables:
        check_table(name)


class FanOutSink:
    """Writes to a primary sink and then to extra ones (e.g. DuckDB + a Parquet export); reads
    from the primary only. The extras are written after the primary committed, so a failing
    extra leaves the primary's new state and raises."""

    def __init__(self, primary: Sink, extras: Sequence[Sink]) -> None:
        self.primary = primary
        self.extras = list(extras)
        self.name = "+".join([primary.name, *(s.name for s in self.extras)])

    def write(self, run_date: date, tables: Mapping[str, pa.Table]) -> None:
        self.primary.write(run_date, tables)
        for sink in self.extras:
            sink.write(run_date, tables)

    def read_table(self, table: str, run_date: date | None = None) -> pd.DataFrame:
        return self.primary.read_table(table, run_date)

    def read_history(self, table: str, before: date, days: int) -> pd.DataFrame:
        return self.primary.read_history(table, before, days)

    def iter_batches(self, table: str, run_date: date, columns: list[str],
                     rows: int = 100_000) -> Iterator[pa.Table]:
        return iter_table(self.primary, table, run_date, columns, rows)


def iter_table(sink: Sink, table: str, run_date: date, columns: list[str],
               rows: int = 100_000) -> Iterator[pa.Table]:
    """`run_date`'s rows of `columns` in Arrow batches: streamed when the sink can
    (`iter_batches`: the big tables of a night never sit in memory whole), else read whole."""
    stream = getattr(sink, "iter_batches", None)
    if stream is not None:
        schema = SCHEMAS[table]
        for batch in stream(table, run_date, columns, rows):  # contract types, e.g. the tz
            yield pa.Table.from_arrays([batch.column(c).cast(schema.field(c).type)
                                        for c in columns], names=columns)
        return
    frame = sink.read_table(table, run_date)
    if len(frame):
        yield conform(table, pa.Table.from_pandas(frame, preserve_index=False)).select(columns)
