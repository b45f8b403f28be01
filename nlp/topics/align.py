"""Stable topic ids across refits: match new topics to old ones and record the lineage.

Both models assign the same documents (the refit corpus). Old topic i and new topic j are similar
when they share documents (Jaccard of their member sets) and keywords (cosine of c-TF-IDF
weights). Hungarian matching on that similarity keeps an old id for the best new partner above a
threshold; the other new topics get fresh ids. Lineage says which old ids split or merged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from nlp.topics.types import OUTLIER


@dataclass(frozen=True, slots=True)
class LineageEdge:
    old_topic_id: int | None
    new_topic_id: int | None  # stable id after alignment
    relation: str  # kept | split | merged | replaced | new | retired
    similarity: float
    shared_docs: int


def keyword_cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    dot = sum(w * b.get(k, 0.0) for k, w in a.items())
    norm = np.sqrt(sum(w * w for w in a.values())) * np.sqrt(sum(w * w for w in b.values()))
    return float(dot / norm) if norm else 0.0


def align_topics(old_assign: Sequence[int], new_assign: Sequence[int],
                 old_keywords: Mapping[int, Mapping[str, float]],
                 new_keywords: Mapping[int, Mapping[str, float]], next_id: int,
                 threshold: float = 0.3, min_share: float = 0.2,
                 ) -> tuple[dict[int, int], list[LineageEdge], int]:
    """Map new (internal) topic ids to stable ids. Returns the map, the lineage edges and the
    next free stable id. `old_assign` holds stable ids, `new_assign` internal ones, per document."""
    old_a, new_a = np.asarray(old_assign), np.asarray(new_assign)
    olds = sorted(set(old_keywords) | (set(old_a.tolist()) - {OUTLIER}))
    news = sorted(set(new_keywords) | (set(new_a.tolist()) - {OUTLIER}))
    shared = np.zeros((len(olds), len(news)), dtype=np.int64)
    sim = np.zeros_like(shared, dtype=np.float64)
    old_sizes = {o: int(np.sum(old_a == o)) for o in olds}
    new_sizes = {n: int(np.sum(new_a == n)) for n in news}
    for i, o in enumerate(olds):
        in_old = old_a == o
        for j, n in enumerate(news):
            both = int(np.sum(in_old & (new_a == n)))
            union = old_sizes[o] + new_sizes[n] - both
            shared[i, j] = both
            jaccard = both / union if union else 0.0
            sim[i, j] = 0.5 * jaccard + 0.5 * keyword_cosine(old_keywords.get(o, {}),
                                                             new_keywords.get(n, {}))
    mapping: dict[int, int] = {}
    matched: set[tuple[int, int]] = set()
    if olds and news:
        rows, cols = linear_sum_assignment(-sim)
        for i, j in zip(rows, cols, strict=True):
            if sim[i, j] >= threshold:
                mapping[news[j]] = olds[i]
                matched.add((i, j))
    for n in news:
        if n not in mapping:
            mapping[n] = next_id
            next_id += 1
    linked = [(i, j) for i in range(len(olds)) for j in range(len(news))
              if (i, j) in matched or (shared[i, j] > 0 and (
                  shared[i, j] >= min_share * max(old_sizes[olds[i]], 1)
                  or shared[i, j] >= min_share * max(new_sizes[news[j]], 1)))]
    out_degree = {i: sum(1 for a, _ in linked if a == i) for i in range(len(olds))}
    in_degree = {j: sum(1 for _, b in linked if b == j) for j in range(len(news))}
    edges = []
    for i, j in linked:
        if in_degree[j] > 1:
            relation = "merged"
        elif out_degree[i] > 1:
            relation = "split"
        else:
            relation = "kept" if (i, j) in matched else "replaced"
        edges.append(LineageEdge(olds[i], mapping[news[j]], relation, round(float(sim[i, j]), 4),
                                 int(shared[i, j])))
    edges += [LineageEdge(None, mapping[n], "new", 0.0, 0)
              for j, n in enumerate(news) if in_degree[j] == 0]
    edges += [LineageEdge(o, None, "retired", 0.0, 0)
              for i, o in enumerate(olds) if out_degree[i] == 0]
    return mapping, edges, next_id
