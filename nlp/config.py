"""Typed settings for the whole pipeline, loaded from YAML and validated before anything runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nlp.errors import ConfigError

DEFAULT_CONFIG = Path("configs/base/pipeline.yaml")
LOCAL_OVERRIDE = Path("configs/local/pipeline.yaml")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceSettings(Strict):
    enabled: bool = True
    path: str
    patterns: list[str]


class SourcesSettings(Strict):
    complaint: SourceSettings
    forum: SourceSettings
    chat: SourceSettings
    call: SourceSettings


class RunSettings(Strict):
    timezone: str = "Asia/Shanghai"
    input_dir: Path = Path("data/sample")
    output_dir: Path = Path("data/out")
    # Environment variable holding the salt for customer-id hashes (never the salt itself).
    salt_env: str = "VOC_SALT"


class NormalizeSettings(Strict):
    to_simplified: bool = True
    max_text_chars: int = Field(5000, gt=0)
    min_sentence_chars: int = Field(2, ge=1)


class SegmentSettings(Strict):
    engine: Literal["rjieba", "jieba"] = "rjieba"
    userdict: Path = Path("configs/base/userdict.txt")
    stopwords: Path = Path("configs/base/stopwords.txt")


class SentimentSettings(Strict):
    backend: str = "voc.sentiment.v1"
    options: dict[str, Any] = Field(default_factory=dict)


class JourneySettings(Strict):
    taxonomy: Path = Path("configs/base/journey.yaml")
    signals: Path = Path("configs/base/signals.yaml")
    min_confidence: float = Field(0.4, ge=0, le=1)
    # Trained classifier for sentences without a cue (`voc train stages`); None = fit one from the
    # taxonomy's examples and cues at start-up.
    model_dir: Path | None = None


class TopicSettings(Strict):
    embedding: Literal["tfidf-svd", "sentence-transformers"] = "tfidf-svd"
    embedding_model_dir: Path | None = None
    embedding_dim: int = Field(64, ge=2)
    min_topic_size: int = Field(12, ge=2)
    min_tokens: int = Field(2, ge=1)
    top_n_words: int = Field(8, ge=3)
    seed: int = 42


class PainpointSettings(Strict):
    stage_weights: dict[str, float] = Field(default_factory=dict)
    min_volume: int = Field(3, ge=1)
    examples: int = Field(3, ge=1)


class SinkSettings(Strict):
    kind: Literal["duckdb"] = "duckdb"
    path: Path = Path("data/out/voc.duckdb")


class ScheduleSettings(Strict):
    cron: str = "0 2 * * *"
    timezone: str = "Asia/Shanghai"
    deployment: str = "voc-nightly"


class Settings(Strict):
    run: RunSettings = Field(default_factory=RunSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    sources: SourcesSettings
    normalize: NormalizeSettings = Field(default_factory=NormalizeSettings)
    segment: SegmentSettings = Field(default_factory=SegmentSettings)
    sentiment: SentimentSettings = Field(default_factory=SentimentSettings)
    journey: JourneySettings = Field(default_factory=JourneySettings)
    topics: TopicSettings = Field(default_factory=TopicSettings)
    painpoints: PainpointSettings = Field(default_factory=PainpointSettings)
    sink: SinkSettings = Field(default_factory=SinkSettings)


def read_yaml(path: Path) -> dict[str, Any]:
    """Read one YAML mapping; a missing file or bad YAML becomes a ConfigError naming the file."""
    if not path.is_file():
        raise ConfigError(f"configuration file '{path}' not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"'{path}' is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"'{path}' must hold a mapping at the top level")
    return data


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def explain_validation_error(exc: ValidationError, files: list[Path]) -> str:
    names = " + ".join(str(f) for f in files)
    problems = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        problems.append(f"key '{key}': {err['msg']}")
    return f"invalid configuration in {names}: " + "; ".join(problems)


def validate(model: type[BaseModel], data: dict[str, Any], files: list[Path]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(explain_validation_error(exc, files)) from exc


def load_settings(path: Path | None = None) -> Settings:
    """Load the pipeline settings: `path` (default base config) plus configs/local overrides."""
    files = [path or DEFAULT_CONFIG]
    data = read_yaml(files[0])
    if path is None and LOCAL_OVERRIDE.is_file():
        files.append(LOCAL_OVERRIDE)
        data = deep_merge(data, read_yaml(LOCAL_OVERRIDE))
    return validate(Settings, data, files)
