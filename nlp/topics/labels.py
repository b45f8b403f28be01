"""Readable Chinese topic labels from ranked keywords."""

from __future__ import annotations

from collections.abc import Collection, Sequence

FALLBACK_LABEL = "其他"


def clean_keywords(keywords: Sequence[str], stopwords: Collection[str] = ()) -> list[str]:
    """Keywords a researcher can read: no single characters, no stop words, no bigram made of a
    stop word, no repeated word ('说 说'); order kept."""
    out: list[str] = []
    for word in keywords:
        parts = word.split()
        compact = "".join(parts)
        if len(compact) < 2 or any(p in stopwords for p in parts) or len(set(parts)) < len(parts):
            continue
        if len(parts) == 1 and len(compact) < 2:
            continue
        out.append(word)
    return out


def readable_label(keywords: Sequence[str], n: int = 3, stopwords: Collection[str] = ()) -> str:
    """A short label: the top `n` cleaned keywords joined by '·'. A bigram replaces a unigram it
    contains (it says more); overlapping keywords are not repeated; every part has >= 2 chars."""
    chosen: list[str] = []
    for word in clean_keywords(keywords, stopwords):
        compact = word.replace(" ", "")
        if any(compact in c for c in chosen):
            continue
        inside = [c for c in chosen if c in compact]
        if inside:
            chosen[chosen.index(inside[0])] = compact
            chosen = [c for c in chosen if c == compact or c not in compact]
            continue
        if len(chosen) < n:
            chosen.append(compact)
    return "·".join(chosen) if chosen else FALLBACK_LABEL
