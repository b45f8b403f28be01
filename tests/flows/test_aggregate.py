"""The flow's DuckDB aggregations over staged Parquet equal the pandas ones in nlp/."""

from datetime import date

import pandas as pd
import pytest

from flows.aggregate import (
    build_painpoints_sql,
    connect,
    customer_rows,
    rated_pairs,
    topic_table_sql,
)
from flows.sinks.schema import to_arrow
from flows.staging import Staged, write_parquet
from nlp.painpoints import build_painpoints, build_topic_table
from nlp.topics import TopicInfo
from tests.report_sample import sample_frames

DAY = date(2026, 11, 24)


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("aggregate")
    frames = sample_frames(DAY, days=1)[DAY]
    utterances = frames["utterances"].assign(run_date=DAY, run_id="r")
    documents = frames["documents"].assign(run_date=DAY, run_id="r")
    half = len(utterances) // 2  # two shards, as the flow writes them
    paths = {"utterances": [], "documents": []}
    for name, frame in (("utterances", utterances), ("documents", documents)):
        cut = half if name == "utterances" else len(frame) // 2
        for k, part in enumerate((frame.iloc[:cut], frame.iloc[cut:])):
            path = tmp / f"{name}-{k}.parquet"
            write_parquet(to_arrow(name, part), path)
            paths[name].append(path)
    topics = [TopicInfo(int(t), f"topic {t}", [f"w{t}", "x"], 0, [0])
              for t in sorted(set(utterances["topic_id"]) - {-1})]
    texts = ["a verbatim"]
    read = {name: Staged(name, tuple(p)).read().to_pandas() for name, p in paths.items()}
    return tmp, paths, read, topics, texts


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    a = a.reset_index(drop=True)
    b = b.reset_index(drop=True)
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    for column in a.columns:
        left, right = a[column].tolist(), b[column].tolist()
        left = [list(v) if hasattr(v, "__len__") and not isinstance(v, str) else v for v in left]
        right = [list(v) if hasattr(v, "__len__") and not isinstance(v, str) else v
                 for v in right]
        assert [None if isinstance(v, float) and v != v else v for v in left] == \
            [None if isinstance(v, float) and v != v else v for v in right], column


def test_painpoints_sql_equals_pandas(staged):
    tmp, paths, read, topics, _ = staged
    weights = {"purchase": 1.0, "service": 1.5}
    expected = build_painpoints(read["utterances"], read["documents"], topics, weights, 3)
    con = connect(tmp)
    got = build_painpoints_sql(con, customer_rows(paths["utterances"]), paths["documents"],
                               topics, weights, 3)
    assert len(expected) > 5
    _same(got, expected)


def test_per_channel_painpoints_sql_equals_pandas(staged):
    tmp, paths, read, topics, _ = staged
    utterances, documents = read["utterances"], read["documents"]
    expected = pd.concat([build_painpoints(group, documents, topics, {}, 3).assign(channel=c)
                          for c, group in utterances.groupby("channel", sort=True)],
                         ignore_index=True)
    got = build_painpoints_sql(connect(tmp), customer_rows(paths["utterances"]),
                               paths["documents"], topics, {}, 3, by_channel=True)
    _same(got, expected)


def test_topic_table_and_rating_pairs(staged):
    tmp, paths, read, topics, texts = staged
    con = connect(tmp)
    expected = build_topic_table(topics, read["utterances"], texts)
    _same(topic_table_sql(con, paths["utterances"], topics, texts), expected)
    ratings = read["documents"][["record_id"]].head(7)
    pairs = rated_pairs(con, customer_rows(paths["utterances"]), ratings, "stage")
    customer = read["utterances"][read["utterances"]["role"] == "customer"]
    want = customer[customer["record_id"].isin(ratings["record_id"])][["record_id", "stage"]]
    assert sorted(map(tuple, pairs.to_numpy())) == sorted(set(map(tuple, want.dropna()
                                                                   .to_numpy())))


@pytest.mark.parametrize("kind", ["duckdb", "parquet"])
def test_sinks_ingest_staged_tables_and_replace_the_date(staged, tmp_path, kind):
    from flows.sinks import DuckDBSink, ParquetSink
    from flows.sinks.base import iter_table

    _, paths, read, _, _ = staged
    sink = DuckDBSink(tmp_path / "voc.duckdb") if kind == "duckdb" else ParquetSink(tmp_path)
    table = Staged("utterances", tuple(paths["utterances"]))
    for _ in range(2):  # a rerun replaces the date's rows
        sink.write(DAY, {"utterances": table})
        back = sink.read_table("utterances", DAY)
        assert len(back) == table.num_rows == len(read["utterances"])
    assert sorted(back["text"]) == sorted(read["utterances"]["text"])
    streamed = sum(b.num_rows for b in iter_table(sink, "utterances", DAY,
                                                  ["record_id", "created_at"], rows=7))
    assert streamed == len(back)


def test_sweep_removes_only_dead_runs_of_this_host_and_stale_runs_of_others(tmp_path):
    import os
    import socket

    from flows.staging import OTHER_HOST_STALE_SECONDS, OWNER, STAGING, sweep

    def run(name, host, pid, age=0.0):
        path = tmp_path / STAGING / name
        path.mkdir(parents=True)
        (path / OWNER).write_text(f"{host} {pid}", encoding="utf-8")
        old = path.stat().st_mtime - age
        os.utime(path, (old, old))
        return path

    here = socket.gethostname()
    dead = run("dead", here, 2**22 + 12345)  # above pid_max: never a live process
    live = run("live", here, os.getppid())
    mine = run("mine", here, os.getpid())
    other = run("other", "another-host", 1)
    stale = run("stale", "another-host", 1, age=OTHER_HOST_STALE_SECONDS + 60)
    sweep(tmp_path, keep="mine")
    assert (dead.exists(), live.exists(), mine.exists(), other.exists(), stale.exists()) == (
        False, True, True, True, False)
