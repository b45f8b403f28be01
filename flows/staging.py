"""The run-scoped scratch directory: each shard's rows as Parquet files between the flow's steps.

Layout: `<run.output_dir>/.staging/<run_id>/` with, per shard k (5 digits):
`records-k.pkl` (the shard's de-duplicated records, pickled, until the shard is processed),
`sentences-k.parquet` + `documents-k.parquet` + `docs-k.parquet` (the per-record stages' output,
the topic step's documents), `embeddings-k.npy` (topic embeddings), and the final contract
tables `utterances-k.parquet`, `documents-final-k.parquet`, `mentions-k.parquet` that the
aggregations query (DuckDB) and the sink ingests. Nothing here is a table anyone reads: the sink
is written from these files in one transaction, then the directory is removed. A crashed run
leaves its directory behind; the next run of any date removes the directories that no live
process on its host owns, and other hosts' directories once they are a day old (`sweep`).
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

log = logging.getLogger(__name__)
STAGING = ".staging"
OWNER = "OWNER"  # "<host> <pid>" of the run that owns a staging directory
OTHER_HOST_STALE_SECONDS = 24 * 3600  # another host's run is left alone for a day


@dataclass(frozen=True)
class Staged:
    """A contract table held as Parquet files (all with the contract's schema, run keys
    included): what the sinks ingest without materialising the table in memory."""

    name: str
    paths: tuple[Path, ...] = field(default_factory=tuple)

    @property
    def num_rows(self) -> int:
        return sum(pq.ParquetFile(p).metadata.num_rows for p in self.paths)

    def batches(self, rows: int = 50_000):
        """The rows as Arrow record batches, file by file."""
        for path in self.paths:
            yield from pq.ParquetFile(path).iter_batches(batch_size=rows)

    def read(self) -> pa.Table:
        """The whole table (small tables and tests only)."""
        from flows.sinks.schema import SCHEMAS

        if not self.paths:
            return SCHEMAS[self.name].empty_table()
        return pa.concat_tables(pq.read_table(p) for p in self.paths)


def run_dir(output_dir: Path, run_id: str) -> Path:
    return Path(output_dir) / STAGING / run_id


def claim(path: Path) -> None:
    """Create the run's directory and mark it with the host and pid that own it."""
    path.mkdir(parents=True, exist_ok=True)
    (path / OWNER).write_text(f"{socket.gethostname()} {os.getpid()}", encoding="utf-8")


def sweep(output_dir: Path, keep: str) -> None:
    """Remove leftover directories of crashed runs: not `keep`, not one a live process on this
    host owns, and another host's (output_dir may be shared storage) only once it is stale."""
    root = Path(output_dir) / STAGING
    if not root.is_dir():
        return
    host = socket.gethostname()
    for child in root.iterdir():
        if child.name == keep:
            continue
        try:
            owner_host, pid = (child / OWNER).read_text(encoding="utf-8").split()
        except (OSError, ValueError):  # no marker: a run that died while creating it
            owner_host, pid = host, "0"
        if owner_host == host:
            if int(pid) != os.getpid() and _alive(int(pid)):
                continue
        elif time.time() - child.stat().st_mtime < OTHER_HOST_STALE_SECONDS:
            continue
        shutil.rmtree(child, ignore_errors=True)
        log.info("removed the staging directory of an earlier run: %s", child)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def shard_path(root: Path, kind: str, number: int, suffix: str = "parquet") -> Path:
    return Path(root) / f"{kind}-{number:05d}.{suffix}"


def write_parquet(table: pa.Table, path: Path) -> Path:
    """Write via a temporary name and rename, so a file that exists is complete."""
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)
    return path


def existing(paths: Sequence[Path]) -> tuple[Path, ...]:
    return tuple(p for p in paths if Path(p).is_file())
