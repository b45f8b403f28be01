"""Segmentation: user dictionary, cue phrases as single tokens, PII tags, stop words."""

import pytest


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


# Where jieba-rs alone differs from jieba (nlp/segment.py fixes these up): ASCII runs joined by
# . - _ (jieba's HMM step splits them), jieba dictionary words made of ASCII (AT&T, C++), CJK
# Extension A and compatibility ideographs; plus PII tags and whitespace.
TRICKY = [
    "用cpu-z测试内存", "我在6月19-21号又入住了", "1.320G硬盘被格成一个310G", "2.USB口供电不足",
    "电压有时会变为1.3V", "前台check-in的女孩", "AT&T和C++还有c#", "a--b和a.+b", "v2.0版本mp3.0",
    "50%off 1.5%x", "㐀㐁字和龥鿿", "﨎字", "𠀀们", "打我电话[手机号]谢谢，1.5G流量", "a_b c&d e+f g#h",
    "订单2026-11-23 14:05下单", "在APP-我的-安全设置中修改", "只能连酒店Wi-Fi", "3. APP简洁",
    "基准是3.2%-6.8%", ".我准备到315投䜣去.", "", "   ", "iPhone13 Pro Max", "5G套餐",
    # tokens_batch cuts plain sentences many at a time, joined by "\n": line breaks of their own
    "第一行\n第二行", "好的\r", "\r\n快递太慢了", "", "太慢了。。。还没到...", "等了 三天 ",
]


@pytest.fixture(scope="module")
def engines(settings, taxonomy, signal_config):
    from nlp.segment import Segmenter

    extra = tuple(sorted(set(taxonomy.all_cues()) | set(signal_config.all_cues())))
    opts = settings.segment
    return (Segmenter(opts.userdict, opts.stopwords, extra, engine="rjieba"),
            Segmenter(opts.userdict, opts.stopwords, extra, engine="jieba"))


@pytest.fixture(scope="module")
def generated_sentences():
    import random

    from benchmarks.generate import load_pools, split

    pools = load_pools()
    rng = random.Random(3)
    texts = pools.customer + pools.reviews + pools.asr_customer + pools.agent
    return [s for t in rng.sample(texts, 2500) for s in split(t)]


def test_rust_engine_matches_jieba_on_generated_and_tricky_text(engines, generated_sentences):
    fast, reference = engines
    texts = generated_sentences + TRICKY
    expected = [reference.tokens(t) for t in texts]
    assert [fast.tokens(t) for t in texts] == expected
    assert fast.tokens_batch(texts) == expected
    assert reference.tokens_batch(texts) == expected


def test_tokens_batch_segments_repeats_once_but_gives_every_row_its_own_list(engines):
    fast, _ = engines
    rows = fast.tokens_batch(["好的谢谢", "快递太慢了", "好的谢谢"])
    assert rows[0] == rows[2] == fast.tokens("好的谢谢") and rows[0] is not rows[2]
    assert fast.tokens_batch([]) == []
