"""Journey stage and touchpoint per sentence."""

import pytest

from nlp.journey import UNKNOWN


@pytest.mark.parametrize(("text", "stage"), [
    ("快递三天了还没发货", "deliver"),
    ("外卖员送了一个半小时", "deliver"),
    ("这个月话费多扣了三十块", "billing"),
    ("退款申请十天了还没到账", "billing"),
    ("打了三次客服电话都没人解决", "support"),
    ("我要销户", "leave"),
    ("下个月就携号转网", "leave"),
    ("下单的时候优惠券用不了", "purchase"),
    ("手机银行一登录就闪退", "use"),
    ("天天给我发营销短信", "discover"),
    ("想了解一下这两个套餐哪个好", "evaluate"),
])
def test_cue_stages(tagger, segmenter, text, stage):
    result = tagger.tag([segmenter.tokens(text)])[0]
    assert result.stage == stage
    assert result.method == "cue" and result.evidence


def test_no_cue_and_no_confidence_gives_unknown(tagger, segmenter):
    result = tagger.tag([segmenter.tokens("嗯嗯好的")])[0]
    assert result.stage == UNKNOWN


def test_fallback_classifier_is_used_for_sentences_without_cues(tagger, segmenter):
    results = tagger.tag([segmenter.tokens("饭菜送来的时候已经凉透了")])
    assert results[0].method in ("model", "none")
    if results[0].method == "model":
        assert results[0].confidence >= tagger.min_confidence


def test_touchpoint_when_stated(tagger, segmenter):
    assert tagger.tag([segmenter.tokens("营业厅的店员态度很差")])[0].touchpoint == "store"
    assert tagger.tag([segmenter.tokens("APP一直闪退")])[0].touchpoint == "app"
    assert tagger.tag([segmenter.tokens("菜很好吃")])[0].touchpoint is None


def test_several_stages_are_listed_in_text_order(tagger, segmenter):
    result = tagger.tag([segmenter.tokens("快递很慢，客服也不管，我要退订")])[0]
    assert result.stages[:3] == ("deliver", "support", "leave")
