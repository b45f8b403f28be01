"""The nightly flow: read every channel, normalise, segment, classify, aggregate, write.

The flow only orchestrates; each task is a thin typed wrapper around a pure function in `nlp/`
or an I/O step in `flows/sources` and `flows/sinks`. Only I/O tasks retry.

No `from __future__ import annotations` here: a deployment run validates the flow's parameters
against its annotations, which must then be real types, not strings.
"""

import hashlib
import json
import os
import time
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.components import Components, load_components
from flows.notify import notify_failure, notify_spikes
from flows.report import build_report, publish_artifacts
from flows.sinks import SCHEMA_VERSION, make_sink, to_arrow
from flows.sources import SourceBatch, SourceContext, list_files, read_channel
from flows.topic_store import LINEAGE_COLUMNS, run_topics
from nlp.config import Settings, load_settings
from nlp.documents import build_documents
from nlp.errors import SourceUnavailableError
from nlp.normalize import detect_language, normalize_record
from nlp.painpoints import build_painpoints, build_topic_table
from nlp.records import CHANNELS, Record
from nlp.sentences import explode_sentences
from nlp.topics import OUTLIER, TopicInfo
from nlp.trends import add_trends, history_window

DEV_SALT = "voc-dev-salt-change-me"


@task(cache_policy=NO_CACHE)
def read_source(channel: str, root: Path, patterns: list[str], ctx: SourceContext) -> SourceBatch:
    """Read one channel's files. Retried with the configured backoff (run.read_retry_delays):
    a missing directory may be a mount that is not up yet, a locked file a copy in progress."""
    if not root.is_dir():
        raise FileNotFoundError(f"source '{channel}': input directory '{root}' does not exist")
    batch = read_channel(channel, list_files(root, patterns), ctx)
    get_run_logger().info("%s: %d files, %d read, %d records, %d quarantined", channel,
                          len(batch.files), batch.read, len(batch.records), len(batch.quarantine))
    return batch


def read_with_retries(channel: str, root: Path, patterns: list[str], ctx: SourceContext,
                      settings: Settings) -> SourceBatch:
    delays = settings.run.read_retry_delays
    try:
        return read_source.with_options(retries=len(delays), retry_delay_seconds=delays)(
            channel, root, patterns, ctx)
    except OSError as exc:
        raise SourceUnavailableError(
            f"source '{channel}' ({root}) could not be read after {len(delays) + 1} attempts: "
            f"{exc}. Nothing was written for this run date.") from exc


@task(cache_policy=NO_CACHE)
def deduplicate(batches: list[SourceBatch]) -> tuple[list[Record], list[str]]:
    """Keep the first occurrence of each record id (files are read in name order)."""
    seen: set[str] = set()
    records, duplicates = [], []
    for batch in batches:
        for record in batch.records:
            if record.record_id in seen:
                duplicates.append(f"{record.channel}:{record.source_id}")
            else:
                seen.add(record.record_id)
                records.append(record)
    return records, duplicates


@task(cache_policy=NO_CACHE)
def normalize(records: list[Record], settings: Settings) -> list[Record]:
    opts = settings.normalize
    return [normalize_record(r, simplified=opts.to_simplified, max_chars=opts.max_text_chars)
            for r in records]


@task(cache_policy=NO_CACHE)
def split_and_segment(records: list[Record], settings: Settings, comp: Components) -> pd.DataFrame:
    rows = explode_sentences(records, settings.normalize.min_sentence_chars)
    frame = pd.DataFrame([asdict(r) for r in rows],
                         columns=["record_id", "channel", "turn_index", "sentence_index", "role",
                                  "text"])
    frame["tokens"] = comp.segmenter.tokens_batch(frame["text"].tolist())
    frame["language"] = [detect_language(t) for t in frame["text"]]
    return frame


@task(cache_policy=NO_CACHE)
def score_sentiment(sentences: pd.DataFrame, comp: Components) -> pd.DataFrame:
    """Sentiment of customer sentences only; agent and system sentences stay unscored."""
    out = sentences.assign(sentiment_label=None, sentiment_score=float("nan"),
                           sentiment_confidence=float("nan"))
    mask = out["role"] == "customer"
    results = comp.sentiment.predict(out.loc[mask, "text"].tolist())
    out.loc[mask, "sentiment_label"] = [r.label for r in results]
    out.loc[mask, "sentiment_score"] = [r.score for r in results]
    out.loc[mask, "sentiment_confidence"] = [r.confidence for r in results]
    return out


@task(cache_policy=NO_CACHE)
def tag_journey(sentences: pd.DataFrame, comp: Components) -> pd.DataFrame:
    out = sentences.assign(stage=None, stage_confidence=float("nan"), stage_method=None,
                           stage_evidence=None, touchpoint=None)
    mask = out["role"] == "customer"
    results = comp.tagger.tag(out.loc[mask, "tokens"].tolist())
    out.loc[mask, "stage"] = [r.stage for r in results]
    out.loc[mask, "stage_confidence"] = [r.confidence for r in results]
    out.loc[mask, "stage_method"] = [r.method for r in results]
    out.loc[mask, "stage_evidence"] = [r.evidence for r in results]
    out.loc[mask, "touchpoint"] = [r.touchpoint for r in results]
    out["signals"] = [comp.detector.sentence_signals(tokens) for tokens in out["tokens"]]
    return out


@task(cache_policy=NO_CACHE)
def assign_topics(sentences: pd.DataFrame, settings: Settings, comp: Components, run_date: date,
                  ) -> tuple[pd.DataFrame, list[TopicInfo], list[str], str, pd.DataFrame]:
    """Stable topic id per customer sentence from the persisted model (flows/topic_store.py):
    transform with the current version, fit only when there is none or too much is new.
    Sentences with fewer than `min_tokens` content tokens (e.g. '好的谢谢') stay -1."""
    opts = settings.topics
    out = sentences.assign(topic_id=OUTLIER)
    customer = out.index[out["role"] == "customer"]
    content = [comp.segmenter.content_tokens(t) for t in out.loc[customer, "text"]]
    keep = [i for i, toks in zip(customer, content, strict=True) if len(toks) >= opts.min_tokens]
    docs = [" ".join(toks) for toks in content if len(toks) >= opts.min_tokens]
    result = run_topics(settings, docs, out.loc[keep, "text"].tolist(), run_date,
                        comp.segmenter.stopwords)
    out.loc[keep, "topic_id"] = result.doc_topics
    get_run_logger().info("topics: model %s, %d topics tonight, outlier share %.2f",
                          result.version or "none", len(result.topics), result.outlier_share)
    version = f"bertopic/{opts.embedding}/{result.version or 'unfitted'}"
    lineage = pd.DataFrame(result.lineage, columns=LINEAGE_COLUMNS)
    return out, result.topics, result.texts, version, lineage


@task(cache_policy=NO_CACHE)
def build_tables(records: list[Record], sentences: pd.DataFrame, topics: list[TopicInfo],
                 fitted_texts: list[str], settings: Settings,
                 comp: Components) -> dict[str, pd.DataFrame]:
    documents = build_documents(records, sentences, comp.detector)
    documents["meta"] = [
        json.dumps({k: v for k, v in r.meta.items() if k not in ("language", "truncated")},
                   ensure_ascii=False, default=str, sort_keys=True)
        for r in records
    ]
    weights = comp.stage_weights(settings.painpoints.stage_weights)
    painpoints = build_painpoints(sentences, documents, topics, weights,
                                  settings.painpoints.examples)
    topic_table = build_topic_table(topics, sentences, fitted_texts)
    return {"utterances": sentences, "documents": documents, "topics": topic_table,
            "painpoints": painpoints}


@task(retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
def read_painpoint_history(settings: Settings, run_date: date) -> pd.DataFrame:
    """Earlier run dates' painpoints from the sink, as far back as the trend windows reach."""
    return make_sink(settings).read_history("painpoints", run_date,
                                            history_window(settings.trends))


@task(cache_policy=NO_CACHE)
def add_painpoint_trends(painpoints: pd.DataFrame, history: pd.DataFrame, run_date: date,
                         settings: Settings) -> pd.DataFrame:
    return add_trends(painpoints, history, run_date, settings.trends)


@task(retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
def write_tables(settings: Settings, run_date: date, tables: dict) -> None:
    make_sink(settings).write(run_date, tables)


@task(cache_policy=NO_CACHE)
def write_report(settings: Settings, run_date: date) -> tuple[Path, Path]:
    """report.html + report.xlsx in run.output_dir, read back from the sink just written."""
    return build_report(make_sink(settings), run_date, settings.run.output_dir, settings)


def config_hash(settings: Settings) -> str:
    digest = hashlib.sha256(settings.model_dump_json().encode())
    for path in (settings.journey.taxonomy, settings.journey.signals, settings.segment.userdict):
        if Path(path).is_file():
            digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:12]


class StepTimer:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self.current = ""

    @contextmanager
    def step(self, name: str):
        self.current = name
        start = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - start, 3)


def with_keys(frame: pd.DataFrame, run_date: date, run_id: str) -> pd.DataFrame:
    return frame.assign(run_date=run_date, run_id=run_id)


@flow(name="voc-nightly", log_prints=False)
def nightly(run_date: date | None = None, config_path: Path | None = None) -> dict[str, int]:
    """Run the whole pipeline once for `run_date` (default: today in the configured timezone).
    Returns the run's counts."""
    logger = get_run_logger()
    settings = load_settings(config_path)
    tz = ZoneInfo(settings.run.timezone)
    started = datetime.now(tz)
    run_date = run_date or started.date()
    run_id = f"{run_date.isoformat()}-{started.strftime('%H%M%S')}-{os.getpid()}"
    salt = os.environ.get(settings.run.salt_env) or DEV_SALT
    if salt == DEV_SALT:
        logger.warning("%s is not set: customer ids are hashed with the public development salt",
                       settings.run.salt_env)
    ctx = SourceContext(timezone=settings.run.timezone, salt=salt, now=started)
    timer = StepTimer()
    counts = {"read": 0, "processed": 0, "quarantined": 0, "duplicates": 0}
    batches: list[SourceBatch] = []
    try:
        with timer.step("load"):
            comp = load_components(settings)
        with timer.step("read"):
            for channel in CHANNELS:
                source = getattr(settings.sources, channel)
                if source.enabled:
                    root = settings.run.input_dir / source.path
                    batches.append(read_with_retries(channel, root, source.patterns, ctx, settings))
            records, duplicates = deduplicate(batches)
        with timer.step("normalize"):
            records = normalize(records, settings)
        with timer.step("segment"):
            sentences = split_and_segment(records, settings, comp)
        with timer.step("sentiment"):
            sentences = score_sentiment(sentences, comp)
        with timer.step("stage"):
            sentences = tag_journey(sentences, comp)
        with timer.step("topics"):
            sentences, topics, fitted_texts, topic_version, lineage = assign_topics(
                sentences, settings, comp, run_date)
        with timer.step("aggregate"):
            frames = build_tables(records, sentences, topics, fitted_texts, settings, comp)
            frames["topic_lineage"] = lineage
            created = {r.record_id: r.created_at for r in records}
            frames["utterances"] = frames["utterances"].assign(
                created_at=frames["utterances"]["record_id"].map(created))
            frames["quarantine"] = pd.DataFrame(
                [asdict(q) for b in batches for q in b.quarantine],
                columns=["channel", "source_file", "location", "reason_code", "reason", "detail",
                         "excerpt"])
            counts = {
                "read": sum(b.read for b in batches),
                "processed": len(records),
                "quarantined": sum(len(b.quarantine) for b in batches),
                "duplicates": len(duplicates),
            }
            if counts["read"] != counts["processed"] + counts["quarantined"] + counts["duplicates"]:
                raise RuntimeError(f"record counts do not add up: {counts}")
        with timer.step("trends"):
            history = read_painpoint_history(settings, run_date)
            frames["painpoints"] = add_painpoint_trends(frames["painpoints"], history, run_date,
                                                        settings)
        with timer.step("write"):
            runs = runs_row(settings, run_date, run_id, started, "completed", counts, batches,
                            comp.sentiment, topic_version, timer.timings)
            tables = {name: to_arrow(name, with_keys(frame, run_date, run_id))
                      for name, frame in {**frames, "runs": runs}.items()}
            write_tables(settings, run_date, tables)
    except Exception as exc:
        logger.error("run %s failed in step '%s': %s", run_id, timer.current, exc)
        failed = runs_row(settings, run_date, run_id, started, f"failed:{timer.current}", counts,
                          batches, None, "", timer.timings)
        try:
            make_sink(settings).write(run_date, {"runs": to_arrow(
                "runs", with_keys(failed, run_date, run_id))})
        except Exception as sink_exc:  # noqa: BLE001 - report the original failure
            logger.error("could not record the failed run: %s", sink_exc)
        notify_failure(settings.notify, run_date, run_id, timer.current, exc)
        raise
    # The tables are committed; the report is derived from them and `voc report` can rebuild it.
    report_paths = write_report(settings, run_date)
    publish_artifacts(run_date, run_id, counts, frames["painpoints"], report_paths,
                      make_sink(settings).name, settings.report.top_n)
    notify_spikes(settings.notify, run_date, run_id, frames["painpoints"])
    logger.info("run %s done: %s; timings %s; report %s", run_id, counts, timer.timings,
                report_paths[0])
    return counts


def runs_row(settings: Settings, run_date: date, run_id: str, started: datetime, status: str,
             counts: dict[str, int], batches: list[SourceBatch], sentiment, topic_version: str,
             timings: dict[str, float]) -> pd.DataFrame:
    per_channel = {
        b.channel: {"read": b.read, "records": len(b.records), "quarantined": len(b.quarantine),
                    "files": len(b.files)}
        for b in batches
    }
    return pd.DataFrame([{
        "status": status,
        "started_at": started,
        "finished_at": datetime.now(started.tzinfo),
        **counts,
        "per_channel": json.dumps(per_channel, sort_keys=True),
        "sentiment_model": f"{sentiment.name}/{sentiment.version}" if sentiment else "",
        "topic_model": topic_version,
        "config_hash": config_hash(settings),
        "timings": json.dumps(timings, sort_keys=True),
        "schema_version": SCHEMA_VERSION,
    }])
