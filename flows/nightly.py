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
from prefect.utilities.annotations import opaque

from flows.components import Components, load_components
from flows.mentions import mention_tables
from flows.notify import notify_failure, notify_spikes
from flows.report import build_report, publish_artifacts
from flows.runner import make_task_runner
from flows.shards import ShardResult, combine, pack, process_shard, split_shards
from flows.sinks import SCHEMA_VERSION, make_sink, to_arrow
from flows.sources import SourceBatch, SourceContext, list_files, read_channel
from flows.topic_store import LINEAGE_COLUMNS, run_topics
from flows.watermark import Watermarks
from nlp.config import Settings, load_settings
from nlp.documents import build_documents
from nlp.errors import SourceUnavailableError
from nlp.painpoints import build_painpoints, build_topic_table
from nlp.records import CHANNELS, Record
from nlp.topics import OUTLIER, TopicInfo
from nlp.trends import KEY, add_trends, history_window

DEV_SALT = "voc-dev-salt-change-me"


@task(cache_policy=NO_CACHE)
def read_source(channel: str, root: Path, patterns: list[str], ctx: SourceContext,
                marks: Watermarks | None = None,
                run_date: date | None = None) -> tuple[SourceBatch, list[Path]]:
    """Read one channel's files (with a watermark: only the files `run_date` owns or that are
    new, flows/watermark.py). Retried with the configured backoff (run.read_retry_delays):
    a missing directory may be a mount that is not up yet, a locked file a copy in progress."""
    if not root.is_dir():
        raise FileNotFoundError(f"source '{channel}': input directory '{root}' does not exist")
    files = list_files(root, patterns)
    if marks is not None and run_date is not None:
        files = marks.select(channel, root, files, run_date)
    batch = read_channel(channel, files, ctx)
    get_run_logger().info("%s: %d files, %d read, %d records, %d quarantined", channel,
                          len(batch.files), batch.read, len(batch.records), len(batch.quarantine))
    return batch, files


def read_with_retries(channel: str, root: Path, patterns: list[str], ctx: SourceContext,
                      settings: Settings, marks: Watermarks | None = None,
                      run_date: date | None = None) -> tuple[SourceBatch, list[Path]]:
    delays = settings.run.read_retry_delays
    try:
        return read_source.with_options(retries=len(delays), retry_delay_seconds=delays)(
            channel, root, patterns, ctx, opaque(marks), run_date)
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


def run_shards(records: list[Record], settings: Settings) -> ShardResult:
    """Normalise, segment, score and tag the records in shards of `run.batch_size` on the
    configured runner (flows/runner.py); results come back in shard order."""
    shards = split_shards(records, settings.run.batch_size)
    runner = make_task_runner(settings.runner)
    logger = get_run_logger()
    if runner is None:
        results = []
        for number, shard in enumerate(shards, start=1):
            results.append(process_shard(pack(shard), settings))
            logger.info("shard %d/%d: %d records", number, len(shards), len(shard))
        return combine(results)
    with runner:
        futures = [runner.submit(process_shard, {"shard": pack(shard), "settings": settings})
                   for shard in shards]
        results = []
        for number, future in enumerate(futures, start=1):
            results.append(future.result())
            logger.info("shard %d/%d done on %s", number, len(shards), settings.runner.kind)
    return combine(results)


@task(cache_policy=NO_CACHE)
def assign_topics(sentences: pd.DataFrame, settings: Settings, comp: Components, run_date: date,
                  ) -> tuple[pd.DataFrame, list[TopicInfo], list[str], str, pd.DataFrame]:
    """Stable topic id per customer sentence from the persisted model (flows/topic_store.py):
    transform with the current version, fit only when there is none or too much is new.
    Sentences with fewer than `min_tokens` content tokens (e.g. '好的谢谢') stay -1."""
    opts = settings.topics
    out = sentences.assign(topic_id=OUTLIER)
    customer = out.index[out["role"] == "customer"]
    content = [comp.segmenter.content_of(t) for t in out.loc[customer, "tokens"]]
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


ALL_CHANNELS = "all"


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
    tables = {"utterances": sentences, "documents": documents, "topics": topic_table,
              "painpoints": painpoints}
    if settings.mentions.enabled and len(sentences):
        extra = mention_tables(sentences, documents, painpoints, topics, settings, comp)
        tables.update(painpoints=extra["painpoints"], mentions=extra["mentions"],
                      rating_impact=extra["rating_impact"])
    tables["painpoints"] = tables["painpoints"].assign(channel=ALL_CHANNELS)
    if settings.painpoints.by_channel:
        per_channel = [
            build_painpoints(group, documents, topics, weights, settings.painpoints.examples)
            .assign(channel=channel)
            for channel, group in sentences.groupby("channel", sort=True)
        ]
        tables["painpoints"] = pd.concat([tables["painpoints"], *per_channel], ignore_index=True)
    return tables


@task(retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
def read_painpoint_history(settings: Settings, run_date: date) -> pd.DataFrame:
    """Earlier run dates' painpoints from the sink, as far back as the trend windows reach."""
    return make_sink(settings).read_history("painpoints", run_date,
                                            history_window(settings.trends))


@task(cache_policy=NO_CACHE)
def add_painpoint_trends(painpoints: pd.DataFrame, history: pd.DataFrame, run_date: date,
                         settings: Settings) -> pd.DataFrame:
    # Cells are per channel ("all" or one channel); rows written before the channel column
    # existed were all-channel rows.
    if not history.empty:
        channel = history["channel"] if "channel" in history.columns else None
        history = history.assign(channel=ALL_CHANNELS if channel is None
                                 else channel.fillna(ALL_CHANNELS))
    return add_trends(painpoints, history, run_date, settings.trends, by=(*KEY, "channel"))


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
        marks = Watermarks.load(settings.run.output_dir) if settings.run.incremental else None
        consumed: dict[str, tuple[Path, list[Path]]] = {}
        with timer.step("read"):
            for channel in CHANNELS:
                source = getattr(settings.sources, channel)
                if source.enabled:
                    root = settings.run.input_dir / source.path
                    batch, files = read_with_retries(channel, root, source.patterns, ctx,
                                                     settings, marks, run_date)
                    batches.append(batch)
                    consumed[channel] = (root, files)
            records, duplicates = deduplicate(opaque(batches))
            for batch in batches:  # keep the counts, free the raw records once normalised
                batch.n_records = len(batch.records)
                batch.records = []
        with timer.step("process"):
            shards = run_shards(records, settings)
            records, sentences = shards.records, shards.sentences
        timer.timings.update(shards.timings)  # per-step seconds summed over shards
        with timer.step("topics"):
            sentences, topics, fitted_texts, topic_version, lineage = assign_topics(
                opaque(sentences), settings, opaque(comp), run_date)
        with timer.step("aggregate"):
            frames = build_tables(opaque(records), opaque(sentences), opaque(topics),
                                  opaque(fitted_texts), settings, opaque(comp))
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
            frames["painpoints"] = add_painpoint_trends(opaque(frames["painpoints"]),
                                                        opaque(history), run_date, settings)
        with timer.step("write"):
            runs = runs_row(settings, run_date, run_id, started, "completed", counts, batches,
                            comp.sentiment, topic_version, timer.timings)
            tables = {name: to_arrow(name, with_keys(frame, run_date, run_id))
                      for name, frame in {**frames, "runs": runs}.items()}
            write_tables(settings, run_date, opaque(tables))
            if marks is not None:  # the tables are committed: tonight's files are consumed
                for channel, (root, files) in consumed.items():
                    marks.consume(channel, root, files, run_date)
                marks.save()
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
    overall = frames["painpoints"][frames["painpoints"]["channel"] == ALL_CHANNELS]
    publish_artifacts(run_date, run_id, counts, overall, report_paths,
                      make_sink(settings).name, settings.report.top_n)
    notify_spikes(settings.notify, run_date, run_id, overall)
    logger.info("run %s done: %s; timings %s; report %s", run_id, counts, timer.timings,
                report_paths[0])
    return counts


def runs_row(settings: Settings, run_date: date, run_id: str, started: datetime, status: str,
             counts: dict[str, int], batches: list[SourceBatch], sentiment, topic_version: str,
             timings: dict[str, float]) -> pd.DataFrame:
    per_channel = {
        b.channel: {"read": b.read, "records": b.n_records or len(b.records),
                    "quarantined": len(b.quarantine),
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
