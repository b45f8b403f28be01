"""Segmentation: user dictionary, cue phrases as single tokens, PII tags, stop words."""


def test_user_dictionary_keeps_domain_terms_whole(segmenter):
    tokens = segmenter.tokens("我要携号转网，转人工也没用")
    assert "携号转网" in tokens and "转人工" in tokens


def test_pii_tags_stay_single_tokens(segmenter):
    assert "[手机号]" in segmenter.tokens("打我电话[手机号]谢谢")


def test_content_tokens_drop_stop_words_punctuation_and_tags(segmenter):
    tokens = segmenter.content_tokens("您好，请问我的快递为什么还没有到？电话[手机号]")
    assert "快递" in tokens
    assert not {"您好", "请问", "为什么", "？", "，", "[手机号]"} & set(tokens)


def test_segmenter_is_loaded_once(settings, segmenter, taxonomy, signal_config):
    from nlp.segment import get_segmenter

    extra = tuple(sorted(set(taxonomy.all_cues()) | set(signal_config.all_cues())))
    again = get_segmenter(settings.segment.userdict, settings.segment.stopwords, extra,
                          settings.segment.engine)
    assert again is segmenter


SENTENCES = [
    "我要携号转网，转人工也没用", "外卖送了一个半小时，饭都凉了", "信用卡年费没说过要收，客服踢皮球",
    "宽带装了三天还没开通，师傅也不接电话", "APP一直闪退，登录不了手机银行", "这家店的菜品味道不错，服务也好",
    "第三次打电话了，每次都要重新说一遍", "退款申请十天了还没到账，再不处理就打12315",
]


def test_rust_engine_matches_jieba_with_the_user_dictionary(settings, segmenter):
    from nlp.segment import Segmenter

    reference = Segmenter(settings.segment.userdict, settings.segment.stopwords,
                          engine="jieba")
    fast = Segmenter(settings.segment.userdict, settings.segment.stopwords, engine="rjieba")
    for text in SENTENCES:
        assert fast.tokens(text) == reference.tokens(text), text
