"""Quality floors on the hand-labelled gold and held-out sets (written independently of the cue
lists; the held-out sets were never used for tuning).

These are regression guards at the measured level, not the targets: `voc eval stages` and
`voc eval signals` report the full figures."""

import csv
from collections import defaultdict

import pytest

from nlp.normalize import normalize_text
from tests.conftest import ROOT

GOLD = ROOT / "tests/data"
# Floors just below the levels measured with models/stage-zh-v1 (see its MODEL.md).
STAGE_F1_GOLD = 0.85  # measured 0.869
STAGE_F1_HELDOUT = 0.88  # measured 0.906
# Signals: gold, dev and heldout_signals.csv are all tuning sets now (the held-out figures were
# read during tuning); measured 1.0 precision and recall for every signal on each. So are the two
# earlier test sets, demoted after their evaluation (dev_signals_t1.csv to _t4). The
# untouched test set is tests/data/test_signals.csv, evaluated once with `voc eval signals`.
PRECISION_GOLD, RECALL_GOLD = 0.95, 0.95
PRECISION_HELDOUT, RECALL_HELDOUT = 0.95, 0.95


def rows(name):
    with open(GOLD / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def signal_summary(name, signal_config, segmenter):
    from nlp.signals import SignalDetector, signal_scores

    detector = SignalDetector(signal_config)
    data = rows(name)
    found = [row["signal"] in detector.sentence_signals(
        segmenter.tokens(normalize_text(row["text"]).text)) for row in data]
    return signal_scores([row["signal"] for row in data], [row["label"] == "1" for row in data],
                         found)


@pytest.mark.parametrize(("name", "precision", "recall"), [
    ("gold_signals.csv", PRECISION_GOLD, RECALL_GOLD),
    ("heldout_signals.csv", PRECISION_HELDOUT, RECALL_HELDOUT),
    ("dev_signals.csv", 0.95, 0.95),  # the hand-written tuning set (measured 1.0 and 0.98)
    # t1's writer labelled stated waits the customer shrugs off (排队两小时才买到，网红店就是这样)
    # and four plain ones as no wait; the schema counts any stated wait (measured wait P 0.77)
    ("dev_signals_t1.csv", 0.75, 0.55),  # measured: min precision 0.77, min recall 0.60
    ("dev_signals_t2.csv", 0.95, 0.88),  # measured: min precision 0.97, min recall 0.91
    ("dev_signals_t3.csv", 0.95, 0.85),  # measured: min precision 0.97, min recall 0.88
    ("dev_signals_t4.csv", 0.95, 0.85),  # measured: min precision 1.0, min recall 0.88
])
def test_signal_precision_and_recall(signal_config, segmenter, name, precision, recall):
    summary = signal_summary(name, signal_config, segmenter)
    for signal, scores in summary["per_signal"].items():
        assert scores["precision"] >= precision, (name, signal, scores)
        assert scores["recall"] >= recall, (name, signal, scores)


@pytest.fixture(scope="module")
def pipeline_tagger(settings, taxonomy, segmenter):
    """The tagger as the pipeline builds it: cues, the trained model and its thresholds."""
    from nlp.journey import JourneyTagger
    from nlp.stage_model import load_stage_model

    return JourneyTagger(taxonomy, segmenter.tokens, settings.journey.min_confidence,
                         load_stage_model(settings.journey.model_dir))


def stage_summary(tagger, segmenter, data):
    from nlp.metrics import classification_summary

    predicted = [r.stage for r in tagger.tag(
        [segmenter.tokens(normalize_text(row["text"]).text) for row in data])]
    return classification_summary([row["stage"] for row in data], predicted)


@pytest.mark.parametrize(("name", "floor"), [
    ("gold_stages.csv", STAGE_F1_GOLD),
    ("heldout_stages.csv", STAGE_F1_HELDOUT),
])
def test_stage_macro_f1(pipeline_tagger, segmenter, name, floor):
    summary = stage_summary(pipeline_tagger, segmenter, rows(name))
    assert summary["macro_f1"] >= floor, summary


def test_stage_macro_f1_of_the_taxonomy_only_fallback(tagger, segmenter):
    summary = stage_summary(tagger, segmenter, rows("gold_stages.csv"))
    assert summary["macro_f1"] >= 0.65, summary


@pytest.mark.parametrize("column", ["stage", "channel"])
def test_gold_set_is_balanced(column):
    values = defaultdict(int)
    for row in rows("gold_stages.csv"):
        values[row[column]] += 1
    assert min(values.values()) >= 25 and sum(values.values()) >= 400
