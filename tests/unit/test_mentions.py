"""Aspect mentions: clause splitting, offsets, per-mention sentiment, painpoint counting, table."""

from __future__ import annotations

import pandas as pd
import pytest

from flows.mentions import make_extractor
from flows.sinks.schema import to_arrow
from nlp.mentions import (
    MENTION_COLUMNS,
    Mention,
    _asks,
    build_mentions,
    mention_pairs,
    mentions_as_sentences,
    merge_adjacent,
    split_clauses,
)
from nlp.painpoints import build_painpoints


def rules_only(settings):
    """The settings with the clause model switched off: these tests pin down the rules (the
    clause model's features); tests/unit/test_clause_model.py covers the default."""
    return settings.model_copy(update={"mentions": settings.mentions.model_copy(
        update={"clause_model": None})})


@pytest.fixture(scope="module")
def extractor(settings, components):
    return make_extractor(rules_only(settings), components)


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


def test_english_contrast_and_a_contrast_inside_a_clause_split_opinions():
    text = "The quality is great but 快递员直接放门口"
    clauses = split_clauses(text)
    assert [text[c.start:c.end] for c in clauses] == ["The quality is great", "快递员直接放门口"]
    assert [c.contrast for c in clauses] == [False, True]
    inner = split_clauses("广告实在太多了，理财产品收益倒是一直还行")
    assert [c.contrast for c in inner] == [False, True]
    assert [c.setup for c in split_clauses("客服承诺24小时内回电，结果三天都没人联系")] == [
        True, False]


@pytest.mark.parametrize(("text", "pairs"), [
    # the cue after a setting ("下单后") names the aspect, not the setting
    ("下单后迟迟不发货", {("deliver", "negative")}),
    # an overall verdict names no aspect of its own
    ("发货很及时，五星好评", {("deliver", "positive")}),
    # wanting to leave is negative however it is put
    ("我想销户", {("leave", "negative")}),
    # a broken promise: the promise shares the negative opinion that breaks it
    ("客服承诺24小时内回电，结果到现在都没回电", {("support", "negative")}),
    # what comes before a contrast is not the contrast's mention
    ("收到的鞋明显是假货，不过申请退款倒是秒批了", {("use", "negative"), ("billing", "positive")}),
    # waiting and speed patterns
    ("新卡寄过来花了十天", {("deliver", "negative")}),
    ("实体卡第二天就送到", {("deliver", "positive")}),
    # "用不了" is weak: what cannot be used (the coupon at checkout) names the aspect
    ("优惠券付款的时候用不了，客服回得倒是很快", {("purchase", "negative"), ("support", "positive")}),
    # a weak cue after a setting does not outrank the setting's strong cue
    ("开户时柜员态度很差", {("purchase", "negative")}),
    # "升级完" is a setting too
    ("宽带升级完网速根本没变化", {("use", "negative")}),
    # after "写的" comes what was written, not a setting: the charge stays the aspect
    ("收费比官网上写的贵了三十块", {("billing", "negative")}),
    # a price compared with elsewhere is a price judgement
    ("这款耳机比官方店贵了两百", {("evaluate", "negative")}),
    # failing on the first day is no speed praise
    ("刚买第一天就坏了", {("use", "negative")}),
    ("首页推送太频繁了", {("discover", "negative")}),
    # a short judgement comments on the mention before it; a verdict opens nothing
    ("退款昨天到账了，挺快的", {("billing", "positive")}),
    ("就是想表扬一下，师傅安装得很仔细", {("deliver", "positive")}),
    # "请耐心等待" is boilerplate, not praise
    ("客服就回了一句请耐心等待", {("support", "negative")}),
    # how long something was used is no wait
    ("APP用了一个月，很流畅", {("use", "positive")}),
])
def test_mention_pairs_of_mixed_feedback(extractor, text, pairs):
    [mentions] = extractor.extract([text])
    assert mention_pairs(mentions) == pairs


def test_an_aspectless_clause_the_classifier_places_surely_opens_its_own_mention(extractor):
    text = "店员态度很好，第二天就收到了货"
    [mentions] = extractor.extract([text])
    assert [(text[m.start:m.end], m.stage, m.stage_method) for m in mentions] == [
        ("店员态度很好", "support", "cue"), ("第二天就收到了货", "deliver", "model")]
    assert extractor.config.clause_model_confidence is not None


def test_without_a_clause_threshold_an_aspectless_clause_joins_the_mention_before(
        settings, components):
    extractor = make_extractor(rules_only(settings), components)
    extractor.config.clause_model_confidence = None
    [mentions] = extractor.extract(["店员态度很好，第二天就收到了货"])
    assert [(m.stage, m.stage_method) for m in mentions] == [("support", "cue")]


def test_a_clause_placed_by_the_classifier_alone_needs_polarity_words(extractor):
    [mentions] = extractor.extract(["我就问一下"])
    assert all(m.sentiment_label == "neutral" or m.stage_method != "model" for m in mentions)


def test_polarity_patterns_cover_the_words_inside_them(extractor):
    lexicon = extractor.polarity
    assert lexicon.evidence("等了整整一周", ["等", "了", "整整", "一周"]) == (-1.0, 1)
    assert lexicon.evidence("汤一点没洒", ["汤", "一点", "没洒"])[0] > 0


def test_negators_are_tokens_not_characters_inside_words(extractor):
    lexicon = extractor.polarity
    assert lexicon.evidence("无线很方便", ["无线", "很", "方便"], general=False)[0] > 0
    assert lexicon.evidence("不太方便", ["不太", "方便"], general=False)[0] < 0
    assert lexicon.evidence("一点也不方便", ["一点", "也", "不", "方便"], general=False)[0] < 0
    assert lexicon.evidence("无法方便地查", ["无法", "方便", "地", "查"], general=False)[0] < 0
    # the negator inside the token that holds the word ("不新鲜" is one jieba token)
    assert lexicon.evidence("鱼不新鲜", ["鱼", "不新鲜"], general=False)[0] < 0
    assert lexicon.evidence("鱼很新鲜", ["鱼", "很", "新鲜"], general=False)[0] > 0


@pytest.mark.parametrize("text", [
    "差不多扣了我两百块", "网络不断掉线", "手机不停闪退", "不仅发货慢，客服还不理人", "不光物流慢",
    "不但退款慢", "特别慢的快递", "不少商品有质量问题", "只不过客服态度差"])
def test_words_that_hold_a_negator_character_but_negate_nothing(extractor, text):
    # 不断, 不停, 差不多, 不仅, 不光, 不但, 特别, 不少, 只不过 are no negators
    [mentions] = extractor.extract([text])
    assert mentions and all(m.sentiment_label == "negative" for m in mentions if m.aspect)
    assert not any(m.sentiment_label == "positive" for m in mentions)


def test_non_negating_tokens_in_the_lexicon(extractor):
    lexicon = extractor.polarity
    assert lexicon.evidence("差不多扣了我两百块", ["差不多", "扣了", "我", "两百块"], general=False)[0] < 0
    assert lexicon.evidence("网络不断掉线", ["网络", "不断", "掉线"], general=False)[0] < 0
    assert lexicon.evidence("别人家很方便", ["别人", "家", "很", "方便"], general=False)[0] > 0
    assert lexicon.evidence("不过很方便", ["不过", "很", "方便"], general=False)[0] > 0
    # a negator token still negates, 不错 still negates its own 错 ("不新鲜" above)
    assert lexicon.evidence("不方便", ["不", "方便"], general=False)[0] < 0


def test_a_wait_clause_never_opens_a_mention_through_the_classifier(extractor):
    # the module's own example: one deliver mention, not deliver + a `support` mention
    for text in ("送餐太慢了，等了一个小时", "送餐太慢了，等了一个多小时", "外卖太慢了，一个小时才到"):
        [mentions] = extractor.extract([text])
        assert [(m.stage, m.sentiment_label) for m in mentions] == [("deliver", "negative")], text
        assert mentions[0].end == len(text)


@pytest.mark.parametrize("text", [
    "请问为什么扣了我两次钱？", "需要改进的地方很多", "我想说服务真的很一般", "请不要再给我打推销电话了",
    "求求你们别再给我打推销电话了"])
def test_complaints_worded_as_questions_or_requests_are_negative(extractor, text):
    [mentions] = extractor.extract([text])
    assert [m.sentiment_label for m in mentions] == ["negative"], text


@pytest.mark.parametrize(("text", "asks"), [
    ("请问为什么扣了我两次钱？", False), ("请不要再给我打推销电话了", False), ("需要改进的地方很多", False),
    ("我想说服务真的很一般", False), ("请问怎么退货", True), ("我想咨询一下营业时间", True),
])
def test_why_a_charge_and_requests_to_stop_are_no_plain_questions(text, asks):
    assert _asks(text) is asks


def test_stage_cues_that_are_no_delivery_leaving_or_billing(extractor):
    stages = {text: {m.stage for m in ms} for text, ms in zip(
        ["我的问题得到及时回复", "遇到慢性病住院", "准备换个家电", "账号无法退出登录", "快递到得很及时",
         "真想换家银行", "定金还不让退"],
        extractor.extract(["我的问题得到及时回复", "遇到慢性病住院", "准备换个家电", "账号无法退出登录",
                           "快递到得很及时", "真想换家银行", "定金还不让退"]), strict=True)}
    assert "deliver" not in stages["我的问题得到及时回复"] and "support" in stages["我的问题得到及时回复"]
    assert "deliver" not in stages["遇到慢性病住院"]
    assert "leave" not in stages["准备换个家电"]
    assert "billing" not in stages["账号无法退出登录"]
    assert stages["快递到得很及时"] == {"deliver"}
    assert stages["真想换家银行"] == {"leave"} and stages["定金还不让退"] == {"billing"}


@pytest.mark.parametrize(("text", "asks"), [
    ("能帮我改一下配送时间吗", True), ("我想预约下周六保养", True), ("麻烦帮我备注一下", True),
    # statements of an experience, and rhetorical questions, are opinions
    ("申请退款平台很快全额退了", False), ("我这个月话费怎么多扣了三十块", False),
    ("怎么还没到", False), ("客服很耐心地帮我处理了", False),
])
def test_plain_questions_and_requests_by_their_last_clause(text, asks):
    assert _asks(text) is asks


def test_a_request_carries_no_opinion_of_its_words(extractor):
    [mentions] = extractor.extract(["能帮我预约一下装机时间吗"])
    assert all(m.sentiment_label == "neutral" for m in mentions)


def test_invalid_polarity_pattern_is_a_config_error(tmp_path):
    from nlp.errors import ConfigError
    from nlp.mentions import load_mention_config

    path = tmp_path / "mentions.yaml"
    path.write_text("polarity:\n  negative_patterns: ['(等了']\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="polarity.negative_patterns.0"):
        load_mention_config(path)


def test_adjacent_mentions_of_one_stage_and_polarity_merge():
    def mention(start, end, stage, label, score, emotions=None):
        return Mention(start, end, f"a{start}", stage, "cue", None, sentiment_label=label,
                       sentiment_score=score, emotions=emotions or {})

    merged = merge_adjacent([
        mention(0, 8, "purchase", "positive", 0.5, {"joy": 0.5}),
        mention(9, 15, "purchase", "positive", 0.8, {"joy": 0.65, "trust": 0.5}),
        mention(16, 20, "use", "positive", 0.4),
        mention(21, 25, "use", "negative", -0.6),
        mention(26, 30, "unknown", "negative", -0.6),
        mention(31, 35, "unknown", "negative", -0.7),
    ])
    assert [(m.start, m.end, m.stage, m.sentiment_label) for m in merged] == [
        (0, 15, "purchase", "positive"), (16, 20, "use", "positive"),
        (21, 25, "use", "negative"), (26, 30, "unknown", "negative"),
        (31, 35, "unknown", "negative")]
    assert merged[0].aspect == "a0" and merged[0].sentiment_score == 0.8
    assert merged[0].emotions == {"joy": 0.65, "trust": 0.5}


@pytest.fixture(scope="module")
def mixed_texts() -> list[str]:
    import csv
    from pathlib import Path

    with Path("tests/data/mixed_aspects.csv").open(encoding="utf-8") as handle:
        return [row["text"] for row in csv.DictReader(handle)][:80]


def test_a_batch_gives_each_sentence_what_it_gets_alone(settings, components, mixed_texts):
    # The extractor works a batch in phases over its distinct texts (one stage-model and one
    # sentiment call); every sentence must still get exactly the mentions it gets on its own,
    # repeats (same or another stage and topic) included.
    extractor = make_extractor(settings, components,
                               {0: ["快递", "物流", "客服"], 1: ["质量", "价格", "退款"]})
    texts = mixed_texts + mixed_texts[:10] + mixed_texts[:10]
    stages = ["unknown"] * len(mixed_texts) + ["support"] * 10 + ["unknown"] * 10
    topics = [-1] * len(mixed_texts) + [1] * 10 + [-1] * 10
    batch = extractor.extract(texts, stages, None, topics)
    alone = [extractor.extract([t], [s], None, [k])[0]
             for t, s, k in zip(texts, stages, topics, strict=True)]
    assert batch == alone
    assert sum(len(ms) for ms in batch) > len(texts)  # mixed sentences: several mentions
    repeat = len(mixed_texts) + 10
    assert batch[repeat] == batch[0]
    assert all(a is not b and a.emotions is not b.emotions
               for a, b in zip(batch[repeat], batch[0], strict=True))
    from nlp.mentions import _ShardWork

    assert [extractor.spans(t) for t in texts[:20]] == extractor._spans_batch(
        [(t, "unknown", None) for t in texts[:20]], _ShardWork(extractor))


def test_a_copied_mention_is_equal_and_owns_its_emotions():
    from dataclasses import fields

    from nlp.mentions import _copy

    mention = Mention(1, 5, "a", "use", "cue", "app", True, True, 3, "negative", -0.5, 0.75,
                      {"anger": 0.5})
    copied = _copy(mention)
    assert copied == mention and copied.emotions is not mention.emotions
    assert len(fields(Mention)) == 13  # a new field must be copied by _copy too


def test_patterns_are_prefiltered_only_when_they_combine_safely():
    from nlp.mentions import _any_of

    assert _any_of(["等了(\\d+)天", "才\\d+块"]).search("才5块")
    assert _any_of(["(a)\\1"]) is None
    assert _any_of(["(?P<x>a)", "(?P<x>b)"]) is None
    assert _any_of([]) is None
