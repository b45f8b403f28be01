"""The pain-point aggregation: volumes, shares, severity and the documented priority formula."""

import pandas as pd
import pytest

from nlp.painpoints import build_painpoints, build_topic_table
from nlp.topics import TopicInfo


@pytest.fixture
def frames():
    sentences = pd.DataFrame({
        "record_id": ["a", "a", "b", "c", "c", "d"],
        "role": ["customer", "agent", "customer", "customer", "customer", "customer"],
        "text": ["快递太慢", "抱歉", "快递丢了", "话费多扣", "客服不理", "话费正常"],
        "stage": ["deliver", None, "deliver", "billing", "support", "billing"],
        "topic_id": [0, -1, 0, 1, -1, 1],
        "sentiment_label": ["negative", None, "negative", "negative", "negative", "neutral"],
        "sentiment_score": [-0.5, None, -1.0, -0.8, -0.6, 0.0],
    })
    documents = pd.DataFrame({
        "record_id": ["a", "b", "c", "d"],
        "effort_score": [0.0, 0.3, 0.6, 0.0],
        "escalation": [False, True, False, False],
        "churn": [False, False, True, False],
        "peak_end_score": [-0.5, -1.0, -0.7, 0.0],
    })
    topics = [TopicInfo(0, "快递·丢件", ["快递", "丢件"], 2, [0, 1]),
              TopicInfo(1, "话费·扣费", ["话费", "扣费"], 2, [2, 3])]
    return sentences, documents, topics


def test_cells_and_priority(frames):
    sentences, documents, topics = frames
    table = build_painpoints(sentences, documents, topics, {"deliver": 1.0, "billing": 0.9,
                                                            "support": 1.0})
    assert len(table) == 3  # agent sentence not counted
    deliver = table.set_index(["stage", "topic_id"]).loc[("deliver", 0)]
    assert deliver["volume"] == 2 and deliver["negative_share"] == 1.0
    assert deliver["severity"] == pytest.approx(0.75)
    assert deliver["escalation_rate"] == 0.5
    # priority = negatives x weight x (1 + severity) x (1 + escalation + churn)
    assert deliver["priority"] == pytest.approx(2 * 1.0 * 1.75 * 1.5, abs=1e-3)
    assert deliver["example_record_ids"] == ["b", "a"]  # most negative first
    billing = table.set_index(["stage", "topic_id"]).loc[("billing", 1)]
    assert billing["negative_share"] == 0.5
    assert billing["priority"] == pytest.approx(1 * 0.9 * 1.8 * 1.5, abs=1e-3)
    assert list(table["priority"]) == sorted(table["priority"], reverse=True)
    assert table["share"].sum() == pytest.approx(1.0)


def test_topic_table_stage_mix_and_verbatims(frames):
    sentences, _, topics = frames
    table = build_topic_table(topics, sentences, ["快递太慢", "快递丢了", "话费多扣", "话费正常"])
    row = table.set_index("topic_id").loc[1]
    assert row["representative"] == ["话费多扣", "话费正常"]
    assert row["stage_mix"] == '{"billing": 2}'
