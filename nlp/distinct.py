"""Run a batch function over the distinct items of a sequence only."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def each_distinct(items: Sequence[T], work: Callable[[list[T]], Sequence[R]],
                  key: Callable[[T], Hashable] | None = None) -> list[R]:
    """`work` over the first item of each distinct `key` (the item itself by default), its
    results handed back to every occurrence. For pure per-item models and rules: in a night,
    short sentences, greetings and agent scripts repeat. No call when `items` is empty."""
    position: dict[Any, int] = {}
    firsts: list[T] = []
    keys = [item if key is None else key(item) for item in items]
    for item, k in zip(items, keys, strict=True):
        if k not in position:
            position[k] = len(firsts)
            firsts.append(item)
    results = work(firsts) if firsts else []
    return [results[position[k]] for k in keys]
