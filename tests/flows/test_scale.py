"""Scale features: incremental reads (watermark), shards on a Dask cluster, the bench generator."""

import os
import shutil
from datetime import date

import duckdb
import pytest

from tests.conftest import ROOT, write_config
from tests.flows.test_nightly import make_inputs

COMPARED = {
    "utterances": ["record_id", "turn_index", "sentence_index", "role", "text", "tokens",
                   "sentiment_label", "sentiment_score", "stage", "touchpoint", "topic_id",
                   "signals"],
    "documents": ["record_id", "sentiment_label", "sentiment_score", "main_stage", "main_topic",
                  "effort_score", "escalation", "churn"],
    "painpoints": ["stage", "topic_id", "volume", "negative_count", "priority"],
    "quarantine": ["channel", "source_file", "location", "reason_code"],
    "mentions": ["record_id", "turn_index", "sentence_index", "mention_index", "text", "stage",
                 "topic_id", "sentiment_label", "sentiment_score"],
    "topics": ["topic_id", "label", "size", "representative", "stage_mix"],
}


def test_watermark_selects_new_files_and_the_dates_own(tmp_path):
    from flows.watermark import Watermarks

    root = tmp_path / "in"
    root.mkdir()
    a, b = root / "a.json", root / "b.json"
    a.write_text("[]")
    marks = Watermarks.load(tmp_path)
    d1, d2 = date(2026, 11, 1), date(2026, 11, 2)
    assert marks.select("chat", root, [a], d1) == [a]
    marks.consume("chat", root, [a], d1)
    marks.save()
    b.write_text("[]")
    marks = Watermarks.load(tmp_path)
    assert marks.select("chat", root, [a, b], d2) == [b]  # a belongs to d1
    assert marks.select("chat", root, [a, b], d1) == [a, b]  # rerun of d1: its file + new
    marks.consume("chat", root, [b], d2)
    assert marks.select("chat", root, [a, b], d1) == [a]  # b now belongs to the later d2
    a.write_text("[ ]")  # changed after d1 consumed it: read again by a later date
    os.utime(a, ns=(1, 1))
    assert marks.select("chat", root, [a, b], d2) == [a, b]


@pytest.fixture(scope="module")
def incremental_runs(tmp_path_factory, prefect_harness):
    from flows.nightly import nightly

    tmp = tmp_path_factory.mktemp("incremental")
    make_inputs(tmp / "in")
    config = write_config(tmp, run={"input_dir": str(tmp / "in"), "incremental": True},
                          sink={"path": str(tmp / "voc.duckdb")})
    first = nightly(run_date=date(2026, 11, 23), config_path=config)
    shutil.copy(tmp / "in/forum/p.jsonl", tmp / "in/forum/p2.jsonl")  # a new file, same ids
    (tmp / "in/forum/p3.jsonl").write_text(
        '{"post_id": "P9", "created_at": "2026-11-24T09:00:00+08:00", "text": "退款到现在还没到账"}\n',
        encoding="utf-8")
    second = nightly(run_date=date(2026, 11, 24), config_path=config)
    rerun = nightly(run_date=date(2026, 11, 23), config_path=config)
    quiet = nightly(run_date=date(2026, 11, 25), config_path=config)  # nothing new tonight
    assert quiet == {"read": 0, "processed": 0, "quarantined": 0, "duplicates": 0}
    return first, second, rerun, tmp / "voc.duckdb"


def test_second_night_reads_only_new_files(incremental_runs):
    first, second, _, _ = incremental_runs
    assert first["read"] == 6
    assert second == {"read": 3, "processed": 2, "quarantined": 0, "duplicates": 1}
    for counts in incremental_runs[:3]:
        assert counts["read"] == counts["processed"] + counts["quarantined"] + counts["duplicates"]


def test_rerun_of_a_date_rereads_its_files(incremental_runs):
    first, _, rerun, db = incremental_runs
    assert rerun == first
    con = duckdb.connect(str(db), read_only=True)
    docs = dict(con.execute("SELECT run_date::VARCHAR, count(*) FROM documents GROUP BY 1").fetchall())
    assert docs == {"2026-11-23": first["processed"], "2026-11-24": 2}


def test_runner_settings_are_validated(tmp_path):
    from flows.runner import make_task_runner
    from nlp.config import RunnerSettings, load_settings
    from nlp.errors import ConfigError

    with pytest.raises(ConfigError, match="runner.kind"):
        load_settings(write_config(tmp_path, runner={"kind": "spark"}))
    with pytest.raises(ConfigError, match="runner.address"):
        make_task_runner(RunnerSettings(kind="dask", address="localhost"))
    assert make_task_runner(RunnerSettings()) is None


def _tables(path):
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        for table, columns in COMPARED.items():
            cols = ", ".join(f'"{c}"' for c in columns)
            out[table] = con.execute(f"SELECT {cols} FROM {table} ORDER BY {cols}").fetchall()
        return out
    finally:
        con.close()


@pytest.mark.slow
def test_pool_and_dask_runners_give_the_same_tables(tmp_path, prefect_harness):
    pytest.importorskip("prefect_dask")
    from flows.nightly import nightly

    results = {}
    for kind in ("local", "processes", "dask"):
        out = tmp_path / kind
        out.mkdir()
        config = write_config(out, run={"input_dir": str(ROOT / "data/sample"), "batch_size": 200},
                              runner={"kind": kind, "n_workers": 2, "threads_per_worker": 1},
                              sink={"path": str(out / "voc.duckdb")})
        results[kind] = nightly(run_date=date(2026, 11, 24), config_path=config)
    assert results["dask"] == results["processes"] == results["local"]
    local = _tables(tmp_path / "local/voc.duckdb")
    assert _tables(tmp_path / "processes/voc.duckdb") == local
    assert _tables(tmp_path / "dask/voc.duckdb") == local


def test_generator_writes_readable_inputs(tmp_path):
    from benchmarks.generate import write_night
    from flows.sources import SourceContext, list_files, read_channel

    counts = write_night(tmp_path, 400, date(2026, 11, 20), seed=3, tag="t", per_file=150)
    assert sum(counts.values()) == 400
    ctx = SourceContext("Asia/Shanghai", "salt", now=__import__("datetime").datetime(
        2026, 11, 27, tzinfo=__import__("zoneinfo").ZoneInfo("Asia/Shanghai")))
    folders = {"complaint": "complaints", "forum": "forum", "chat": "chat", "call": "call"}
    for channel, n in counts.items():
        batch = read_channel(channel, list_files(tmp_path / folders[channel], ["*.*"]), ctx)
        assert batch.read == n
        assert len(batch.records) >= 0.95 * n  # a few broken inputs on purpose


def test_a_night_without_shards_assigns_no_topics():
    """A quiet incremental night has no shard jobs; with a persisted topic model the transform
    must return nothing, not index the first job."""
    from flows.nightly import StagedDocs

    assert StagedDocs([], [], runner=None).transform(model=object()) == []
