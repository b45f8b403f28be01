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


def test_classifier_decides_sentences_without_cues_and_abstains_when_unsure(segmenter):
    from nlp.journey import JourneyTagger, Taxonomy
    from nlp.stage_model import taxonomy_only_model

    taxonomy = Taxonomy.model_validate({
        "stages": {
            "deliver": {"name": "交付", "cues": ["快递"],
                        "examples": ["包裹三天还没到", "包裹送到了隔壁", "包裹一直没到家"] * 3},
            "billing": {"name": "账单", "cues": ["扣费"],
                        "examples": ["账单多了三十块", "账单金额不对", "这个月账单太高"] * 3},
        },
        "no_stage_examples": ["好的", "谢谢", "嗯嗯"],
    })
    model = taxonomy_only_model(taxonomy, segmenter.tokens)
    tagger = JourneyTagger(taxonomy, segmenter.tokens, 0.5, model)
    sure, unsure = tagger.tag([segmenter.tokens("我的包裹还没到"), segmenter.tokens("好的谢谢")])
    assert (sure.stage, sure.method) == ("deliver", "model") and sure.confidence >= 0.5
    assert unsure.stage == UNKNOWN
    assert JourneyTagger(taxonomy, segmenter.tokens, 0.5).tag(
        [segmenter.tokens("我的包裹还没到")])[0].stage == UNKNOWN  # cue-only without a model


def test_weak_cues_yield_to_specific_ones_and_leave_intent_wins(tagger, segmenter):
    assert tagger.tag([segmenter.tokens("柜员说系统升级，退款还没到账")])[0].stage == "billing"
    assert tagger.tag([segmenter.tokens("吃了五年，味道变了，我要销户")])[0].stage == "leave"


def test_patterns_catch_what_tokens_miss(tagger, segmenter):
    result = tagger.tag([segmenter.tokens("点的菜等了好久才上来")])[0]
    assert result.stage == "deliver" and result.method == "cue"


def test_touchpoint_when_stated(tagger, segmenter):
    assert tagger.tag([segmenter.tokens("营业厅的店员态度很差")])[0].touchpoint == "store"
    assert tagger.tag([segmenter.tokens("APP一直闪退")])[0].touchpoint == "app"
    assert tagger.tag([segmenter.tokens("菜很好吃")])[0].touchpoint is None


def test_several_stages_are_listed_in_text_order(tagger, segmenter):
    result = tagger.tag([segmenter.tokens("快递很慢，客服也不管，我要退订")])[0]
    assert result.stages[:3] == ("deliver", "support", "leave")
