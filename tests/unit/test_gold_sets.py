"""Quality floors on the hand-labelled gold sets (written independently of the cue lists).

These are regression guards at the measured level, not the targets: `voc eval stages` reports
the full figures."""

import csv
from collections import defaultdict

import pytest

from nlp.normalize import normalize_text
from tests.conftest import ROOT

GOLD = ROOT / "tests/data"


def rows(name):
    with open(GOLD / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_signal_precision_on_gold(signal_config, segmenter):
    from nlp.signals import SignalDetector

    detector = SignalDetector(signal_config)
    counts = defaultdict(lambda: [0, 0, 0])  # tp, fp, fn
    for row in rows("gold_signals.csv"):
        found = row["signal"] in detector.sentence_signals(
            segmenter.tokens(normalize_text(row["text"]).text))
        gold = row["label"] == "1"
        counts[row["signal"]][0] += found and gold
        counts[row["signal"]][1] += found and not gold
        counts[row["signal"]][2] += gold and not found
    for signal, (tp, fp, fn) in counts.items():
        assert tp / max(1, tp + fp) >= 0.85, (signal, tp, fp, fn)
        assert tp / max(1, tp + fn) >= 0.6, (signal, tp, fp, fn)


def test_stage_macro_f1_on_gold(tagger, segmenter):
    from nlp.metrics import classification_summary

    data = rows("gold_stages.csv")
    predicted = [r.stage for r in tagger.tag(
        [segmenter.tokens(normalize_text(row["text"]).text) for row in data])]
    summary = classification_summary([row["stage"] for row in data], predicted)
    assert summary["macro_f1"] >= 0.65, summary


@pytest.mark.parametrize("column", ["stage", "channel"])
def test_gold_set_is_balanced(column):
    values = defaultdict(int)
    for row in rows("gold_stages.csv"):
        values[row[column]] += 1
    assert min(values.values()) >= 25 and sum(values.values()) >= 400
