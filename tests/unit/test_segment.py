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
    assert get_segmenter(settings.segment.userdict, settings.segment.stopwords, extra) is segmenter
