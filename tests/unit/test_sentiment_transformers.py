"""The transformers backend, end to end on a tiny random BERT built in a temp directory."""

import pytest

from nlp.sentiment import load_backend
from nlp.sentiment.hf import map_labels


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    root = tmp_path_factory.mktemp("tiny-bert")
    chars = sorted(set("请问怎么退货太差了很满意质量好物流快客服态度不太订单号是多少谢谢"))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars]
    (root / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab_file=str(root / "vocab.txt")).save_pretrained(root)
    config = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=32, max_position_embeddings=64,
                        num_labels=3, id2label={0: "negative", 1: "neutral", 2: "positive"},
                        label2id={"negative": 0, "neutral": 1, "positive": 2})
    BertForSequenceClassification(config).save_pretrained(root)
    return root


@pytest.mark.parametrize("quantize", [False, True])
def test_predicts_a_batch(tiny_checkpoint, quantize):
    backend = load_backend("transformers", {"model_dir": str(tiny_checkpoint), "batch_size": 2,
                                            "max_length": 8, "threads": 1, "quantize": quantize})
    texts = ["请问怎么退货", "太差了", "很满意", "订单号是多少" * 20, "谢谢"]
    results = backend.predict(texts)
    assert len(results) == len(texts)
    assert all(r.label in {"negative", "neutral", "positive"} for r in results)
    assert all(-1 <= r.score <= 1 and 0 <= r.confidence <= 1 for r in results)
    assert backend.version.endswith("-int8") is quantize


def test_label_mapping_from_config():
    assert map_labels({0: "LABEL_0", 1: "LABEL_1"}) == ["negative", "positive"]
    assert map_labels({0: "1 star", 1: "3 stars", 2: "5 stars"}) == ["negative", "neutral", "positive"]
    assert map_labels({0: "负面", 1: "正面"}) == ["negative", "positive"]
    with pytest.raises(Exception, match="cannot map"):
        map_labels({0: "spam", 1: "ham"})


def test_missing_checkpoint_is_named(tmp_path):
    with pytest.raises(Exception, match="config.json"):
        load_backend("transformers", {"model_dir": str(tmp_path)})
