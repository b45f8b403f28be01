"""Aspect mentions: clause splitting, offsets, per-mention sentiment, painpoint counting, table."""

from __future__ import annotations

import pandas as pd
import pytest

from flows.mentions import make_extractor
from flows.sinks.schema import to_arrow
from nlp.mentions import (
    MENTION_COLUMNS,
    build_mentions,
    mention_pairs,
    mentions_as_sentences,
    split_clauses,
)
from nlp.painpoints import build_painpoints


@pytest.fixture(scope="module")
def extractor(settings, components):
    return make_extractor(settings, components)


def test_clauses_split_at_punctuation_and_contrast_with_offsets():
    text = "下单流程挺顺的，就是快递慢得离谱，等了整整一周"
    clauses = split_clauses(text)
    assert [text[c.start:c.end] for c in clauses] == ["下单流程挺顺的", "快递慢得离谱", "等了整整一周"]
    assert [c.contrast for c in clauses] == [False, True, False]
    inner = split_clauses("扣了两次款却只发了一件货")
    assert ["扣了两次款却只发了一件货"[c.start:c.end] for c in inner] == ["扣了两次款", "只发了一件货"]


def test_the_issue_example_gives_a_positive_use_and_a_negative_deliver(extractor):
    text = "味道不错，送餐太慢了"
    [mentions] = extractor.extract([text])
    assert [(m.stage, m.sentiment_label) for m in mentions] == [
        ("use", "positive"), ("deliver", "negative")]
    assert [(m.start, m.end) for m in mentions] == [(0, 4), (5, 10)]
    assert [m.aspect for m in mentions] == ["味道", "送餐"]
    assert mention_pairs(mentions) == {("use", "positive"), ("deliver", "negative")}


def test_a_clause_without_aspect_belongs_to_the_mention_before_it(extractor):
    [mentions] = extractor.extract(["送餐太慢了，等了一个多小时"])
    assert len(mentions) == 1 and mentions[0].stage == "deliver"
    assert mentions[0].end == len("送餐太慢了，等了一个多小时")


def test_a_sentence_without_aspect_is_one_mention_with_the_sentence_stage(extractor):
    [mentions] = extractor.extract(["真的太让人失望了"], stages=["support"])
    assert len(mentions) == 1
    assert (mentions[0].stage, mentions[0].stage_method) == ("support", "sentence")
    assert "disappointment" in mentions[0].emotions


def test_build_mentions_frame_fits_the_table_contract_and_painpoints_count_mentions(extractor):
    sentences = pd.DataFrame([
        {"record_id": "r1", "channel": "complaint", "turn_index": 0, "sentence_index": 0,
         "role": "customer", "text": "味道不错，送餐太慢了", "stage": "use", "touchpoint": None,
         "topic_id": 3},
        {"record_id": "r1", "channel": "complaint", "turn_index": 0, "sentence_index": 1,
         "role": "agent", "text": "抱歉给您带来不便", "stage": None, "touchpoint": None,
         "topic_id": -1},
    ])
    mentions = build_mentions(sentences, extractor)
    assert list(mentions.columns) == MENTION_COLUMNS and len(mentions) == 2
    for row in mentions.itertuples():
        assert sentences.loc[0, "text"][row.start_char:row.end_char] == row.text
    table = to_arrow("mentions", mentions.assign(run_date=pd.Timestamp("2026-11-25").date(),
                                                 run_id="x"))
    assert table.num_rows == 2
    documents = pd.DataFrame([{"record_id": "r1", "escalation": False, "churn": False,
                               "effort_score": 0.0, "peak_end_score": 0.1}])
    pains = build_painpoints(mentions_as_sentences(mentions), documents, [], {"use": 1.0,
                                                                              "deliver": 1.0})
    by_stage = pains.set_index("stage")
    assert by_stage.loc["deliver", "negative_count"] == 1
    assert by_stage.loc["use", "negative_count"] == 0 and by_stage.loc["use", "volume"] == 1


def test_no_customer_sentences_give_an_empty_frame(extractor):
    empty = pd.DataFrame(columns=["record_id", "channel", "turn_index", "sentence_index", "role",
                                  "text"])
    assert list(build_mentions(empty, extractor).columns) == MENTION_COLUMNS
