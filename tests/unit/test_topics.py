"""Topics: readable labels, stable ids across nights and refits, overrides, eval and list."""

import json
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from flows.topic_store import TopicStore, load_overrides, run_topics
from nlp.errors import ConfigError
from nlp.topics.align import align_topics
from nlp.topics.labels import readable_label
from tests.conftest import ROOT, write_config

THEMES = {
    "快递": ["快递 物流 延迟 派送", "快递 丢件 物流 包裹", "物流 派送 包裹 快递员"],
    "话费": ["话费 扣费 套餐 流量", "套餐 流量 超出 话费", "扣费 话费 账单 套餐"],
    "宽带": ["宽带 网速 断网 师傅", "宽带 报修 师傅 上门", "网速 宽带 掉线 路由器"],
    "退款": ["退款 申请 审核 到账", "退款 到账 银行卡 审核", "申请 退款 订单 取消"],
}


def corpus(themes=THEMES, repeat=12):
    docs = []
    for i in range(repeat):
        for variants in themes.values():
            for v in variants:
                docs.append(f"{v} 第{i}次" if i % 3 else v)
    return docs


@pytest.fixture
def topic_settings(tmp_path):
    from nlp.config import load_settings

    config = write_config(tmp_path, topics={"model_dir": str(tmp_path / "models"),
                                            "overrides": str(tmp_path / "topics.yaml"),
                                            "min_topic_size": 5, "embedding_dim": 16})
    return load_settings(config)


def test_labels_have_no_stop_words_or_single_characters(segmenter):
    label = readable_label(["说", "说 说", "我要", "快递", "快递 丢件", "丢件", "月"],
                           stopwords=segmenter.stopwords)
    parts = label.split("·")
    assert parts[0] == "快递丢件" and all(len(p) >= 2 for p in parts)
    assert not any(p in segmenter.stopwords for p in parts)


def test_two_nights_keep_ids_and_do_not_refit(topic_settings, segmenter):
    docs = corpus()
    first = run_topics(topic_settings, docs, docs, date(2026, 11, 23), segmenter.stopwords)
    second = run_topics(topic_settings, docs[::-1], docs[::-1], date(2026, 11, 24),
                        segmenter.stopwords)
    assert first.version == second.version == "v0001"
    assert len(first.topics) >= 3
    assert first.doc_topics == second.doc_topics[::-1]
    assert {t.topic_id: t.label for t in first.topics} == {t.topic_id: t.label for t in second.topics}
    assert TopicStore(topic_settings.topics.model_dir).versions() == ["v0001"]


def test_refit_keeps_ids_of_topics_that_still_exist(topic_settings, segmenter):
    docs = corpus()
    first = run_topics(topic_settings, docs, docs, date(2026, 11, 23), segmenter.stopwords)
    extra = corpus({"发票": ["发票 报销 抬头 电子", "电子 发票 开具 抬头", "报销 发票 税号 抬头"]})
    refit = run_topics(topic_settings, docs + extra, docs + extra, date(2026, 11, 24),
                       segmenter.stopwords, refit=True)
    assert refit.version == "v0002"
    pairs = Counter(zip(first.doc_topics, refit.doc_topics[:len(docs)], strict=True))
    for old in set(first.doc_topics) - {-1}:
        successor = max((n for o, n in pairs if o == old), key=lambda n: pairs[(old, n)])
        assert successor == old
    assert {e["relation"] for e in refit.lineage} & {"kept", "split", "merged"}
    assert all(e["to_version"] == "v0002" for e in refit.lineage)


def test_overrides_survive_a_refit(topic_settings, segmenter):
    docs = corpus()
    first = run_topics(topic_settings, docs, docs, date(2026, 11, 23), segmenter.stopwords)
    ids = sorted(t.topic_id for t in first.topics)
    Path(topic_settings.topics.overrides).write_text(
        f"rename: {{{ids[0]}: 物流问题}}\nmerge: {{{ids[1]}: [{ids[2]}]}}\nnoise: [{ids[3]}]\n"
        "seeds:\n  - {label: 发票报销, keywords: [发票, 报销]}\n", encoding="utf-8")
    for refit in (False, True):
        result = run_topics(topic_settings, docs, docs, date(2026, 11, 24), segmenter.stopwords,
                            refit=refit)
        labels = {t.topic_id: t.label for t in result.topics}
        assert labels[ids[0]] == "物流问题"
        assert ids[2] not in labels and ids[3] not in labels and ids[1] in labels


def test_override_errors_name_the_key(tmp_path):
    path = tmp_path / "topics.yaml"
    path.write_text("rename: {1: 好}\nmerj: {}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_overrides(path)
    assert "merj" in str(info.value) and str(path) in str(info.value)


def test_alignment_records_split_and_new():
    old = [0, 0, 0, 0, 1, 1, 1, 1]
    new = [5, 5, 6, 6, 7, 7, 7, 7]
    kw_old = {0: {"快递": 1.0}, 1: {"话费": 1.0}}
    kw_new = {5: {"快递": 1.0}, 6: {"快递": 0.5, "丢件": 1.0}, 7: {"话费": 1.0}}
    mapping, edges, next_id = align_topics(old, new, kw_old, kw_new, next_id=2)
    assert mapping[7] == 1 and mapping[5] == 0 and mapping[6] == 2 and next_id == 3
    assert {(e.old_topic_id, e.new_topic_id, e.relation) for e in edges} >= {(0, 0, "split"),
                                                                             (0, 2, "split")}


def test_eval_prints_one_json_line(tmp_path):
    data = tmp_path / "t.csv"
    rows = ["text,label"] + [f"{d.replace(' ', '')},{d.split()[0]}" for d in corpus()]
    data.write_text("\n".join(rows), encoding="utf-8")
    voc = Path(sys.executable).parent / "voc"
    proc = subprocess.run([str(voc), "eval", "topics", "--data", str(data), "--text-column",
                           "text", "--label-column", "label"], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert {"n_docs", "n_topics", "outlier_share", "coherence_npmi", "diversity", "nmi",
            "ari"} <= set(summary)
    assert summary["n_docs"] == len(rows) - 1 and summary["n_topics"] >= 2


def test_topics_list_prints_a_table(tmp_path):
    from typer.testing import CliRunner

    from flows.cli import app

    config = write_config(tmp_path, topics={"model_dir": str(tmp_path / "models")})
    runner = CliRunner()
    empty = runner.invoke(app, ["topics", "list", "--config", str(config)])
    assert empty.exit_code == 1 and "no topic model" in empty.output
    refit = runner.invoke(app, ["topics", "refit", "--config", str(config), "--date", "2026-11-24"])
    assert refit.exit_code == 0, refit.output
    listed = runner.invoke(app, ["topics", "list", "--config", str(config)])
    assert listed.exit_code == 0 and "v0001" in listed.output and "label" in listed.output
