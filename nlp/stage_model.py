"""The classifier for sentences without a stage cue: trained from the taxonomy's examples and
cue-labelled sentences, saved as a versioned artifact with its card."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import joblib
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from nlp.errors import ModelNotFoundError
from nlp.journey import UNKNOWN, JourneyTagger, Taxonomy

log = logging.getLogger(__name__)
ARTIFACT = "model.joblib"
META = "meta.json"


def _split(text: str) -> list[str]:
    return text.split()


def new_pipeline(seed: int = 0) -> Pipeline:
    """Character 1-3-grams catch cue fragments in unseen wording; jieba words catch context."""
    features = FeatureUnion([
        ("chars", TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True,
                                  min_df=1, max_features=200000)),
        ("words", TfidfVectorizer(analyzer=_split, sublinear_tf=True, min_df=1)),
    ])
    return Pipeline([
        ("features", features),
        ("clf", LogisticRegression(C=3.0, max_iter=3000, class_weight="balanced",
                                   random_state=seed)),
    ])


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


def fit_stage_model(texts: Sequence[str], labels: Sequence[str], seed: int = 0) -> Pipeline:
    return new_pipeline(seed).fit(list(texts), list(labels))


def taxonomy_only_model(taxonomy: Taxonomy, tokenize) -> Pipeline:
    """The fallback when no trained stage model is configured: examples and cues only."""
    return fit_stage_model(*taxonomy_examples(taxonomy, tokenize))


def save_stage_model(model: Pipeline, directory: Path, card: dict) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, directory / ARTIFACT, compress=3)
    card = {**card, "saved_at": datetime.now(UTC).isoformat(timespec="seconds")}
    (directory / META).write_text(json.dumps(card, ensure_ascii=False, indent=2), encoding="utf-8")


def load_stage_model(directory: Path) -> Pipeline:
    path = Path(directory) / ARTIFACT
    if not path.is_file():
        raise ModelNotFoundError(
            f"stage model '{path}' not found; train it with `voc train stages` or unset "
            "journey.model_dir to use the taxonomy-only fallback"
        )
    return joblib.load(path)
