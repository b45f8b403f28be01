"""`voc train stages` and `voc eval stages`: the journey-stage classifier and its evaluation."""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from flows.components import load_text_tools
from flows.corpus import customer_sentences, read_labelled_csv
from nlp.config import load_settings
from nlp.journey import JourneyTagger
from nlp.metrics import classification_summary
from nlp.normalize import normalize_text
from nlp.stage_model import (
    StageModel,
    calibrate_thresholds,
    cue_labelled,
    decontaminate,
    fit_stage_model,
    load_stage_model,
    save_stage_model,
    stage_label,
    taxonomy_examples,
    taxonomy_only_model,
)

log = logging.getLogger(__name__)
ConfigOption = Annotated[Path | None, typer.Option("--config", help="Pipeline YAML.")]


def _segmenter_and_taxonomy(settings):
    """The pipeline's own segmenter (with every cue in its dictionary) and taxonomy; no model
    is loaded, so training works before the configured stage model exists."""
    segmenter, taxonomy, _ = load_text_tools(settings)
    return segmenter, taxonomy


LABELLED = Path("data/labelled/stage_sentences.csv")
EVALUATION_SETS = [Path("tests/data/gold_stages.csv"), Path("tests/data/heldout_stages.csv")]


def read_labelled_sentences(path: Path, taxonomy, tokenize) -> tuple[list[list[str]], list[str]]:
    """Token lists and model classes of a hand-labelled CSV (columns text, stage; `none` is the
    no-stage class); rows naming a stage the taxonomy lacks are left out with a warning."""
    texts, labels = read_labelled_csv(path, "text", "stage")
    tokens, classes, dropped = [], [], 0
    for text, label in zip(texts, labels, strict=True):
        cls = stage_label(label, taxonomy)
        if cls is None:
            dropped += 1
            continue
        tokens.append(tokenize(normalize_text(text).text))
        classes.append(cls)
    if dropped:
        log.warning("%s: %d rows name stages journey.yaml lacks; left out", path, dropped)
    return tokens, classes


def train_stages(
    out: Annotated[Path, typer.Option(help="Directory of the new model.")] = Path("models/stage-zh-v1"),
    config: ConfigOption = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 13,
    labelled: Annotated[list[Path] | None, typer.Option(
        help="Hand-labelled CSV(s) with columns text, stage ('none' = no stage); repeatable.")] = None,
    labelled_weight: Annotated[float, typer.Option(
        help="Sample weight of a hand-labelled sentence (taxonomy and cue-labelled ones: 1).")] = 2.0,
    exclude: Annotated[list[Path] | None, typer.Option(
        help="Evaluation CSV(s) (column text): training sentences sharing a 10-character stretch "
             "with any of their sentences are dropped; repeatable.")] = None,
    folds: Annotated[int, typer.Option(help="Cross-validation folds for the thresholds.")] = 5,
) -> None:
    """Train the stage classifier: the taxonomy's examples, the hand-labelled sentences and the
    cue-labelled customer sentences of the configured inputs (run.input_dir). min_confidence
    and override_confidence are calibrated by cross-validation over the hand-labelled ones."""
    settings = load_settings(config)
    segmenter, taxonomy = _segmenter_and_taxonomy(settings)
    tokenize = segmenter.tokens
    cue_only = JourneyTagger(taxonomy, tokenize, settings.journey.min_confidence)
    labelled = [LABELLED] if labelled is None else labelled
    exclude = EVALUATION_SETS if exclude is None else exclude
    evaluation = [t for path in exclude if path.is_file()
                  for t in read_labelled_csv(path, "text", None)[0]]

    human_tokens, human_labels = [], []
    for path in labelled:
        tokens, classes = read_labelled_sentences(path, taxonomy, tokenize)
        human_tokens += tokens
        human_labels += classes
    keep = decontaminate(["".join(t) for t in human_tokens], evaluation)
    log.info("hand-labelled: %d sentences, %d kept after decontamination against %s",
             len(human_tokens), len(keep), ", ".join(map(str, exclude)))
    human_tokens = [human_tokens[i] for i in keep]
    human_labels = [human_labels[i] for i in keep]

    sentences = [tokenize(s) for s in customer_sentences(settings)]
    keep = set(decontaminate(["".join(t) for t in sentences], evaluation))
    sentences = [t for i, t in enumerate(sentences) if i in keep]
    texts, labels = taxonomy_examples(taxonomy, tokenize)
    cue_texts, cue_labels = cue_labelled(cue_only, sentences)
    base = (texts + cue_texts, labels + cue_labels)
    log.info("training on %d taxonomy examples, %d hand-labelled and %d cue-labelled sentences "
             "(from %d)", len(texts), len(human_tokens), len(cue_texts), len(sentences))

    calibration = {}
    if human_tokens:
        calibration = calibrate_thresholds(
            base, human_tokens, human_labels, cue_only, seed, folds,
            labelled_weight, progress=lambda n: log.info("calibration fold %d/%d", n + 1, folds))
        log.info("calibrated: %s", calibration)
    human_texts = [" ".join(t) for t in human_tokens]
    pipeline = fit_stage_model(base[0] + human_texts, base[1] + human_labels, seed,
                               [1.0] * len(base[0]) + [labelled_weight] * len(human_texts))
    model = StageModel(pipeline, calibration.get("override_confidence"),
                       calibration.get("min_confidence"), calibration)
    labelled_args = "".join(f" --labelled {p}" for p in labelled)
    save_stage_model(model, out, {
        "name": "voc.stage.v2",
        "training_command": f"voc train stages --out {out} --seed {seed}{labelled_args} "
                            f"--labelled-weight {labelled_weight} --folds {folds}",
        "input_dir": str(settings.run.input_dir),
        "taxonomy": str(settings.journey.taxonomy),
        "labelled": [str(p) for p in labelled],
        "decontaminated_against": [str(p) for p in exclude],
        "n_taxonomy_examples": len(texts),
        "n_labelled": len(human_texts),
        "n_labelled_per_class": dict(sorted(Counter(human_labels).items())),
        "n_cue_labelled": len(cue_texts),
        "n_sentences_seen": len(sentences),
        "labelled_weight": labelled_weight,
        "calibration": calibration,
        "seed": seed,
    })
    if calibration and calibration["min_confidence"] != settings.journey.min_confidence:
        log.warning("calibrated min_confidence %s differs from journey.min_confidence %s in the "
                    "config; the tagger uses the config's", calibration["min_confidence"],
                    settings.journey.min_confidence)
    typer.echo(f"saved {out}")


def eval_stages(
    data: Annotated[Path, typer.Option(help="CSV with a text and a stage column.")],
    text_column: Annotated[str, typer.Option(help="Column with the sentence.")] = "text",
    label_column: Annotated[str, typer.Option(help="Column with the gold stage.")] = "stage",
    config: ConfigOption = None,
    model: Annotated[Path | None, typer.Option(help="Stage model directory (default: config).")] = None,
) -> None:
    """Tag each sentence as the pipeline does and print one JSON line last: n, accuracy,
    macro F1 and per-stage precision/recall."""
    settings = load_settings(config)
    segmenter, taxonomy = _segmenter_and_taxonomy(settings)
    model_dir = model or settings.journey.model_dir
    classifier = (load_stage_model(model_dir) if model_dir
                  else taxonomy_only_model(taxonomy, segmenter.tokens))
    tagger = JourneyTagger(taxonomy, segmenter.tokens, settings.journey.min_confidence, classifier)
    texts, gold = read_labelled_csv(data, text_column, label_column)
    tokens = [segmenter.tokens(normalize_text(t).text) for t in texts]
    predicted = [r.stage for r in tagger.tag(tokens)]
    summary = classification_summary(gold, predicted)
    summary["labels_unknown_to_taxonomy"] = sorted(set(gold) - set(taxonomy.stages) - {"unknown"})
    summary["model"] = str(model_dir) if model_dir else "taxonomy-only"
    typer.echo(json.dumps(summary, ensure_ascii=False))
