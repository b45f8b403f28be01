"""Gold labels as users' exports write them -> the product's labels."""

from __future__ import annotations

from collections.abc import Sequence

from nlp.errors import VocError

_ALIASES = {
    "negative": "negative", "neg": "negative", "-1": "negative", "负面": "negative",
    "消极": "negative", "差评": "negative",
    "neutral": "neutral", "neu": "neutral", "中性": "neutral",
    "positive": "positive", "pos": "positive", "正面": "positive", "积极": "positive",
    "好评": "positive",
}


def normalize_labels(raw: Sequence[str], label_map: dict[str, str] | None = None) -> tuple[list[str], bool]:
    """(labels, binary). 0/1 means negative/positive; a user `label_map` ("2" -> "negative")
    overrides everything. `binary` is true when no gold label is neutral, so the data can only
    be scored as negative vs non-negative."""
    values = [str(v).strip().lower() for v in raw]
    if label_map:
        mapping = {str(k).strip().lower(): v for k, v in label_map.items()}
    elif set(values) <= {"0", "1"}:
        mapping = {"0": "negative", "1": "positive"}
    else:
        mapping = _ALIASES
    labels = []
    for row, value in enumerate(values, start=2):
        if value not in mapping or mapping[value] not in ("negative", "neutral", "positive"):
            raise VocError(f"label '{raw[row - 2]}' in data row {row} is not a sentiment label "
                           "(use negative/neutral/positive, neg/pos, 0/1 or --label-map)")
        labels.append(mapping[value])
    return labels, "neutral" not in labels


def parse_label_map(text: str | None) -> dict[str, str] | None:
    """'0=positive,1=neutral,2=negative' -> dict."""
    if not text:
        return None
    pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
    if any(len(p) != 2 for p in pairs):
        raise VocError(f"--label-map '{text}' must look like 0=negative,1=positive")
    return {k.strip(): v.strip() for k, v in pairs}
