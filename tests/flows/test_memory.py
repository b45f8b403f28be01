"""What keeps the flow's processes small: workers that do not re-run the `voc` script, BERTopic
without transformers, models loaded on first use (flows/runner.py, flows/topic_store.py,
flows/components.py)."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_script(path: Path, code: str) -> subprocess.CompletedProcess:
    path.write_text(textwrap.dedent(code), encoding="utf-8")
    return subprocess.run([sys.executable, str(path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, check=False)


def test_pool_workers_do_not_rerun_the_main_script(tmp_path):
    # the script stands for `voc`: a worker that re-ran it would import it as __mp_main__
    marker = tmp_path / "rerun"
    result = run_script(tmp_path / "main.py", f"""
        import os
        import pathlib
        if __name__ == "__mp_main__":
            pathlib.Path({str(marker)!r}).write_text("rerun")
        if __name__ == "__main__":
            from flows.runner import ShardRunner
            from nlp.config import RunnerSettings
            with ShardRunner(RunnerSettings(kind="processes", n_workers=2)) as runner:
                pids = runner.map(os.getpid, [(), (), ()])
            assert len(pids) == 3 and os.getpid() not in pids
            import __main__
            assert __main__.__spec__ is None  # restored
            print("ok")
        """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")
    assert not marker.exists()


def test_bertopic_is_loaded_on_first_use_without_transformers(tmp_path):
    result = run_script(tmp_path / "probe.py", """
        import sys
        import flows.shards
        import flows.topic_store
        assert "bertopic" not in sys.modules and "transformers" not in sys.modules
        flows.topic_store.load_bertopic()
        assert "bertopic" in sys.modules and "nlp.topics.model" in sys.modules
        assert "transformers" not in sys.modules
        import transformers  # hidden only while bertopic is imported
        print("ok")
        """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")


def test_components_load_each_model_on_first_use(settings):
    from flows.components import Components

    comp = Components(settings)
    assert not {"_text_tools", "sentiment", "tagger", "detector"} & set(vars(comp))
    assert comp.taxonomy.stages and "_text_tools" in vars(comp)
    assert "sentiment" not in vars(comp) and "tagger" not in vars(comp)
    assert comp.tagger is comp.tagger
    fresh = Components(settings).preload("sentiment", "detector")
    assert {"sentiment", "detector"} <= set(vars(fresh)) and "tagger" not in vars(fresh)


def test_transform_in_pieces_is_the_whole_transform(tmp_path, segmenter):
    import numpy as np

    from flows.topic_store import TopicStore, run_topics, transform_in_pieces
    from nlp.config import load_settings
    from tests.conftest import write_config
    from tests.unit.test_topics import corpus

    settings = load_settings(write_config(tmp_path, topics={
        "model_dir": str(tmp_path / "models"), "overrides": str(tmp_path / "topics.yaml"),
        "min_topic_size": 5, "embedding_dim": 16}))
    docs = corpus()
    run_topics(settings, docs, docs, date(2026, 11, 23), segmenter.stopwords)
    model = TopicStore(settings.topics.model_dir).latest(settings).model
    docs = docs + ["完全 无关 内容 天气", "天气 晴朗 散步"] * 5  # some outliers too
    whole = model.transform(docs)
    pieces = transform_in_pieces(model, docs, piece=7)
    assert pieces.topics == whole.topics
    assert pieces.raw_outlier_share == whole.raw_outlier_share
    assert np.array_equal(pieces.embeddings, whole.embeddings)


def test_a_retried_read_stages_each_record_once(tmp_path, settings):
    # records reach the shards while a channel is read; a failed attempt's shards are undone
    from flows.nightly import ChannelIntake, ShardWriter
    from nlp.records import Record, Utterance

    def record(i):
        return Record(record_id=f"r{i}", channel="forum", source_id=str(i),
                      created_at=datetime(2026, 11, 25, tzinfo=UTC),
                      turns=[Utterance(role="customer", text=f"第{i}条")])

    run = settings.model_copy(update={"run": settings.run.model_copy(update={"batch_size": 4})})
    shards = ShardWriter(run, tmp_path, date(2026, 11, 25), "run")
    seen, duplicates = set(), []
    ChannelIntake(shards, seen, duplicates)([record(0), record(1)])  # an earlier channel
    intake = ChannelIntake(shards, seen, duplicates)
    intake.begin()
    intake([record(i) for i in range(1, 8)])  # r1 is a duplicate of the earlier channel
    assert len(shards.jobs) == 2 and duplicates == ["forum:1"]
    intake.begin()  # the attempt failed after staging: a retry starts again from the mark
    assert len(shards.jobs) == 0 and duplicates == [] and seen == {"r0", "r1"}
    intake([record(i) for i in range(1, 10)])
    jobs = shards.close()
    assert sum(len(pickle.loads(j.path("records", "pkl").read_bytes()))
               for j in jobs) == 2 + 8 and duplicates == ["forum:1"]
    assert sorted(p.name for p in tmp_path.rglob("*.pkl")) == sorted(
        j.path("records", "pkl").name for j in jobs)
