"""Effort, escalation, churn, resolution and the peak-end score."""

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
