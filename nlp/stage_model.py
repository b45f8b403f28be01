"""The classifier for sentences without a stage cue (and for ambiguous cue results): trained from
the taxonomy's examples, hand-labelled sentences and cue-labelled sentences, its thresholds
calibrated by cross-validation, saved as a versioned artifact with its card."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline

from nlp.errors import ModelNotFoundError
from nlp.journey import UNKNOWN, JourneyTagger, Taxonomy, decide

log = logging.getLogger(__name__)
ARTIFACT = "model.joblib"
META = "meta.json"
NO_STAGE = ("none", "")  # labels of hand-labelled sentences that belong to no stage
MIN_CONFIDENCE_GRID = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6)
OVERRIDE_GRID = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, None)  # None: never overrule a cue


def _split(text: str) -> list[str]:
    return text.split()


def _char_grams(text: str) -> list[str]:
    """Character 1-, 2- and 3-grams of the space-joined tokens."""
    grams = list(text)
    grams.extend(text[i:i + 2] for i in range(len(text) - 1))
    grams.extend(text[i:i + 3] for i in range(len(text) - 2))
    return grams


def new_pipeline(seed: int = 0, c: float = 10.0) -> Pipeline:
    """Character 1-3-grams catch cue fragments in unseen wording; jieba words catch context.
    The character grams are hashed (no vocabulary look-ups): the tagger consults the model for
    every sentence without a clear cue, about half of a night's sentences."""
    chars = Pipeline([
        ("hash", HashingVectorizer(analyzer=_char_grams, n_features=2**18, alternate_sign=False,
                                   norm=None)),
        ("tfidf", TfidfTransformer(sublinear_tf=True)),
    ])
    features = FeatureUnion([
        ("chars", chars),
        ("words", TfidfVectorizer(analyzer=_split, sublinear_tf=True, min_df=1)),
    ])
    return Pipeline([
        ("features", features),
        ("clf", LogisticRegression(C=c, max_iter=3000, class_weight="balanced",
                                   random_state=seed)),
    ])


@dataclass
class StageModel:
    """The fitted pipeline and the thresholds calibrated for it (`nlp.journey.decide`)."""

    pipeline: Pipeline
    override_confidence: float | None = None
    min_confidence: float | None = None  # calibrated; the tagger uses journey.min_confidence
    calibration: dict[str, Any] = field(default_factory=dict)

    @property
    def classes_(self) -> Any:
        return self.pipeline.classes_

    def predict_proba(self, texts: list[str]) -> Any:
        return self.pipeline.predict_proba(texts)


def as_model_input(tokens: Sequence[str]) -> str:
    """The classifier reads space-joined jieba tokens (chars are taken from the same string)."""
    return " ".join(tokens)


def cue_labelled(tagger: JourneyTagger, sentences: Sequence[list[str]]) -> tuple[list[str], list[str]]:
    """Sentences whose cues all point to one stage, labelled with it. Each one is also added with
    its cue tokens removed, so the model learns the context around cues, not only the cues."""
    texts, labels = [], []
    for tokens, result in zip(sentences, tagger.match(sentences), strict=True):
        if result.method != "cue" or len(result.stages) != 1:
            continue
        texts.append(as_model_input(tokens))
        labels.append(result.stage)
        context = [t for t in tokens if t.lower() not in result.cue_tokens]
        if len(context) >= 2:
            texts.append(as_model_input(context))
            labels.append(result.stage)
    return texts, labels


def taxonomy_examples(taxonomy: Taxonomy, tokenize) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for key, spec in taxonomy.stages.items():
        for text in [*spec.examples, *spec.cues]:
            texts.append(as_model_input(tokenize(text)))
            labels.append(key)
    for text in taxonomy.no_stage_examples:
        texts.append(as_model_input(tokenize(text)))
        labels.append(UNKNOWN)
    return texts, labels


def stage_label(label: str, taxonomy: Taxonomy) -> str | None:
    """A hand label as a model class: `none` (or empty) is the no-stage class; a stage the
    taxonomy lacks gives None (the sentence is left out)."""
    label = label.strip()
    if label in NO_STAGE or label == UNKNOWN:
        return UNKNOWN
    return label if label in taxonomy.stages else None


def _spans(text: str, size: int) -> set[str]:
    text = "".join(text.split())
    return {text[i:i + size] for i in range(len(text) - size + 1)}


def decontaminate(texts: Sequence[str], evaluation: Iterable[str], span: int = 10) -> list[int]:
    """Indexes of the training texts that share no `span`-character stretch with any evaluation
    text (near-duplicates of a test sentence must not be trained on)."""
    seen: set[str] = set()
    for text in evaluation:
        seen |= _spans(text, span)
    return [i for i, text in enumerate(texts) if not (_spans(text, span) & seen)]


def fit_stage_model(texts: Sequence[str], labels: Sequence[str], seed: int = 0,
                    weights: Sequence[float] | None = None) -> Pipeline:
    sample_weight = None if weights is None else np.asarray(weights, dtype=float)
    return new_pipeline(seed).fit(list(texts), list(labels), clf__sample_weight=sample_weight)


def calibrate_thresholds(
    base: tuple[Sequence[str], Sequence[str]],
    labelled: Sequence[list[str]], labels: Sequence[str],
    cue_tagger: JourneyTagger, seed: int = 0, folds: int = 5,
    labelled_weight: float = 1.0,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """min_confidence and override_confidence that give the best macro F1 of the whole tagger
    (cues + model, `decide`) on hand-labelled sentences the model was not trained on: k-fold
    cross-validation over `labelled` (token lists) while `base` (texts, labels: taxonomy
    examples and cue-labelled sentences) is always in training. Ties go to the higher,
    more cautious thresholds."""
    base_texts, base_labels = list(base[0]), list(base[1])
    inputs = [as_model_input(t) for t in labelled]
    y = np.asarray(labels)
    probs: list[Any] = [None] * len(inputs)
    classes = None
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for number, (train, test) in enumerate(splitter.split(inputs, y)):
        model = fit_stage_model(base_texts + [inputs[i] for i in train],
                                base_labels + [labels[i] for i in train], seed,
                                [1.0] * len(base_texts) + [labelled_weight] * len(train))
        classes = model.classes_
        for i, p in zip(test, model.predict_proba([inputs[i] for i in test]), strict=True):
            probs[i] = p
        if progress:
            progress(number)
    cue_results = cue_tagger.match(labelled)
    open_to_model = [r.method == "none" or cue_tagger.overridable(r) for r in cue_results]
    scores = {}
    for min_conf in MIN_CONFIDENCE_GRID:
        for override in OVERRIDE_GRID:
            predicted = [decide(r, p, classes, min_conf, override).stage if open_ else r.stage
                         for r, p, open_ in zip(cue_results, probs, open_to_model, strict=True)]
            scores[(min_conf, override)] = f1_score(y, predicted, average="macro", zero_division=0)
    best = max(scores.values())
    # cautious on ties: the highest min_confidence, then the highest override (None = never)
    min_conf, override = max((k for k, v in scores.items() if v >= best - 1e-9),
                             key=lambda k: (k[0], 2.0 if k[1] is None else k[1]))
    return {
        "min_confidence": min_conf,
        "override_confidence": override,
        "cv_macro_f1": round(best, 4),
        "cv_macro_f1_no_override": round(scores[(min_conf, None)], 4),
        "folds": folds,
        "n_labelled": len(inputs),
    }


def taxonomy_only_model(taxonomy: Taxonomy, tokenize) -> Pipeline:
    """The fallback when no trained stage model is configured: examples and cues only."""
    return fit_stage_model(*taxonomy_examples(taxonomy, tokenize))


def save_stage_model(model: StageModel | Pipeline, directory: Path, card: dict) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, directory / ARTIFACT, compress=3)
    card = {**card, "saved_at": datetime.now(UTC).isoformat(timespec="seconds")}
    (directory / META).write_text(json.dumps(card, ensure_ascii=False, indent=2), encoding="utf-8")


def load_stage_model(directory: Path) -> StageModel | Pipeline:
    path = Path(directory) / ARTIFACT
    if not path.is_file():
        raise ModelNotFoundError(
            f"stage model '{path}' not found; train it with `voc train stages` or unset "
            "journey.model_dir to use the taxonomy-only fallback"
        )
    return joblib.load(path)
