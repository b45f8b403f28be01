"""Effort, escalation, churn, resolution and the peak-end score."""

import pytest

from nlp.signals import SignalDetector, peak_end_score


def detect(signal_config, segmenter, customer, agent=()):
    detector = SignalDetector(signal_config)
    return detector.detect([segmenter.tokens(t) for t in customer],
                           [segmenter.tokens(t) for t in agent])


def test_effort_signals_from_both_sides(signal_config, segmenter):
    out = detect(signal_config, segmenter,
                 ["这是我第三次打电话了", "我已经说过一遍了"], ["我帮您转接到售后专员"])
    assert out.flags["effort_contacts"] and out.flags["effort_repeat"]
    assert out.flags["effort_transfer"]
    assert out.effort_score > 0.5


def test_escalation_and_churn(signal_config, segmenter):
    out = detect(signal_config, segmenter, ["再不处理我就打12315", "我要销户"])
    assert out.flags["escalation"] and out.evidence["escalation"] == "12315"
    assert out.flags["churn"]


def test_negated_churn_is_not_churn(signal_config, segmenter):
    out = detect(signal_config, segmenter, ["我不会销户的，只是问问"])
    assert not out.flags["churn"]


def test_resolution_from_last_customer_turns(signal_config, segmenter):
    assert detect(signal_config, segmenter, ["退款没到", "好的谢谢，解决了"]).resolution == "resolved"
    assert detect(signal_config, segmenter, ["还是不行，算了"]).resolution == "unresolved"


def test_peak_end():
    assert peak_end_score([]) is None
    assert peak_end_score([0.2, -0.9, 0.6]) == round((-0.9 + 0.6) / 2, 4)


@pytest.mark.parametrize(("text", "signal"), [
    ("没有被转接，直接就处理好了", "effort_transfer"),  # negated pattern
    ("可以帮我转接到信用卡部门吗？", "effort_transfer"),  # a request, not an experience
    ("转账限额怎么调高", "effort_transfer"),  # another sense of 转
    ("能不能再说一遍，我没听清", "effort_repeat"),  # asking the agent to repeat
    ("这家店我去了好几遍了，一直很好吃", "effort_repeat"),
    ("重复扣款的钱什么时候退", "effort_repeat"),
    ("等了一会儿就上菜了", "effort_wait"),  # a short wait
    ("值得排队吗", "effort_wait"),
    ("这是我第二次在你们家买，质量不错", "effort_contacts"),  # repeat custom, not contact
    ("你们又打电话来推销，烦不烦", "effort_contacts"),  # the company calling
    ("我不想去消协，只想你们给个解决方案", "escalation"),
    ("手机拍照曝光不准", "escalation"),
    ("请问银保监会管信用卡吗", "escalation"),
    ("听说有人去消协投诉了，结果呢", "escalation"),  # someone else's escalation
    ("不会换别家的，你们服务挺好", "churn"),
    ("APP卸载重装了一下就好了", "churn"),
    ("退订了还一直发营销短信", "churn"),  # unsubscribing from marketing is not churn
    ("不用了，谢谢", "churn"),
    # someone else's experience, a past-vs-now contrast that ends well, a question about policy
    ("我朋友说他之前被转了好几次，我这次还好直接就处理了", "effort_transfer"),
    ("以前打了五次，这次一次就好了", "effort_contacts"),
    ("上次等了很久，这次十分钟就好了", "effort_wait"),
    ("转接的话要多久吗？", "effort_transfer"),
    ("如果转网要交违约金吗", "churn"),
    ("我妈说要去消协，我劝她先跟你们沟通", "escalation"),
    ("本来打算起诉的，后来你们处理了就算了", "escalation"),
    # other senses and praise
    ("转发到朋友圈有优惠吗", "effort_transfer"),
    ("照片曝光一下就好看了", "escalation"),
    ("第三次回购了，真的好用", "effort_contacts"),
    ("我打了三次喷嚏", "effort_contacts"),
    ("用了一个月了，还没发现有任何问题", "effort_wait"),
    ("优惠券不用了可以注销吗", "churn"),
])
def test_no_signal_in_negations_questions_and_other_senses(signal_config, segmenter, text, signal):
    assert signal not in SignalDetector(signal_config).sentence_signals(segmenter.tokens(text))


@pytest.mark.parametrize(("text", "signal"), [
    ("电话被转接了好几次还没人处理", "effort_transfer"),
    ("营业厅说找客服，客服说去营业厅，互相推", "effort_transfer"),
    ("每次都要我重新报一遍身份证号", "effort_repeat"),
    ("排了两个小时队才轮到我", "effort_wait"),
    ("前前后后找了客服不下十次", "effort_contacts"),
    ("再拖我就向银保监会举报", "escalation"),
    ("Going to report to 12315, enough is enough", "escalation"),
    ("卡我也不要了，直接销了吧", "churn"),
    ("switching to 另一家银行 next week", "churn"),
    ("银行说要去社保局办，社保局说要回银行办", "effort_transfer"),
    ("本人诉求先后转至三个部门，无一部门受理。", "effort_transfer"),
    ("同一件事跟你们讲了不知道多少遍了", "effort_repeat"),  # 不知道 negates nothing
    ("我刚才不是已经说了吗", "effort_repeat"),
    ("说24小时内回复 现在都三天了", "effort_wait"),
    ("嗯那个我这都第四次来问了", "effort_contacts"),
    ("这事没完，我要找媒体", "escalation"),
    ("以后打死也不来这家了", "churn"),
    # vetoes stay local to what they mean (a review found each of these vetoed)
    ("我打了五次电话，师傅才上门", "effort_contacts"),
    ("之后我又打了三次电话还是没人处理", "effort_contacts"),
    ("足足等了三个小时，终于等到人来修", "effort_wait"),
    ("商家以缺货为由，拖了一个月还没发货", "effort_wait"),
    ("带着孩子，孩子和我在门口等了一个多小时", "effort_wait"),
    ("我已经投诉到12315了，绝不撤回", "escalation"),
    ("未经本人同意开通业务，我要销户", "churn"),
    ("一个月了都没有给我换货，我要销户", "churn"),
])
def test_signals_stated_in_other_words(signal_config, segmenter, text, signal):
    assert signal in SignalDetector(signal_config).sentence_signals(segmenter.tokens(text))


def test_signal_scores_per_signal():
    from nlp.signals import signal_scores

    summary = signal_scores(["churn", "churn", "churn", "escalation"], [True, False, True, True],
                            [True, True, False, True])
    assert summary["per_signal"]["churn"] == {"precision": 0.5, "recall": 0.5, "tp": 1, "fp": 1,
                                              "fn": 1, "n": 3}
    assert summary["min_precision"] == 0.5 and summary["per_signal"]["escalation"]["recall"] == 1.0


def test_eval_signals_command_prints_per_signal_json_last(tmp_path):
    import csv
    import json

    from typer.testing import CliRunner

    from flows.cli import app

    data = tmp_path / "signals.csv"
    with data.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "signal", "label"])
        writer.writerows([["1", "再不处理我就打12315", "escalation", 1],
                          ["2", "12315的电话是多少", "escalation", 0],
                          ["3", "我要销户", "churn", 1],
                          ["4", "我不会销户的，只是问问", "churn", 0]])
    result = CliRunner().invoke(app, ["eval", "signals", "--data", str(data)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["n"] == 4 and summary["min_precision"] == 1.0
    assert summary["per_signal"]["churn"] == {"precision": 1.0, "recall": 1.0, "tp": 1, "fp": 0,
                                              "fn": 0, "n": 2}
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\n我要销户,1\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", "signals", "--data", str(bad)])
    assert result.exit_code != 0 and "signal" in str(result.exception)


def test_patterns_are_searched_only_where_their_keys_are(signal_config):
    """The key screen never hides a match: every sentence a pattern matches holds one of the
    literals the detector derived from it (or the pattern has none and is always searched)."""
    import csv
    import re

    from nlp.signals import _keys, _keys_in
    from tests.conftest import ROOT

    texts = [row["text"] for name in ("gold_signals.csv", "dev_signals.csv", "heldout_signals.csv")
             for row in csv.DictReader(open(ROOT / "tests/data" / name, encoding="utf-8"))]
    for spec in signal_config.signals.values():
        for pattern in spec.patterns:
            keys, compiled = _keys(pattern), re.compile(pattern)
            for text in texts:
                if compiled.search(text):
                    assert keys is None or not keys.isdisjoint(_keys_in(text)), (pattern, text)


@pytest.mark.parametrize(("pattern", "keys"), [
    ("转(了|来转去)", {"转了", "转来"}),
    ("(被|又被)?转接", {"转接"}),
    ("[二三]次(提交|说明)", {"二次", "三次"}),
    ("(?i)waited", {"wa", "wA", "Wa", "WA"}),
    (".{0,3}", None),
])
def test_keys_of_a_pattern(pattern, keys):
    from nlp.signals import _keys

    assert _keys(pattern) == (None if keys is None else frozenset(keys))


# Everyday sentences that share words with the signal patterns (durations of use, praise, the
# company acting, other senses of 重发/换/律师) must show no signal; found in a review.
@pytest.mark.parametrize("text", [
    "这个耳机听了两个小时都不累", "蛋糕放了两天还是很新鲜", "桌子很稳，纹丝不动", "这家店味道一直没变",
    "我申请了7天无理由退货", "维修3天就修好了", "我信用卡逾期3天了，会影响征信吗",
    "客服说三天内发货，结果第二天就到了，还是挺满意的", "这款面膜敷了半个月一直没过敏",
    "昨天下单发货，今天又降价了", "会员每个月可以申请3次免费洗车", "周末打了三个小时游戏",
    "我前后买了三次了，质量一直很稳定", "这家店我来了好多回了，每次都很满意", "宝宝严重发烧",
    "商家重发了一个，很快就收到了", "这个菜谱我做了好几遍", "这是第二次发错货了", "退款已经转回来了",
    "客服又说明天回电话", "去年换了家具", "店员马上换别的给我了", "打算更换滤芯", "年底最后一次促销",
    "我的律师朋友推荐我来这家店", "这家店真正做到了保护消费者权益",
])
def test_everyday_sentences_show_no_signal(signal_config, segmenter, text):
    assert SignalDetector(signal_config).sentence_signals(segmenter.tokens(text)) == []

