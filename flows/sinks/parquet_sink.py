"""Parquet files, one directory per table partitioned by run date, for lakes and ad-hoc tools.

Layout: `<root>/<table>/run_date=YYYY-MM-DD/part-0.parquet` (Hive style, so DuckDB's
`read_parquet('<root>/painpoints/*/*.parquet', hive_partitioning = true)` or Spark read it; the
run_date column lives in the directory name, not in the file). `runs` is append-only: one
`part-<time ns>-<random>.parquet` file per attempt.

Replacing a date: every table's new file is first written as a hidden temporary file inside its
partition (readers skip names starting with '.'), then each is moved over `part-0.parquet` with
os.replace, which is atomic on one filesystem. A reader therefore sees a table's old partition or
its new one, never a half-written file. Across tables the switch is not one transaction: a crash
between two renames (after all files were written) can leave some tables new and some old; the
next write of that date repairs it.
"""

from __future__ import annotations

import logging
import os
import re
import time
import uuid
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from flows.sinks.base import APPEND_ONLY, check_table, check_tables
from flows.sinks.schema import SCHEMAS, conform, to_frame
from flows.staging import Staged

log = logging.getLogger(__name__)
PARTITION = re.compile(r"^run_date=(\d{4}-\d{2}-\d{2})$")
PART = "part-0.parquet"


class ParquetSink:
    """Tables as Hive-partitioned Parquet directories under `root`."""

    name = "parquet"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def write(self, run_date: date, tables: Mapping[str, pa.Table | Staged]) -> None:
        """Write every table's new file first, then switch them in with atomic renames. A
        `Staged` table is copied batch by batch from its Parquet files."""
        check_tables(tables)
        staged: list[tuple[Path, Path]] = []
        try:
            for name, table in tables.items():
                folder = self.partition(name, run_date)
                folder.mkdir(parents=True, exist_ok=True)
                tmp = folder / f".tmp-{uuid.uuid4().hex}.parquet"
                staged.append((tmp, folder / PART))  # cleaned up on failure from here on
                if isinstance(table, Staged):
                    write_staged(table, tmp)
                else:
                    data = table.drop_columns(["run_date"]) if "run_date" in table.column_names \
                        else table
                    pq.write_table(data, tmp)
                if name in APPEND_ONLY:
                    final = folder / f"part-{time.time_ns()}-{uuid.uuid4().hex[:8]}.parquet"
                    staged[-1] = (tmp, final)
        except Exception:
            for tmp, _ in staged:
                tmp.unlink(missing_ok=True)
            raise
        for tmp, final in staged:
            os.replace(tmp, final)
        log.info("wrote %s to %s", ", ".join(f"{k}={v.num_rows}" for k, v in tables.items()),
                 self.root)

    def partition(self, table: str, run_date: date) -> Path:
        return self.root / table / f"run_date={run_date.isoformat()}"

    def read_table(self, table: str, run_date: date | None = None) -> pd.DataFrame:
        return self._read(table, lambda d: run_date is None or d == run_date)

    def read_history(self, table: str, before: date, days: int) -> pd.DataFrame:
        start = before - timedelta(days=days)
        return self._read(table, lambda d: start <= d < before)

    def iter_batches(self, table: str, run_date: date, columns: list[str],
                     rows: int = 100_000) -> Iterator[pa.Table]:
        """`run_date`'s rows of `columns`, streamed in Arrow batches of at most `rows`."""
        check_table(table)
        schema = SCHEMAS[table]
        folder = self.partition(table, run_date)
        for file in sorted(folder.glob("*.parquet")) if folder.is_dir() else []:
            if file.name.startswith((".", "_")):
                continue
            parquet = pq.ParquetFile(file)
            present = [c for c in columns if c in parquet.schema_arrow.names]
            for batch in parquet.iter_batches(batch_size=rows, columns=present):
                data = pa.Table.from_batches([batch])
                arrays = [data.column(c).cast(schema.field(c).type) if c in present
                          else pa.array([run_date] * data.num_rows, pa.date32())
                          if c == "run_date" else pa.nulls(data.num_rows, schema.field(c).type)
                          for c in columns]
                yield pa.Table.from_arrays(arrays, names=columns)

    def _read(self, table: str, keep) -> pd.DataFrame:
        check_table(table)
        schema = SCHEMAS[table]
        parts = []
        folder = self.root / table
        for sub in sorted(folder.iterdir()) if folder.is_dir() else []:
            match = PARTITION.match(sub.name)
            if not match or not keep(date.fromisoformat(match.group(1))):
                continue
            run_date = date.fromisoformat(match.group(1))
            for file in sorted(sub.glob("*.parquet")):
                if file.name.startswith((".", "_")):
                    continue
                data = pq.read_table(file)
                data = data.append_column(
                    pa.field("run_date", pa.date32()),
                    pa.array([run_date] * data.num_rows, type=pa.date32()))
                parts.append(conform(table, data))
        return to_frame(table, pa.concat_tables(parts) if parts else schema.empty_table())


def write_staged(table: Staged, path: Path) -> None:
    """One Parquet file (without the run_date column, which is the partition) from a staged
    table's files, one record batch at a time."""
    schema = SCHEMAS[table.name]
    schema = schema.remove(schema.get_field_index("run_date"))
    with pq.ParquetWriter(path, schema) as writer:
        for batch in table.batches():
            writer.write_table(pa.Table.from_batches([batch]).drop_columns(["run_date"])
                               .cast(schema))
