"""Topic quality without labels (NPMI coherence, diversity) and against labels (NMI, ARI)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache
from itertools import combinations

from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score


def npmi_coherence(topic_words: Sequence[Sequence[str]], docs: Sequence[Sequence[str]],
                   top_n: int = 10) -> float:
    """Mean NPMI of word pairs among each topic's top words, with document co-occurrence over the
    given tokenised documents (bigram keywords count when both parts occur). In [-1, 1]."""
    sets = [frozenset(d) for d in docs]
    n = len(sets)
    if not n:
        return 0.0

    @cache
    def freq(*words: str) -> int:
        parts = [p for w in words for p in w.split()]
        return sum(1 for s in sets if all(p in s for p in parts))

    scores = []
    for words in topic_words:
        top = list(words)[:top_n]
        for a, b in combinations(top, 2):
            pa, pb, pab = freq(a) / n, freq(b) / n, freq(a, b) / n
            if pab == 0 or pa == 0 or pb == 0:
                scores.append(-1.0)
            elif pab == 1:
                scores.append(1.0)
            else:
                scores.append(math.log(pab / (pa * pb)) / -math.log(pab))
    return float(sum(scores) / len(scores)) if scores else 0.0


def topic_diversity(topic_words: Sequence[Sequence[str]], top_n: int = 10) -> float:
    """Share of unique words among all topics' top words (1.0 = no word shared)."""
    words = [w for ws in topic_words for w in list(ws)[:top_n]]
    return len(set(words)) / len(words) if words else 0.0


def agreement(labels: Sequence[str], topics: Sequence[int]) -> dict[str, float]:
    return {"nmi": float(normalized_mutual_info_score(labels, topics)),
            "ari": float(adjusted_rand_score(labels, topics))}
