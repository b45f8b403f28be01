"""DuckDB, the embedded default sink: one file, each run_date's rows replaced in one transaction."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from flows.sinks.base import APPEND_ONLY, check_table, check_tables
from flows.sinks.schema import SCHEMAS, to_frame
from flows.staging import Staged


def read_parquet(paths) -> str:
    files = ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)
    return f"read_parquet([{files}])"

log = logging.getLogger(__name__)


class DuckDBSink:
    """Tables in one DuckDB file. Only one process may write the file at a time (DuckDB's lock)."""

    name = "duckdb"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def write(self, run_date: date, tables: Mapping[str, pa.Table | Staged]) -> None:
        """Replace `run_date`'s rows of every table atomically: readers see the old state or the
        new one, never a mix, and a crash mid-way leaves the old state. A `Staged` table is
        inserted from its Parquet files by DuckDB itself (never materialised in Python)."""
        check_tables(tables)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(self.path))
        try:
            con.execute("BEGIN TRANSACTION")
            for name, table in tables.items():
                self._ensure_table(con, name)
                if name not in APPEND_ONLY:
                    con.execute(f'DELETE FROM "{name}" WHERE run_date = ?', [run_date])
                if isinstance(table, Staged):  # the night's big tables: straight from Parquet
                    if table.paths:
                        con.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM '
                                    f'{read_parquet(table.paths)}')
                    continue
                con.register("incoming", table)
                con.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM incoming')
                con.unregister("incoming")
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        finally:
            con.close()
        log.info("wrote %s to %s", ", ".join(f"{k}={v.num_rows}" for k, v in tables.items()),
                 self.path)

    def read_table(self, table: str, run_date: date | None = None) -> pd.DataFrame:
        if run_date is None:
            return self._select(table, "", [])
        return self._select(table, "WHERE run_date = ?", [run_date])

    def read_history(self, table: str, before: date, days: int) -> pd.DataFrame:
        return self._select(table, "WHERE run_date >= ? AND run_date < ?",
                            [before - timedelta(days=days), before])

    def iter_batches(self, table: str, run_date: date, columns: list[str],
                     rows: int = 100_000) -> Iterator[pa.Table]:
        """`run_date`'s rows of `columns`, streamed in Arrow batches of at most `rows`
        (columns the stored table lacks come back NULL)."""
        check_table(table)
        if not self.path.is_file():
            return
        con = duckdb.connect(str(self.path), read_only=True)
        try:
            stored = {r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
                [table]).fetchall()}
            if not stored:
                return
            schema = SCHEMAS[table]
            select = ", ".join(f'"{c}"' if c in stored else
                               f'NULL::{duck_type(schema.field(c).type)} AS "{c}"'
                               for c in columns)
            # A relation, not con.execute(): Arrow output of a DB-API result first copies
            # every row (the whole night's table in memory); a relation's reader streams.
            result = con.sql(f'SELECT {select} FROM "{table}" WHERE run_date = ?',
                             params=[run_date])
            # duckdb >= 1.4 names it to_arrow_reader; older releases fetch_record_batch
            fetch = getattr(result, "to_arrow_reader", None) or result.fetch_record_batch
            reader = fetch(rows)
            for batch in reader:
                yield pa.Table.from_batches([batch])
        finally:
            con.close()

    def _select(self, table: str, where: str, params: list) -> pd.DataFrame:
        check_table(table)
        if not self.path.is_file():
            return to_frame(table, SCHEMAS[table].empty_table())
        con = duckdb.connect(str(self.path), read_only=True)
        try:
            exists = con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]
            ).fetchall()[0][0]
            if not exists:
                return to_frame(table, SCHEMAS[table].empty_table())
            relation = con.sql(f'SELECT * FROM "{table}" {where}', params=params)
            # duckdb >= 1.4 names it to_arrow_table; older releases arrow()
            fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
            result = fetch()
        finally:
            con.close()
        return to_frame(table, result)

    @staticmethod
    def _ensure_table(con: duckdb.DuckDBPyConnection, name: str) -> None:
        con.register("schema_template", SCHEMAS[name].empty_table())
        con.execute(f'CREATE TABLE IF NOT EXISTS "{name}" AS SELECT * FROM schema_template')
        wanted = {r[0]: r[1] for r in con.execute("DESCRIBE schema_template").fetchall()}
        existing = {r[0] for r in con.execute(f'DESCRIBE "{name}"').fetchall()}
        for column, duck_type in wanted.items():
            if column not in existing:  # additive schema change: older rows get NULL
                con.execute(f'ALTER TABLE "{name}" ADD COLUMN "{column}" {duck_type}')
        con.unregister("schema_template")


def duck_type(arrow_type: pa.DataType) -> str:
    """A DuckDB type name for a NULL placeholder column."""
    con = duckdb.connect()
    try:
        con.register("t", pa.table({"x": pa.nulls(0, arrow_type)}))
        return con.execute("DESCRIBE t").fetchall()[0][1]
    finally:
        con.close()
