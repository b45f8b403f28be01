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
    # A source that cannot be read is retried after each of these delays (seconds), then the
    # run fails naming it.
    read_retry_delays: list[float] = Field(default_factory=lambda: [2.0, 10.0])
    # Records per shard of the per-record stages (flows/shards.py); memory per task grows with it.
    batch_size: int = Field(5000, ge=1)
    # Read only files not consumed by an earlier run date (flows/watermark.py); a rerun of a
    # date re-reads that date's files.
    incremental: bool = False


class RunnerSettings(Strict):
    """Where the shards run (flows/runner.py): a local pool of worker processes, the flow's
    process, or Dask workers."""

    kind: Literal["processes", "local", "dask"] = "processes"
    # dask: an existing scheduler ("tcp://host:8786"); None starts a local cluster.
    address: str | None = None
    n_workers: int = Field(2, ge=1)  # processes, and a local dask cluster
    threads_per_worker: int = Field(1, ge=1)  # local cluster only


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
    """BERTopic settings (nlp/topics) and where the fitted model and researcher overrides live."""

    embedding: Literal["tfidf-svd", "sentence-transformers"] = "tfidf-svd"
    embedding_model_dir: Path | None = None
    embedding_dim: int = Field(64, ge=2)
    min_topic_size: int = Field(12, ge=2)  # HDBSCAN min_cluster_size
    min_samples: int | None = Field(None, ge=1)  # None: min_topic_size // 3
    cluster_selection: Literal["eom", "leaf"] = "eom"
    reduce_dim: int = Field(0, ge=0)  # 0: cluster embeddings directly; n: PCA to n dimensions
    min_tokens: int = Field(2, ge=1)
    top_n_words: int = Field(10, ge=3)
    outlier_threshold: float = Field(0.1, ge=0, le=1)  # c-TF-IDF similarity to rescue an outlier
    fit_max_docs: int = Field(20000, ge=100)  # fit on at most this many sentences, transform rest
    # Versioned fitted models (<model_dir>/vNNNN/); None = <run.output_dir>/topic_model
    model_dir: Path | None = None
    overrides: Path = Path("configs/local/topics.yaml")  # rename/merge/noise/seeds; optional
    refit_outlier_share: float = Field(0.35, gt=0, le=1)  # refit when tonight's share passes it
    align_threshold: float = Field(0.3, ge=0, le=1)  # min similarity to keep an old id on refit
    seed: int = 42


class PainpointSettings(Strict):
    stage_weights: dict[str, float] = Field(default_factory=dict)
    min_volume: int = Field(3, ge=1)
    examples: int = Field(3, ge=1)
    # What a pain-point cell counts: customer sentences, or aspect mentions (nlp/mentions.py),
    # so that "味道不错，送餐太慢了" adds a positive to `use` and a negative to `deliver`.
    count: Literal["sentences", "mentions"] = "sentences"
    # Scale priority by the cell's rating impact (nlp/impact.py) when its interval excludes 0.
    use_rating_impact: bool = False
    # Also write every stage x topic cell once per channel (rows with channel = complaint, ...).
    by_channel: bool = False


class MentionSettings(Strict):
    """Aspect mentions (nlp/mentions.py) and their emotions (nlp/emotions.py)."""

    # Off saves a second sentiment pass over every clause on very large nights.
    enabled: bool = True
    emotions: Path = Path("configs/base/emotions.yaml")
    config: Path = Path("configs/base/mentions.yaml")  # extra aspect terms, clause polarity
    # the learned clause model (nlp/clause_model.py, `voc train clauses`) that relabels each
    # clause's stage and polarity after the rules; null: the rules alone
    clause_model: Path | None = Path("models/clause-zh-v1")


class RatingSource(Strict):
    """Where a channel's records carry a rating and on what scale. `field` is `csat` (the
    Record's rating, read by the source) or a key of the record's meta."""

    field: str = "csat"
    scale: tuple[float, float] = (1.0, 5.0)  # worst, best


class ImpactSettings(Strict):
    """Rating impact of topics and stages (nlp/impact.py)."""

    sources: dict[str, RatingSource] = Field(
        default_factory=lambda: {"complaint": RatingSource(), "chat": RatingSource()})
    target_scale: tuple[float, float] = (1.0, 5.0)  # every rating is rescaled to this
    n_boot: int = Field(1000, ge=50)
    confidence: float = Field(0.95, gt=0, lt=1)
    min_records: int = Field(5, ge=1)  # fewer rated records mentioning a key: no figure
    seed: int = 42


SinkKind = Literal["duckdb", "postgres", "parquet"]


class SinkSettings(Strict):
    """Where the tables go (flows/sinks): the primary sink, read back by the report, plus
    `also` sinks written after it (e.g. a Parquet export next to DuckDB)."""

    kind: SinkKind = "duckdb"
    path: Path = Path("data/out/voc.duckdb")  # duckdb: the database file
    parquet_dir: Path = Path("data/out/parquet")  # parquet: one directory per table
    # postgres: environment variable holding the connection URL (never the URL itself)
    url_env: str = Field("VOC_PG_URL", min_length=1)
    pg_schema: str = Field("public", pattern=r"^[a-z_][a-z0-9_]*$")
    also: list[SinkKind] = Field(default_factory=list)


class TrendSettings(Strict):
    """Trend and spike test of the painpoints (nlp/trends.py; definitions in docs/schema.md)."""

    min_baseline: float = Field(1.0, gt=0)  # floor of the baseline mean in trend and test
    spike_window: int = Field(28, ge=1)  # calendar days of earlier runs in the spike baseline
    spike_alpha: float = Field(0.01, gt=0, lt=1)  # Poisson upper-tail p-value threshold
    spike_min_count: int = Field(3, ge=1)  # fewer negative sentences today is never a spike
    spike_min_history: int = Field(3, ge=1)  # fewer earlier run dates: no test (spike false)


class ReportSettings(Strict):
    """The researcher report (flows/report): report.html and report.xlsx in run.output_dir."""

    top_n: int = Field(15, ge=1)  # pain points listed
    verbatims: int = Field(3, ge=0)  # masked verbatims shown per pain point
    more_verbatims: int = Field(10, ge=0)  # more behind "expand"
    trend_topics: int = Field(8, ge=1)  # lines in the topic trend chart
    history_days: int = Field(28, ge=1)  # calendar days of history in trend charts
    include_unassigned: bool = False  # list topic -1 ("未归类") among the top pain points
    xlsx_max_rows: int = Field(20_000, ge=1)  # per sheet (openpyxl: ~1,000 rows/s); Excel: 1,048,576


class ScheduleSettings(Strict):
    cron: str = "0 2 * * *"
    timezone: str = "Asia/Shanghai"
    deployment: str = "voc-nightly"


class NotifySettings(Strict):
    """Webhook on a failed run or a pain-point spike (flows/notify.py). No URL, no notification."""

    webhook_url_env: str = Field("VOC_WEBHOOK_URL", min_length=1)  # env var holding the URL
    on_failure: bool = True
    on_spike: bool = True
    timeout_seconds: float = Field(5.0, gt=0)


class Settings(Strict):
    run: RunSettings = Field(default_factory=RunSettings)
    runner: RunnerSettings = Field(default_factory=RunnerSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    sources: SourcesSettings
    normalize: NormalizeSettings = Field(default_factory=NormalizeSettings)
    segment: SegmentSettings = Field(default_factory=SegmentSettings)
    sentiment: SentimentSettings = Field(default_factory=SentimentSettings)
    journey: JourneySettings = Field(default_factory=JourneySettings)
    topics: TopicSettings = Field(default_factory=TopicSettings)
    painpoints: PainpointSettings = Field(default_factory=PainpointSettings)
    mentions: MentionSettings = Field(default_factory=MentionSettings)
    impact: ImpactSettings = Field(default_factory=ImpactSettings)
    sink: SinkSettings = Field(default_factory=SinkSettings)
    trends: TrendSettings = Field(default_factory=TrendSettings)
    report: ReportSettings = Field(default_factory=ReportSettings)


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
