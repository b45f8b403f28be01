"""BERTopic over jieba tokens: fit on a capped sample, transform the rest, keywords and centroids.

Topic ids here are BERTopic's own (0..n-1 by size, -1 outlier); stable ids across runs are the
business of `nlp.topics.align` and the store in `flows/topic_store.py`.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
from bertopic import BERTopic
from bertopic.backend import BaseEmbedder
from bertopic.dimensionality import BaseDimensionalityReduction
from bertopic.vectorizers import ClassTfidfTransformer
from hdbscan import HDBSCAN
from sklearn.decomposition import PCA

from nlp.topics.embeddings import EmbeddingBackend
from nlp.topics.predict import approximate_predict
from nlp.topics.types import OUTLIER
from nlp.topics.vectorizer import build_vectorizer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TopicParams:
    """The knobs that shape the topics (TopicSettings in nlp/config.py holds their defaults)."""

    min_topic_size: int = 8
    min_samples: int | None = None  # None: min_topic_size // 3, at least 2
    cluster_selection: str = "eom"
    reduce_dim: int = 0  # 0: cluster the (L2-normalised) embeddings directly; else PCA to n dims
    top_n_words: int = 10
    outlier_threshold: float = 0.1  # c-TF-IDF similarity needed to pull an outlier into a topic
    fit_max_docs: int = 20000
    seed: int = 42


class BackendAdapter(BaseEmbedder):
    """Our embedding backend seen as a BERTopic embedder (guided topics embed the seed words)."""

    def __init__(self, backend: EmbeddingBackend) -> None:
        super().__init__()
        self.backend = backend

    def embed(self, documents, verbose: bool = False) -> np.ndarray:
        return self.backend.embed(list(documents))


def build_bertopic(params: TopicParams, n_docs: int, stopwords: Collection[str],
                   embedder: EmbeddingBackend, seeds: list[list[str]] | None) -> BERTopic:
    """PCA (or nothing) instead of UMAP: deterministic and no JIT start-up; HDBSCAN; the jieba
    keyword vectoriser; c-TF-IDF that damps words every topic shares."""
    reducer = (PCA(n_components=min(params.reduce_dim, max(2, n_docs // 10)),
                   random_state=params.seed)
               if params.reduce_dim else BaseDimensionalityReduction())
    min_samples = params.min_samples or max(2, params.min_topic_size // 3)
    return BERTopic(
        language="multilingual",
        embedding_model=BackendAdapter(embedder),
        top_n_words=params.top_n_words,
        min_topic_size=params.min_topic_size,
        umap_model=reducer,
        hdbscan_model=HDBSCAN(
            min_cluster_size=params.min_topic_size, min_samples=min_samples, metric="euclidean",
            cluster_selection_method=params.cluster_selection, prediction_data=True,
        ),
        vectorizer_model=build_vectorizer(stopwords, n_docs),
        ctfidf_model=ClassTfidfTransformer(reduce_frequent_words=True),
        seed_topic_list=seeds or None,
        calculate_probabilities=False,
    )


@dataclass
class Assignment:
    topics: list[int]  # BERTopic ids after outlier reduction, -1 = outlier
    raw_outlier_share: float  # share of documents HDBSCAN left as outliers before reduction
    embeddings: np.ndarray


class TopicModel:
    """A fitted BERTopic plus its embedder and per-topic centroids (picklable as one object)."""

    def __init__(self, embedder: EmbeddingBackend, params: TopicParams,
                 stopwords: Collection[str] = ()) -> None:
        self.embedder = embedder
        self.params = params
        self.stopwords = frozenset(stopwords)
        self.model: BERTopic | None = None
        self.centroids: dict[int, np.ndarray] = {}

    @property
    def fitted(self) -> bool:
        return self.model is not None

    def fit(self, docs: Sequence[str], seeds: list[list[str]] | None = None) -> Assignment | None:
        """Fit on at most `fit_max_docs` documents (a seeded sample) and assign every document.
        None when there are too few documents to find any topic."""
        docs = list(docs)
        p = self.params
        if len(docs) < max(2 * p.min_topic_size, 10):
            log.warning("only %d documents: too few to fit topics", len(docs))
            return None
        sample = np.arange(len(docs))
        if len(docs) > p.fit_max_docs:
            rng = np.random.default_rng(p.seed)
            sample = np.sort(rng.choice(len(docs), p.fit_max_docs, replace=False))
            log.info("fitting topics on a sample of %d of %d documents", sample.size, len(docs))
        fit_docs = [docs[i] for i in sample]
        embeddings = self.embedder.fit(fit_docs).embed(fit_docs)
        self.model = build_bertopic(p, len(fit_docs), self.stopwords, self.embedder, seeds)
        raw, _ = self.model.fit_transform(fit_docs, embeddings=embeddings.copy())
        raw = np.asarray(raw)
        if len(set(raw.tolist()) - {OUTLIER}) == 0:
            log.warning("no topic found in %d documents", len(docs))
            self.model = None
            return None
        topics = self._reduce_outliers(fit_docs, raw)
        self.centroids = {t: embeddings[topics == t].mean(axis=0)
                          for t in sorted(set(topics.tolist()) - {OUTLIER})}
        if sample.size == len(docs):
            return Assignment(topics.tolist(), float(np.mean(raw == OUTLIER)), embeddings)
        full = self.transform(docs)
        full.topics = np.asarray(full.topics)
        full.topics[sample] = topics
        full.topics = full.topics.tolist()
        return full

    def transform(self, docs: Sequence[str]) -> Assignment:
        """Assign documents to the fitted topics without refitting."""
        if self.model is None:
            raise RuntimeError("TopicModel.transform called before fit")
        docs = list(docs)
        if not docs:
            return Assignment([], 0.0, np.zeros((0, 1), dtype=np.float32))
        embeddings = self.embedder.embed(docs)
        raw = self._predict(docs, embeddings)
        topics = self._reduce_outliers(docs, raw)
        return Assignment(topics.tolist(), float(np.mean(raw == OUTLIER)), embeddings)

    def _predict(self, docs: list[str], embeddings: np.ndarray) -> np.ndarray:
        """BERTopic.transform's HDBSCAN path with nlp.topics.predict's neighbour search (same
        labels, about 30x faster on 64-dimensional embeddings); other cluster models go through
        BERTopic itself."""
        if not isinstance(self.model.hdbscan_model, HDBSCAN):
            raw, _ = self.model.transform(docs, embeddings=embeddings)
            return np.asarray(raw)
        reduced = self.model.umap_model.transform(embeddings)
        labels, _ = approximate_predict(self.model.hdbscan_model, reduced)
        return np.asarray(self.model._map_predictions(labels))

    def _reduce_outliers(self, docs: list[str], topics: np.ndarray) -> np.ndarray:
        if OUTLIER not in topics or not self.model._outliers:  # fitted without an outlier class
            return topics
        reduced = self.model.reduce_outliers(docs, topics.tolist(), strategy="c-tf-idf",
                                             threshold=self.params.outlier_threshold)
        return np.asarray(reduced)

    def keywords(self) -> dict[int, list[tuple[str, float]]]:
        """Top keywords with their c-TF-IDF weight per topic (outliers excluded)."""
        if self.model is None:
            return {}
        return {int(t): [(w, float(s)) for w, s in words if w and s > 0]
                for t, words in sorted(self.model.get_topics().items()) if t != OUTLIER}

    def representatives(self, topic: int, topics: Sequence[int], embeddings: np.ndarray,
                        k: int = 3) -> list[int]:
        """Indices of the `k` members closest to the topic's fitted centroid."""
        members = np.flatnonzero(np.asarray(topics) == topic)
        if members.size == 0:
            return []
        centroid = self.centroids.get(topic)
        if centroid is None:
            centroid = embeddings[members].mean(axis=0)
        order = np.argsort(-(embeddings[members] @ centroid), kind="stable")
        return [int(members[i]) for i in order[:k]]
