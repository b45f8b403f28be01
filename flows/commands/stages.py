"""`voc train stages` and `voc eval stages`: the journey-stage classifier and its evaluation."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer

from flows.components import load_components
from flows.corpus import customer_sentences, read_labelled_csv
from nlp.config import load_settings
from nlp.journey import JourneyTagger
from nlp.metrics import classification_summary
from nlp.normalize import normalize_text
from nlp.stage_model import (
    cue_labelled,
    fit_stage_model,
    load_stage_model,
    save_stage_model,
    taxonomy_examples,
    taxonomy_only_model,
)

log = logging.getLogger(__name__)
ConfigOption = Annotated[Path | None, typer.Option("--config", help="Pipeline YAML.")]


def _segmenter_and_taxonomy(settings):
    """The pipeline's own segmenter (with every cue in its dictionary) and taxonomy."""
    comp = load_components(settings)
    return comp.segmenter, comp.taxonomy


def train_stages(
    out: Annotated[Path, typer.Option(help="Directory of the new model.")] = Path("models/stage-zh-v1"),
    config: ConfigOption = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 13,
) -> None:
    """Train the stage classifier for sentences without a cue: the taxonomy's examples plus the
    cue-labelled customer sentences of the configured inputs (run.input_dir)."""
    settings = load_settings(config)
    segmenter, taxonomy = _segmenter_and_taxonomy(settings)
    cue_only = JourneyTagger(taxonomy, segmenter.tokens, settings.journey.min_confidence)
    sentences = [segmenter.tokens(s) for s in customer_sentences(settings)]
    texts, labels = taxonomy_examples(taxonomy, segmenter.tokens)
    cue_texts, cue_labels = cue_labelled(cue_only, sentences)
    log.info("training on %d taxonomy examples and %d cue-labelled sentences from %d",
             len(texts), len(cue_texts), len(sentences))
    model = fit_stage_model(texts + cue_texts, labels + cue_labels, seed)
    save_stage_model(model, out, {
        "name": "voc.stage.v1",
        "training_command": f"voc train stages --out {out} --seed {seed}",
        "input_dir": str(settings.run.input_dir),
        "taxonomy": str(settings.journey.taxonomy),
        "n_taxonomy_examples": len(texts),
        "n_cue_labelled": len(cue_texts),
        "n_sentences_seen": len(sentences),
        "seed": seed,
    })
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
