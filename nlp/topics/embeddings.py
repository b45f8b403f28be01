"""Sentence embeddings for topic modelling behind one small interface.

The default needs no download: TF-IDF over jieba tokens and character n-grams reduced by SVD.
A sentence-transformers model from a local directory can replace it in config.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import Normalizer

from nlp.errors import MissingDependencyError, ModelNotFoundError


class EmbeddingBackend(Protocol):
    name: str

    def fit(self, texts: Sequence[str]) -> EmbeddingBackend: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class TfidfSvdEmbedder:
    """Latent semantic vectors: word (space-joined jieba tokens) and char n-gram TF-IDF -> SVD."""

    name = "tfidf-svd"

    def __init__(self, dim: int = 64, seed: int = 42) -> None:
        self.dim = dim
        self.seed = seed
        self.pipeline: Pipeline | None = None

    def fit(self, texts: Sequence[str]) -> TfidfSvdEmbedder:
        features = FeatureUnion(
            [
                ("words", TfidfVectorizer(analyzer=str.split, sublinear_tf=True, min_df=2)),
                (
                    "chars",
                    TfidfVectorizer(
                        analyzer="char", ngram_range=(2, 3), sublinear_tf=True, min_df=2,
                        max_features=50000,
                    ),
                ),
            ]
        )
        n_features_cap = max(2, min(self.dim, len(texts) - 1))
        self.pipeline = Pipeline(
            [
                ("tfidf", features),
                ("svd", TruncatedSVD(n_components=n_features_cap, random_state=self.seed)),
                ("norm", Normalizer()),
            ]
        ).fit(list(texts))
        return self

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if self.pipeline is None:
            raise RuntimeError("TfidfSvdEmbedder.embed called before fit")
        return self.pipeline.transform(list(texts)).astype(np.float32)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model saved in a local directory (e.g. a Chinese BGE model)."""

    name = "sentence-transformers"

    def __init__(self, model_dir: Path, batch_size: int = 64) -> None:
        if not Path(model_dir).is_dir():
            raise ModelNotFoundError(
                f"sentence-transformers model directory '{model_dir}' does not exist; set "
                "topics.embedding_model_dir to a local model directory"
            )
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise MissingDependencyError("sentence-transformers", "topics.embedding") from exc
        self.model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
        self.batch_size = batch_size

    def fit(self, texts: Sequence[str]) -> SentenceTransformerEmbedder:
        return self  # pretrained: nothing to fit

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True,
            show_progress_bar=False,
        )


def make_embedder(kind: str, dim: int, seed: int, model_dir: Path | None) -> EmbeddingBackend:
    if kind == "tfidf-svd":
        return TfidfSvdEmbedder(dim=dim, seed=seed)
    if kind == "sentence-transformers":
        if model_dir is None:
            raise ModelNotFoundError("topics.embedding is sentence-transformers but "
                                     "topics.embedding_model_dir is not set")
        return SentenceTransformerEmbedder(model_dir)
    raise ValueError(f"unknown topic embedding backend '{kind}'")
