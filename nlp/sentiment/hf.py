"""`transformers`: any local Hugging Face sequence-classification checkpoint directory.

The label of each output index comes from the checkpoint's `config.id2label`; names like
"negative", "neg", "LABEL_0" (binary: 0 negative, 1 positive), "1 star".."5 stars" are mapped to
the three product labels. Nothing is ever downloaded: `local_files_only=True`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nlp.errors import ModelNotFoundError, VocError
from nlp.sentiment.base import LABELS, SentimentResult

_NAMES = {
    "negative": "negative", "neg": "negative", "bad": "negative", "消极": "negative",
    "负面": "negative", "差评": "negative",
    "neutral": "neutral", "neu": "neutral", "中性": "neutral", "none": "neutral",
    "positive": "positive", "pos": "positive", "good": "positive", "积极": "positive",
    "正面": "positive", "好评": "positive",
}


def map_labels(id2label: dict[int, str]) -> list[str]:
    """One product label per output index, from the checkpoint's own label names."""
    n = len(id2label)
    mapped = []
    for index in range(n):
        name = str(id2label[index]).strip().lower()
        stars = re.match(r"^(\d)\s*stars?$", name)
        generic = re.fullmatch(r"label_(\d+)", name)
        if name in _NAMES:
            mapped.append(_NAMES[name])
        elif stars:
            value = int(stars.group(1))
            mapped.append("negative" if value <= 2 else "neutral" if value == 3 else "positive")
        elif generic and n in (2, 3):
            order = ("negative", "positive") if n == 2 else LABELS
            mapped.append(order[int(generic.group(1))])
        else:
            raise VocError(f"cannot map the checkpoint label '{id2label[index]}' (index {index}) "
                           "to negative/neutral/positive; set sentiment.options.label_map")
    return mapped


class TransformersBackend:
    """Batching, truncation, thread count and optional int8 dynamic quantisation on CPU."""

    name = "transformers"

    def __init__(self, model_dir: str | Path, batch_size: int = 32, max_length: int = 128,
                 threads: int | None = None, quantize: bool = False,
                 label_map: dict[str, str] | None = None, neutral_band: float = 0.0) -> None:
        try:
            import torch
            from transformers import AutoModelForSequenceClassification, AutoTokenizer
        except ImportError as exc:  # pragma: no cover - both are dependencies
            from nlp.errors import MissingDependencyError

            raise MissingDependencyError(exc.name or "transformers", "the transformers backend") from exc
        path = Path(model_dir)
        if not (path / "config.json").is_file():
            raise ModelNotFoundError(f"no Hugging Face checkpoint in '{path}' (config.json missing); "
                                     "set sentiment.options.model_dir to a local directory")
        self.torch = torch
        if threads:
            torch.set_num_threads(threads)
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModelForSequenceClassification.from_pretrained(path, local_files_only=True)
        model.eval()
        if quantize:
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear},
                                                           dtype=torch.qint8)
        self.model = model
        id2label = {int(k): v for k, v in model.config.id2label.items()}
        if label_map:
            self.labels = [label_map.get(str(id2label[i]), "") for i in range(len(id2label))]
            bad = [id2label[i] for i, lab in enumerate(self.labels) if lab not in LABELS]
            if bad:
                raise VocError(f"sentiment.options.label_map does not map {bad} to "
                               "negative/neutral/positive")
        else:
            self.labels = map_labels(id2label)
        self.batch_size = batch_size
        self.max_length = max_length
        self.neutral_band = neutral_band
        self.version = f"{path.name}{'-int8' if quantize else ''}"

    def _probabilities(self, sentences: Sequence[str]) -> np.ndarray:
        rows = []
        with self.torch.inference_mode():
            for start in range(0, len(sentences), self.batch_size):
                chunk = list(sentences[start : start + self.batch_size])
                encoded = self.tokenizer(chunk, padding=True, truncation=True,
                                         max_length=self.max_length, return_tensors="pt")
                rows.append(self.model(**encoded).logits.softmax(-1).numpy())
        return np.concatenate(rows) if rows else np.zeros((0, len(self.labels)))

    def predict(self, sentences: Sequence[str]) -> list[SentimentResult]:
        if not sentences:
            return []
        probs = self._probabilities(sentences)
        results = []
        columns = {label: [i for i, lab in enumerate(self.labels) if lab == label]
                   for label in LABELS}
        for row in probs:
            per_label = {label: float(row[idx].sum()) for label, idx in columns.items()}
            score = per_label["positive"] - per_label["negative"]
            label = max(per_label, key=per_label.get)
            if abs(score) < self.neutral_band:
                label = "neutral"
            results.append(SentimentResult(label, round(score, 4), round(per_label[label], 4)))
        return results
