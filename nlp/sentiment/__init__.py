"""Sentence sentiment behind one interface; backends are chosen by registry name in config."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nlp.errors import ConfigError
from nlp.sentiment.base import LABELS, SentimentBackend, SentimentResult


def _v1(options: dict[str, Any]) -> SentimentBackend:
    from nlp.sentiment import v1

    return v1.load(options.get("model_dir", "models/sentiment-zh-v1"), options.get("threads"))


def _transformers(options: dict[str, Any]) -> SentimentBackend:
    from nlp.sentiment.hf import TransformersBackend

    if "model_dir" not in options:
        raise ConfigError("sentiment.options.model_dir: the transformers backend needs the path "
                          "of a local checkpoint directory")
    return TransformersBackend(**options)


REGISTRY: dict[str, Callable[[dict[str, Any]], SentimentBackend]] = {
    "voc.sentiment.v1": _v1,
    "transformers": _transformers,
}


def load_backend(name: str, options: dict[str, Any] | None = None) -> SentimentBackend:
    """The backend registered as `name`, built from its `options` (config: sentiment.options)."""
    if name not in REGISTRY:
        raise ConfigError(f"sentiment.backend: unknown backend '{name}' "
                          f"(known: {', '.join(sorted(REGISTRY))})")
    try:
        return REGISTRY[name](dict(options or {}))
    except TypeError as exc:
        raise ConfigError(f"sentiment.options for '{name}': {exc}") from exc


__all__ = ["LABELS", "REGISTRY", "SentimentBackend", "SentimentResult", "load_backend"]
