"""The learned clause model: journey stage (or none) and polarity of each clause of a sentence.

The rules of nlp/mentions.py place mentions by cue phrases and score them with the sentiment
backend and word lists; on feedback they were not tuned on they miss or misread about a third of
the (stage, polarity) pairs. This model is trained on hand-labelled clauses
(data/labelled/mention_clauses.csv.gz) and reads, for each clause, its characters and words, and
what the rules say about it and its neighbours: the cue stage, the stage and polarity of the rule
mention it lies in, and whether it opens a contrast, asks, waits or states a promise; and the
words of the clauses before and after it. It relabels each clause; nlp/mentions.py then joins
adjacent clauses of the same stage and polarity into mentions. So the rules are its features, not
its rivals: where they are right the model learns to trust them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from nlp.errors import ModelNotFoundError
from nlp.stage_model import _char_grams, _split

ARTIFACT = "model.joblib"
META = "meta.json"
NONE = "none"  # the class of a clause about no stage
POLARITIES = ("negative", "neutral", "positive")


@dataclass(slots=True)
class ClauseInput:
    """One clause as the model reads it: its text and the rules' view as feature words."""

    text: str
    features: list[str] = field(default_factory=list)

    def meta(self) -> str:
        return " ".join(self.features)


def _features() -> ColumnTransformer:
    return ColumnTransformer([
        ("chars", Pipeline([
            # 2**16: a model file of a few MB; 2**18 was 11 MB for the same held-out figures
            ("hash", HashingVectorizer(analyzer=_char_grams, n_features=2**16,
                                       alternate_sign=False, norm=None)),
            ("tfidf", TfidfTransformer(sublinear_tf=True)),
        ]), "text"),
        ("meta", TfidfVectorizer(analyzer=_split, sublinear_tf=True, min_df=2), "meta"),
    ])


def _classifier(c: float, seed: int) -> LogisticRegression:
    return LogisticRegression(C=c, max_iter=3000, class_weight="balanced", random_state=seed)


def as_frame(inputs: Sequence[ClauseInput]) -> pd.DataFrame:
    return pd.DataFrame({"text": [i.text for i in inputs], "meta": [i.meta() for i in inputs]})


@dataclass
class ClauseModel:
    """Two classifiers over the same features: stage (taxonomy stages and `none`) and polarity
    (negative, neutral, positive)."""

    features: ColumnTransformer
    stage: LogisticRegression
    polarity: LogisticRegression
    card: dict[str, Any] = field(default_factory=dict)

    def predict(self, inputs: Sequence[ClauseInput]) -> list[tuple[str, float, str, float, float]]:
        """(stage, its probability, polarity, its probability, P(positive) - P(negative)) per
        clause."""
        if not inputs:
            return []
        x = self.features.transform(as_frame(inputs))
        stage_p = self.stage.predict_proba(x)
        polarity_p = self.polarity.predict_proba(x)
        stages = self.stage.classes_
        polarities = list(self.polarity.classes_)
        pos, neg = polarities.index("positive"), polarities.index("negative")
        out = []
        for sp, pp in zip(stage_p, polarity_p, strict=True):
            s, p = int(np.argmax(sp)), int(np.argmax(pp))
            out.append((str(stages[s]), float(sp[s]), str(polarities[p]), float(pp[p]),
                        float(pp[pos] - pp[neg])))
        return out


def fit_clause_model(inputs: Sequence[ClauseInput], stages: Sequence[str],
                     polarities: Sequence[str], c: float = 8.0, seed: int = 13,
                     card: dict[str, Any] | None = None) -> ClauseModel:
    features = _features()
    x = features.fit_transform(as_frame(inputs))
    heads = [_classifier(c, seed).fit(x, list(y)) for y in (stages, polarities)]
    for head in heads:  # float32 weights: half the file, the same labels
        head.coef_ = head.coef_.astype(np.float32)
    return ClauseModel(features, *heads, dict(card or {}))


def save_clause_model(model: ClauseModel, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, directory / ARTIFACT, compress=3)
    card = {**model.card, "saved_at": datetime.now(UTC).isoformat(timespec="seconds")}
    (directory / META).write_text(json.dumps(card, ensure_ascii=False, indent=2),
                                  encoding="utf-8")


def load_clause_model(directory: Path) -> ClauseModel:
    path = Path(directory) / ARTIFACT
    if not path.is_file():
        raise ModelNotFoundError(
            f"clause model '{path}' not found; train it with `voc train clauses` or set "
            "mentions.clause_model to null to place mentions by the rules alone")
    return joblib.load(path)
