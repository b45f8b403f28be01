"""BERTopic over jieba tokens: fit, assign topics, readable Chinese labels and verbatims."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from bertopic import BERTopic
from bertopic.vectorizers import ClassTfidfTransformer
from hdbscan import HDBSCAN
from sklearn.decomposition import PCA
from sklearn.feature_extraction.text import CountVectorizer

from nlp.topics.embeddings import EmbeddingBackend

log = logging.getLogger(__name__)
OUTLIER = -1


@dataclass(frozen=True, slots=True)
class TopicInfo:
    topic_id: int
    label: str
    keywords: list[str]
    size: int
    representative: list[int]  # indices into the fitted documents


def _split(doc: str) -> list[str]:
    return doc.split()


def build_bertopic(min_topic_size: int, top_n_words: int, seed: int, n_docs: int) -> BERTopic:
    """BERTopic with pieces chosen for Chinese customer sentences on a CPU:
    PCA instead of UMAP (deterministic, no JIT start-up), HDBSCAN, and a vectoriser over the
    already-segmented jieba tokens with uni- and bi-grams of words."""
    vectorizer = CountVectorizer(
        tokenizer=_split, token_pattern=None, lowercase=False, ngram_range=(1, 2),
        min_df=2 if n_docs >= 50 else 1,
    )
    return BERTopic(
        language="multilingual",
        top_n_words=top_n_words,
        min_topic_size=min_topic_size,
        umap_model=PCA(n_components=min(10, max(2, n_docs // 10)), random_state=seed),
        hdbscan_model=HDBSCAN(
            min_cluster_size=min_topic_size, min_samples=max(2, min_topic_size // 3),
            metric="euclidean", cluster_selection_method="eom", prediction_data=True,
        ),
        vectorizer_model=vectorizer,
        ctfidf_model=ClassTfidfTransformer(reduce_frequent_words=True),
        calculate_probabilities=False,
    )


class TopicModel:
    """Fits topics on space-joined content tokens of customer sentences."""

    def __init__(self, embedder: EmbeddingBackend, min_topic_size: int = 12, top_n_words: int = 8,
                 seed: int = 42) -> None:
        self.embedder = embedder
        self.min_topic_size = min_topic_size
        self.top_n_words = top_n_words
        self.seed = seed
        self.model: BERTopic | None = None

    def fit_transform(self, docs: Sequence[str]) -> list[int]:
        """Topic id per document; -1 marks outliers that no topic explains."""
        docs = list(docs)
        if len(docs) < max(2 * self.min_topic_size, 10):
            log.warning("only %d documents: too few to fit topics, all marked outlier", len(docs))
            return [OUTLIER] * len(docs)
        embeddings = self.embedder.fit(docs).embed(docs)
        self.model = build_bertopic(self.min_topic_size, self.top_n_words, self.seed, len(docs))
        topics, _ = self.model.fit_transform(docs, embeddings=embeddings)
        if OUTLIER in topics and len(set(topics)) > 1:
            topics = self.model.reduce_outliers(docs, topics, strategy="c-tf-idf", threshold=0.1)
            self.model.update_topics(docs, topics=topics, top_n_words=self.top_n_words,
                                     vectorizer_model=self.model.vectorizer_model)
        self._embeddings = embeddings
        self._topics = np.asarray(topics)
        return [int(t) for t in topics]

    def topics(self) -> list[TopicInfo]:
        if self.model is None:
            return []
        out = []
        for topic_id, words in sorted(self.model.get_topics().items()):
            if topic_id == OUTLIER:
                continue
            keywords = [w for w, score in words if w and score > 0]
            members = np.flatnonzero(self._topics == topic_id)
            if members.size == 0:
                continue
            out.append(
                TopicInfo(topic_id, readable_label(keywords), keywords, int(members.size),
                          self._closest_to_centroid(members))
            )
        return out

    def _closest_to_centroid(self, members: np.ndarray, k: int = 3) -> list[int]:
        vectors = self._embeddings[members]
        centroid = vectors.mean(axis=0)
        order = np.argsort(-(vectors @ centroid), kind="stable")
        return [int(members[i]) for i in order[:k]]


def readable_label(keywords: Sequence[str], n: int = 3) -> str:
    """A short Chinese label from the top keywords: bigrams first when they contain a unigram
    already chosen, no single characters, no repeats."""
    chosen: list[str] = []
    for word in keywords:
        compact = word.replace(" ", "")
        if len(compact) < 2 or any(compact in c or c in compact for c in chosen):
            continue
        chosen.append(compact)
        if len(chosen) == n:
            break
    return "·".join(chosen) if chosen else "其他"
