"""The nightly flow: read every channel, normalise, segment, classify, aggregate, write.

The flow only orchestrates; each task is a thin typed wrapper around a pure function in `nlp/`
or an I/O step in `flows/sources` and `flows/sinks`. Only I/O tasks retry.

Memory is bounded by `run.batch_size`, not by the night: records are staged in shards, the
shard jobs (flows/shards.py) run on the configured runner (flows/runner.py: a local worker pool
by default) and write their rows to Parquet in a run-scoped staging directory
(flows/staging.py); the topic step streams over the shards (flows/topic_store.py), DuckDB
aggregates them (flows/aggregate.py) and the sink ingests them; the directory is removed after.

No `from __future__ import annotations` here: a deployment run validates the flow's parameters
against its annotations, which must then be real types, not strings.
"""

import hashlib
import json
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pyarrow.parquet as pq
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import opaque

from flows import aggregate
from flows.aggregate import (
    build_painpoints_sql,
    customer_rows,
    mention_rows,
    rated_documents,
    rated_pairs,
    topic_table_sql,
)
from flows.components import Components, load_components
from flows.notify import notify_failure, notify_spikes
from flows.report import build_report, publish_artifacts
from flows.runner import ShardRunner, release_memory
from flows.shards import (
    SHARD_STEPS,
    ShardJob,
    finish_shard,
    stage_shard,
    transform_shard,
    write_records,
)
from flows.sinks import SCHEMA_VERSION, make_sink, to_arrow
from flows.sources import SourceBatch, SourceContext, list_files, read_channel
from flows.staging import Staged, claim, existing, run_dir, sweep
from flows.topic_store import LINEAGE_COLUMNS, DocSource, TopicRun, run_topics_over
from flows.watermark import Watermarks
from nlp.config import Settings, load_settings
from nlp.errors import SourceUnavailableError
from nlp.impact import IMPACT_COLUMNS, apply_rating_impact, rating_impact, record_ratings
from nlp.records import CHANNELS, Record
from nlp.trends import KEY, add_trends, history_window

DEV_SALT = "voc-dev-salt-change-me"


def deduplicate(records: list[Record], seen: set[str], duplicates: list[str]) -> list[Record]:
    """Keep the first occurrence of each record id (files are read in name order); `seen` and
    `duplicates` carry over from the channels read before."""
    kept = []
    for record in records:
        if record.record_id in seen:
            duplicates.append(f"{record.channel}:{record.source_id}")
        else:
            seen.add(record.record_id)
            kept.append(record)
    return kept


class ShardWriter:
    """Cuts the de-duplicated records, in reading order, into shards of `run.batch_size` and
    stages each one (flows/staging.py), so that at most a shard's records are ever held."""

    def __init__(self, settings: Settings, scratch: Path, run_date: date, run_id: str) -> None:
        self.settings, self.scratch, self.run_date, self.run_id = (settings, scratch, run_date,
                                                                   run_id)
        self.pending: list[Record] = []
        self.jobs: list[ShardJob] = []

    def add(self, records: list[Record]) -> None:
        self.pending.extend(records)
        size = self.settings.run.batch_size
        while len(self.pending) >= size:
            self._emit(self.pending[:size])
            self.pending = self.pending[size:]

    def close(self) -> list[ShardJob]:
        if self.pending:
            self._emit(self.pending)
            self.pending = []
        return self.jobs

    def _emit(self, records: list[Record]) -> None:
        job = ShardJob(len(self.jobs) + 1, self.scratch, self.settings, self.run_date,
                       self.run_id)
        write_records(job, records)
        self.jobs.append(job)

    def mark(self) -> tuple[int, list[Record]]:
        return len(self.jobs), list(self.pending)

    def rollback(self, mark: tuple[int, list[Record]]) -> None:
        """Back to `mark`: the shards staged since are deleted."""
        n_jobs, pending = mark
        for job in self.jobs[n_jobs:]:
            job.path("records", "pkl").unlink(missing_ok=True)
        del self.jobs[n_jobs:]
        self.pending = list(pending)


class ChannelIntake:
    """Where a channel's records go as the source reads them: de-duplicated (first occurrence
    of a record id wins, across channels) and staged as shards. `begin`, at the start of each
    read attempt, undoes what a failed earlier attempt of the same channel staged, so a retried
    read counts every record once."""

    def __init__(self, shards: ShardWriter, seen: set[str], duplicates: list[str]) -> None:
        self.shards, self.seen, self.duplicates = shards, seen, duplicates
        self._mark = shards.mark()
        self._n_duplicates = len(duplicates)
        self._ids: list[str] = []  # ids this attempt added to `seen`

    def begin(self) -> None:
        self.shards.rollback(self._mark)
        del self.duplicates[self._n_duplicates:]
        self.seen.difference_update(self._ids)
        self._ids = []

    def __call__(self, records: list[Record]) -> None:
        kept = deduplicate(records, self.seen, self.duplicates)
        self._ids.extend(r.record_id for r in kept)
        self.shards.add(kept)


@task(cache_policy=NO_CACHE)
def read_source(channel: str, root: Path, patterns: list[str], ctx: SourceContext,
                marks: Watermarks | None = None, run_date: date | None = None,
                intake: ChannelIntake | None = None) -> tuple[SourceBatch, list[Path]]:
    """Read one channel's files (with a watermark: only the files `run_date` owns or that are
    new, flows/watermark.py), handing the records to `intake` as they are read. Retried with
    the configured backoff (run.read_retry_delays): a missing directory may be a mount that is
    not up yet, a locked file a copy in progress; a retry first undoes what the failed attempt
    staged."""
    if intake is not None:
        intake.begin()
    if not root.is_dir():
        raise FileNotFoundError(f"source '{channel}': input directory '{root}' does not exist")
    files = list_files(root, patterns)
    if marks is not None and run_date is not None:
        files = marks.select(channel, root, files, run_date)
    batch = read_channel(channel, files, ctx, intake)
    get_run_logger().info("%s: %d files, %d read, %d records, %d quarantined", channel,
                          len(batch.files), batch.read, batch.n_records, len(batch.quarantine))
    return batch, files


def read_with_retries(channel: str, root: Path, patterns: list[str], ctx: SourceContext,
                      settings: Settings, marks: Watermarks | None = None,
                      run_date: date | None = None, intake: ChannelIntake | None = None
                      ) -> tuple[SourceBatch, list[Path]]:
    delays = settings.run.read_retry_delays
    try:
        return read_source.with_options(retries=len(delays), retry_delay_seconds=delays)(
            channel, root, patterns, ctx, opaque(marks), run_date, opaque(intake))
    except OSError as exc:
        raise SourceUnavailableError(
            f"source '{channel}' ({root}) could not be read after {len(delays) + 1} attempts: "
            f"{exc}. Nothing was written for this run date.") from exc


class StagedDocs(DocSource):
    """The topic step's documents in the shards' docs-k.parquet files, assigned on the runner's
    workers (the model goes to them as a joblib file in the staging directory)."""

    def __init__(self, jobs: list[ShardJob], counts: list[int], runner: ShardRunner) -> None:
        self.jobs, self.counts, self.runner = jobs, list(counts), runner
        self._models = 0

    def docs(self, k: int) -> list[str]:
        return pq.read_table(self.jobs[k].path("docs"), columns=["doc"])["doc"].to_pylist()

    def texts(self, k: int) -> list[str]:
        return pq.read_table(self.jobs[k].path("docs"), columns=["text"])["text"].to_pylist()

    def transform(self, model) -> list[tuple]:
        import joblib

        if not self.jobs:  # a quiet incremental night: nothing to assign
            return []
        self._models += 1
        path = self.jobs[0].root / f"topic-model-{self._models}.joblib"
        joblib.dump(model, path)
        release_memory()  # the fit's garbage, before the workers load the model
        return self.runner.map(transform_shard, [(job, path) for job in self.jobs])

    def embeddings(self, k: int):
        import numpy as np

        return np.load(self.jobs[k].path("embeddings", "npy"))


def read_sources(settings: Settings, ctx: SourceContext, marks: Watermarks | None,
                 run_date: date, shards: ShardWriter, batches: list[SourceBatch],
                 consumed: dict[str, tuple[Path, list[Path]]]) -> list[str]:
    """Read every enabled channel, its records de-duplicated and staged as shards while they
    are read; the batches keep their counts and quarantine only. Returns the duplicates."""
    seen: set[str] = set()
    duplicates: list[str] = []
    for channel in CHANNELS:
        source = getattr(settings.sources, channel)
        if not source.enabled:
            continue
        root = settings.run.input_dir / source.path
        intake = ChannelIntake(shards, seen, duplicates)
        batch, files = read_with_retries(channel, root, source.patterns, ctx, settings, marks,
                                         run_date, intake)
        batches.append(batch)
        consumed[channel] = (root, files)
    return duplicates


def assign_topics(source: StagedDocs, settings: Settings, comp: Components, run_date: date,
                  ) -> tuple[TopicRun, str, pd.DataFrame]:
    """Stable topic id per topic document (customer sentences with at least `min_tokens`
    content tokens) from the persisted model (flows/topic_store.py): transform with the current
    version, fit (on a seeded sample) only when there is none or too much is new."""
    result = run_topics_over(settings, source, run_date, comp.segmenter.stopwords)
    get_run_logger().info("topics: model %s, %d topics tonight, outlier share %.2f",
                          result.version or "none", len(result.topics), result.outlier_share)
    version = f"bertopic/{settings.topics.embedding}/{result.version or 'unfitted'}"
    lineage = pd.DataFrame(result.lineage, columns=LINEAGE_COLUMNS)
    return result, version, lineage


ALL_CHANNELS = "all"


def build_tables(jobs: list[ShardJob], topics: TopicRun, settings: Settings, comp: Components,
                 with_mentions: bool, scratch: Path) -> dict[str, pd.DataFrame | Staged]:
    """The night's tables from the finished shards: utterances, documents and mentions stay
    Parquet (Staged); painpoints, topics and rating impact are aggregated by DuckDB."""
    utterances = existing([job.path("utterances") for job in jobs])
    documents = existing([job.path("documents-final") for job in jobs])
    mentions = existing([job.path("mentions") for job in jobs])
    opts = settings.painpoints
    weights = comp.stage_weights(opts.stage_weights)
    sentences = customer_rows(utterances) if utterances else None
    con = aggregate.connect(scratch)
    try:
        painpoints = build_painpoints_sql(con, sentences, documents, topics.topics, weights,
                                          opts.examples)
        tables: dict[str, pd.DataFrame | Staged] = {
            "utterances": Staged("utterances", utterances),
            "documents": Staged("documents", documents),
            "topics": topic_table_sql(con, utterances, topics.topics, topics.texts)}
        if with_mentions:
            rows = mention_rows(mentions) if mentions else None
            if opts.count == "mentions":
                painpoints = build_painpoints_sql(con, rows, documents, topics.topics, weights,
                                                  opts.examples)
            source = rows if opts.count == "mentions" else sentences
            impact = rating_impact_sql(con, documents, source, settings)
            if opts.use_rating_impact:
                painpoints = apply_rating_impact(painpoints, impact)
            tables.update(mentions=Staged("mentions", mentions), rating_impact=impact)
        tables["painpoints"] = painpoints.assign(channel=ALL_CHANNELS)
        if opts.by_channel:
            per_channel = build_painpoints_sql(con, sentences, documents, topics.topics, weights,
                                               opts.examples, by_channel=True)
            tables["painpoints"] = pd.concat([tables["painpoints"], per_channel],
                                             ignore_index=True)
    finally:
        con.close()
    return tables


def rating_impact_sql(con, documents: tuple[Path, ...], rows: str | None,
                      settings: Settings) -> pd.DataFrame:
    """nlp.impact.rating_impact of stages and topics, its inputs queried from the shards."""
    opts = settings.impact
    with_meta = any(source.field != "csat" for source in opts.sources.values())
    ratings = record_ratings(rated_documents(con, documents, list(opts.sources), with_meta), opts)
    if rows is None:
        return pd.DataFrame(columns=IMPACT_COLUMNS)
    return pd.concat([rating_impact(ratings, rated_pairs(con, rows, ratings, key), key, opts)
                      for key in ("stage", "topic_id")], ignore_index=True)


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
    scratch = run_dir(settings.run.output_dir, run_id)
    try:
        with timer.step("load"):
            # what this process uses (the shard jobs load the rest where they run): a broken
            # segmenter or sentiment configuration still fails here, before any work
            comp = load_components(settings).preload("segmenter", "sentiment", "taxonomy")
        marks = Watermarks.load(settings.run.output_dir) if settings.run.incremental else None
        consumed: dict[str, tuple[Path, list[Path]]] = {}
        sweep(settings.run.output_dir, keep=run_id)
        claim(scratch)
        with ShardRunner(settings.runner) as runner:
            with timer.step("read"):
                shards = ShardWriter(settings, scratch, run_date, run_id)
                duplicates = read_sources(settings, ctx, marks, run_date, shards, batches,
                                          consumed)
                jobs = shards.close()
                release_memory()  # the channels' raw records are staged: their heap to the OS
            with timer.step("process"):
                summaries = runner.map(stage_shard, [(job,) for job in jobs])
                logger.info("%d shards of at most %d records processed on %s", len(jobs),
                            settings.run.batch_size, settings.runner.kind)
                # The topic step's jobs need none of the per-record models (nor the heap the
                # stages left): fresh workers hold BERTopic and the topic model only.
                runner.recycle()
            with timer.step("topics"):
                source = StagedDocs(jobs, [s.docs for s in summaries], runner)
                topics, topic_version, lineage = assign_topics(source, settings, comp, run_date)
                runner.recycle()
                release_memory()  # the fit's heap (sample, BERTopic internals) back to the OS
            with timer.step("aggregate"):
                n_sentences = sum(s.sentences for s in summaries)
                with_mentions = settings.mentions.enabled and n_sentences > 0
                keywords = ({t.topic_id: t.keywords for t in topics.topics} if with_mentions
                            else None)
                offsets = source.offsets
                finished = runner.map(finish_shard, [
                    (job, topics.doc_topics[offsets[k]:offsets[k + 1]], keywords)
                    for k, job in enumerate(jobs)])
                runner.recycle()  # the workers' jobs are done: free them before DuckDB's work
                frames = build_tables(jobs, topics, settings, comp, with_mentions, scratch)
                release_memory()  # DuckDB's aggregation buffers
                frames["topic_lineage"] = lineage
                frames["quarantine"] = pd.DataFrame(
                    [asdict(q) for b in batches for q in b.quarantine],
                    columns=["channel", "source_file", "location", "reason_code", "reason",
                             "detail", "excerpt"])
                counts = {
                    "read": sum(b.read for b in batches),
                    "processed": sum(s.records for s in summaries),
                    "quarantined": sum(len(b.quarantine) for b in batches),
                    "duplicates": len(duplicates),
                }
                if counts["read"] != (counts["processed"] + counts["quarantined"]
                                      + counts["duplicates"]):
                    raise RuntimeError(f"record counts do not add up: {counts}")
        # per-step seconds summed over shards (busy seconds: with 2 workers, up to 2 per second)
        timer.timings.update({step: round(sum(s.timings.get(step, 0.0)
                                              for s in (*summaries, *finished)), 3)
                              for step in SHARD_STEPS})
        with timer.step("trends"):
            history = read_painpoint_history(settings, run_date)
            frames["painpoints"] = add_painpoint_trends(opaque(frames["painpoints"]),
                                                        opaque(history), run_date, settings)
        with timer.step("write"):
            runs = runs_row(settings, run_date, run_id, started, "completed", counts, batches,
                            comp.sentiment, topic_version, timer.timings)
            tables = {name: frame if isinstance(frame, Staged)
                      else to_arrow(name, with_keys(frame, run_date, run_id))
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
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    # The tables are committed; the report is derived from them and `voc report` can rebuild it.
    release_memory()  # the sink's insert buffers
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
        b.channel: {"read": b.read, "records": b.n_records,
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
