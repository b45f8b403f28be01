"""Postgres, the shared sink for several machines: SQLAlchemy 2 + psycopg 3, one transaction per run.

- The connection string comes from an environment variable (`sink.url_env`, default VOC_PG_URL),
  never from a file in the repository. `postgresql://` URLs are used with the psycopg 3 driver.
- Tables are created from the Arrow contract (flows/sinks/schema.py): string -> text,
  int32 -> integer, int64 -> bigint, double -> double precision, bool -> boolean,
  date32 -> date, timestamp with tz -> timestamptz, list<string> -> text[]; plus an index on
  run_date. A column added to the contract is added to an existing table (older rows get NULL).
- write(): in ONE transaction, under a transaction-scoped advisory lock that serialises writers,
  each table's `run_date` rows are deleted and the new rows copied in (COPY ... FROM STDIN with
  typed rows, no SQL text built from data); `runs` only appends.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from typing import Any

import pandas as pd
import pyarrow as pa
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Double,
    Engine,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    create_engine,
    delete,
    inspect,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.schema import CreateSchema
from sqlalchemy.types import TypeEngine

from flows.sinks.base import APPEND_ONLY, check_table, check_tables
from flows.sinks.schema import SCHEMAS, to_frame
from flows.staging import Staged
from nlp.errors import ConfigError, MissingDependencyError

log = logging.getLogger(__name__)
WRITE_LOCK = 0x564F43  # pg_advisory_xact_lock key shared by every writer of these tables ("VOC")


def sql_type(arrow_type: pa.DataType) -> TypeEngine:
    """The Postgres column type for one Arrow type of the contract."""
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return Text()
    if pa.types.is_int32(arrow_type):
        return Integer()
    if pa.types.is_int64(arrow_type):
        return BigInteger()
    if pa.types.is_floating(arrow_type):
        return Double()
    if pa.types.is_boolean(arrow_type):
        return Boolean()
    if pa.types.is_date(arrow_type):
        return Date()
    if pa.types.is_timestamp(arrow_type):
        return DateTime(timezone=arrow_type.tz is not None)
    if pa.types.is_list(arrow_type) and pa.types.is_string(arrow_type.value_type):
        return ARRAY(Text())
    raise TypeError(f"no Postgres type for Arrow type {arrow_type}")


def build_metadata(schema: str | None) -> MetaData:
    """SQLAlchemy tables mirroring the Arrow contract, each with an index on run_date."""
    metadata = MetaData(schema=schema)
    for name, arrow_schema in SCHEMAS.items():
        table = Table(name, metadata,
                      *(Column(f.name, sql_type(f.type), nullable=True) for f in arrow_schema))
        Index(f"ix_{name}_run_date", table.c.run_date)
    return metadata


def database_url(url_env: str) -> str:
    """The SQLAlchemy URL from environment variable `url_env`, with the psycopg 3 driver."""
    raw = os.environ.get(url_env, "").strip()
    if not raw:
        raise ConfigError(
            f"sink.kind is postgres but environment variable '{url_env}' is not set; export "
            f"{url_env}=postgresql://USER:PASSWORD@HOST:5432/DB (or change sink.url_env)")
    url = make_url(raw)
    if url.drivername in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


class PostgresSink:
    """Tables in a Postgres schema; readers see a run date's old rows or its new ones."""

    name = "postgres"

    def __init__(self, url: str, schema: str = "public") -> None:
        try:
            import psycopg  # noqa: F401 - the driver the URL names
        except ImportError as exc:
            raise MissingDependencyError("psycopg[binary]", "the postgres sink") from exc
        self.url = url
        self.schema = schema
        self.metadata = build_metadata(None if schema == "public" else schema)
        self._engine: Engine | None = None

    @classmethod
    def from_env(cls, url_env: str = "VOC_PG_URL", schema: str = "public") -> PostgresSink:
        return cls(database_url(url_env), schema)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = create_engine(self.url, pool_pre_ping=True)
        return self._engine

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def write(self, run_date: date, tables: Mapping[str, pa.Table | Staged]) -> None:
        """Replace `run_date`'s rows of every table in one transaction (a `Staged` table is
        copied in batches from its Parquet files)."""
        check_tables(tables)
        with self.engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK})
            if self.metadata.schema:
                conn.execute(CreateSchema(self.metadata.schema, if_not_exists=True))
            for name, table in tables.items():
                target = self._ensure_table(conn, name)
                if name not in APPEND_ONLY:
                    conn.execute(delete(target).where(target.c.run_date == run_date))
                self._copy_rows(conn, target, table)
        log.info("wrote %s to postgres %s",
                 ", ".join(f"{k}={v.num_rows}" for k, v in tables.items()),
                 make_url(self.url).render_as_string(hide_password=True))

    def read_table(self, table: str, run_date: date | None = None) -> pd.DataFrame:
        check_table(table)
        with self.engine.connect() as conn:
            stored = self._stored_table(conn, table)
            if stored is None:
                return to_frame(table, SCHEMAS[table].empty_table())
            query = select(stored)
            if run_date is not None:
                query = query.where(stored.c.run_date == run_date)
            return self._fetch(conn, table, query)

    def read_history(self, table: str, before: date, days: int) -> pd.DataFrame:
        check_table(table)
        with self.engine.connect() as conn:
            stored = self._stored_table(conn, table)
            if stored is None:
                return to_frame(table, SCHEMAS[table].empty_table())
            query = select(stored).where(stored.c.run_date >= before - timedelta(days=days),
                                         stored.c.run_date < before)
            return self._fetch(conn, table, query)

    def iter_batches(self, table: str, run_date: date, columns: list[str],
                     rows: int = 100_000) -> Iterator[pa.Table]:
        """`run_date`'s rows of `columns`, streamed (server-side cursor) in Arrow batches."""
        check_table(table)
        schema = SCHEMAS[table]
        with self.engine.connect() as conn:
            stored = self._stored_table(conn, table)
            if stored is None:
                return
            present = [c for c in columns if c in stored.c]
            query = select(*(stored.c[c] for c in present)).where(stored.c.run_date == run_date)
            result = conn.execution_options(stream_results=True, yield_per=rows).execute(query)
            for part in result.partitions(rows):
                arrays = []
                for c in columns:
                    if c in present:
                        i = present.index(c)
                        arrays.append(pa.array([r[i] for r in part], type=schema.field(c).type))
                    else:
                        arrays.append(pa.nulls(len(part), schema.field(c).type))
                yield pa.Table.from_arrays(arrays, names=columns)

    def _ensure_table(self, conn: Connection, name: str) -> Table:
        target = self.metadata.tables[self._key(name)]
        target.create(conn, checkfirst=True)
        existing = {c["name"] for c in inspect(conn).get_columns(name, schema=self.metadata.schema)}
        preparer = conn.dialect.identifier_preparer
        for column in target.columns:
            if column.name not in existing:  # additive schema change: older rows get NULL
                conn.execute(text(
                    f"ALTER TABLE {preparer.format_table(target)} ADD COLUMN IF NOT EXISTS "
                    f"{preparer.quote(column.name)} {column.type.compile(conn.dialect)}"))
        return target

    def _stored_table(self, conn: Connection, name: str) -> Table | None:
        """The table as stored (only the columns it has), or None when it was never written."""
        inspector = inspect(conn)
        if not inspector.has_table(name, schema=self.metadata.schema):
            return None
        stored = {c["name"] for c in inspector.get_columns(name, schema=self.metadata.schema)}
        contract = self.metadata.tables[self._key(name)]
        return Table(name, MetaData(schema=self.metadata.schema),
                     *(Column(c.name, c.type) for c in contract.columns if c.name in stored))

    @staticmethod
    def _fetch(conn: Connection, name: str, query) -> pd.DataFrame:
        result = conn.execute(query)
        columns = list(result.keys())
        rows = result.fetchall()
        schema = SCHEMAS[name]
        arrays = [pa.array([row[i] for row in rows], type=schema.field(c).type)
                  for i, c in enumerate(columns)]
        return to_frame(name, pa.Table.from_arrays(arrays, names=columns))

    @staticmethod
    def _copy_rows(conn: Connection, target: Table, table: pa.Table | Staged) -> None:
        """COPY the rows in; a `Staged` table batch by batch from its Parquet files."""
        from psycopg import sql

        batches = table.batches() if isinstance(table, Staged) else [table]
        schema = SCHEMAS[table.name] if isinstance(table, Staged) else table.schema
        names = [c.name for c in target.columns if c.name in schema.names]
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(*([target.schema] if target.schema else []), target.name),
            sql.SQL(", ").join(sql.Identifier(n) for n in names))
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            with cursor.copy(statement) as copy:
                for batch in batches:
                    columns: list[list[Any]] = [batch.column(n).to_pylist() for n in names]
                    for row in zip(*columns, strict=True):
                        copy.write_row(row)
        finally:
            cursor.close()

    def _key(self, name: str) -> str:
        return f"{self.metadata.schema}.{name}" if self.metadata.schema else name
