"""DuckDB, the embedded default sink: one file, each run_date's rows replaced in one transaction."""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb
import pyarrow as pa

from flows.sinks.schema import SCHEMAS

log = logging.getLogger(__name__)
APPEND_ONLY = {"runs"}  # every attempt is kept as history


class DuckDBSink:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def write(self, run_date, tables: dict[str, pa.Table]) -> None:
        """Replace `run_date`'s rows of every table atomically: readers see the old state or the
        new one, never a mix, and a crash mid-way leaves the old state."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(self.path))
        try:
            con.execute("BEGIN TRANSACTION")
            for name, table in tables.items():
                self._ensure_table(con, name)
                if name not in APPEND_ONLY:
                    con.execute(f'DELETE FROM "{name}" WHERE run_date = ?', [run_date])
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
