"""Every sink behind the one Sink interface: same writes, same reads, same replace semantics."""

from __future__ import annotations

import uuid
from datetime import date

import pandas as pd
import pyarrow as pa
import pytest

from flows.sinks import DuckDBSink, ParquetSink, Sink, make_sink, to_arrow
from flows.sinks.schema import SCHEMAS, TABLES
from nlp.config import SinkSettings
from nlp.errors import ConfigError
from tests.report_sample import sample_frames

LAST = date(2026, 11, 25)
D1, D2, D3 = date(2026, 11, 23), date(2026, 11, 24), LAST


@pytest.fixture(scope="module")
def frames():
    return sample_frames(LAST, days=3)


def arrow_tables(day_frames: dict[str, pd.DataFrame]) -> dict[str, pa.Table]:
    return {name: to_arrow(name, frame) for name, frame in day_frames.items()}


@pytest.fixture(params=["duckdb", "parquet", "postgres"])
def sink(request, tmp_path):
    if request.param == "duckdb":
        yield DuckDBSink(tmp_path / "voc.duckdb")
        return
    if request.param == "parquet":
        yield ParquetSink(tmp_path / "parquet")
        return
    from flows.sinks.postgres_sink import PostgresSink

    url = request.getfixturevalue("postgres_url")
    pg = PostgresSink(url, schema=f"t_{uuid.uuid4().hex[:10]}")  # a fresh schema per test
    yield pg
    pg.dispose()


def write_all(sink: Sink, frames) -> None:
    for day, day_frames in sorted(frames.items()):
        sink.write(day, arrow_tables(day_frames))


def canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in a fixed order with list columns as tuples, for comparing sinks."""
    out = frame.copy()
    for column in out.columns:
        out[column] = [tuple(v) if isinstance(v, list) else v for v in out[column]]
    keys = [c for c in ("run_date", "record_id", "sentence_index", "stage", "topic_id",
                        "source_file", "location", "run_id") if c in out.columns]
    return out.sort_values(keys, kind="stable").reset_index(drop=True)


def test_every_sink_implements_the_interface(sink):
    assert isinstance(sink, Sink)


def test_a_table_never_written_reads_empty_with_the_contract_columns(sink):
    frame = sink.read_table("painpoints")
    assert frame.empty and "trend_7d" in frame.columns and "spike" in frame.columns


def test_reads_return_what_was_written(sink, frames):
    write_all(sink, frames)
    for name in frames[D2]:
        got = sink.read_table(name, D2)
        assert len(got) == len(frames[D2][name]), name
        assert list(got.columns) == SCHEMAS[name].names  # the contract's columns, in order
    pp = canonical(sink.read_table("painpoints", D3))
    assert pp["spike"].dtype == bool and pp["history_days"].max() == 2


def test_history_is_the_earlier_dates_only(sink, frames):
    write_all(sink, frames)
    history = sink.read_history("painpoints", D3, 28)
    assert sorted(set(history["run_date"])) == [D1, D2]
    assert sorted(set(sink.read_history("painpoints", D3, 1)["run_date"])) == [D2]


def test_rerun_replaces_only_that_date_and_runs_keep_every_attempt(sink, frames):
    write_all(sink, frames)
    before_d3 = canonical(sink.read_table("painpoints", D3))
    rerun = {name: frame.head(2) if name == "painpoints" else frame
             for name, frame in frames[D2].items()}
    sink.write(D2, arrow_tables(rerun))
    assert len(sink.read_table("painpoints", D2)) == 2
    pd.testing.assert_frame_equal(canonical(sink.read_table("painpoints", D3)), before_d3)
    assert len(sink.read_table("runs", D2)) == 2 and len(sink.read_table("runs", D1)) == 1


def test_all_sinks_read_back_identical_rows(tmp_path, frames, request):
    reference = DuckDBSink(tmp_path / "ref.duckdb")
    write_all(reference, frames)
    others = [ParquetSink(tmp_path / "pq")]
    try:
        from flows.sinks.postgres_sink import PostgresSink

        others.append(PostgresSink(request.getfixturevalue("postgres_url"),
                                   schema=f"t_{uuid.uuid4().hex[:10]}"))
    except pytest.skip.Exception:
        pass
    for other in others:
        write_all(other, frames)
        for name in TABLES:
            pd.testing.assert_frame_equal(canonical(other.read_table(name)),
                                          canonical(reference.read_table(name)),
                                          obj=f"{other.name}.{name}")


@pytest.mark.parametrize("kind", ["duckdb", "postgres"])
def test_a_failed_write_leaves_the_previous_state(kind, tmp_path, frames, request):
    if kind == "duckdb":
        target = DuckDBSink(tmp_path / "voc.duckdb")
    else:
        from flows.sinks.postgres_sink import PostgresSink

        target = PostgresSink(request.getfixturevalue("postgres_url"),
                              schema=f"t_{uuid.uuid4().hex[:10]}")
    target.write(D1, arrow_tables(frames[D1]))
    bad = arrow_tables(frames[D1])
    volume = bad["painpoints"].schema.get_field_index("volume")
    bad["painpoints"] = bad["painpoints"].set_column(  # text where the contract has an integer
        volume, "volume", pa.array(["many"] * bad["painpoints"].num_rows))
    import duckdb
    import psycopg
    from sqlalchemy.exc import DBAPIError

    with pytest.raises((duckdb.Error, psycopg.Error, DBAPIError)):
        target.write(D1, {"documents": bad["documents"].slice(0, 1),
                          "painpoints": bad["painpoints"]})
    assert len(target.read_table("documents", D1)) == len(frames[D1]["documents"])
    assert len(target.read_table("painpoints", D1)) == len(frames[D1]["painpoints"])


def test_postgres_url_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("VOC_TEST_PG_URL", raising=False)
    with pytest.raises(ConfigError, match="VOC_TEST_PG_URL"):
        make_sink(SinkSettings(kind="postgres", url_env="VOC_TEST_PG_URL"))


def test_make_sink_fans_out_to_extra_sinks(tmp_path, frames):
    sink = make_sink(SinkSettings(path=tmp_path / "voc.duckdb", parquet_dir=tmp_path / "pq",
                                  also=["parquet"]))
    assert sink.name == "duckdb+parquet"
    sink.write(D1, arrow_tables(frames[D1]))
    assert len(ParquetSink(tmp_path / "pq").read_table("documents", D1)) == len(
        frames[D1]["documents"])


def test_mentions_round_trip_with_their_list_column(sink, frames):
    write_all(sink, frames)
    stored = sink.read_table("mentions", D3)
    written = frames[D3]["mentions"]
    assert len(stored) == len(written) > 0
    assert set(stored.columns) == {f.name for f in SCHEMAS["mentions"]}
    negative = stored[stored["sentiment_label"] == "negative"]
    assert all(list(e) == ["disappointment"] for e in negative["emotions"])
    assert sorted(tuple(e) for e in stored["emotions"]) == sorted(
        tuple(e) for e in written["emotions"])
