"""The per-record stages of the nightly flow, run over shards of records, spilled to Parquet.

A shard (at most `run.batch_size` records, `flows/staging.py` holds its files) goes through two
jobs, each a plain function of a small picklable `ShardJob`, so that any runner (in-process, a
local process pool, Dask workers; flows/runner.py) can run it and the flow's process never holds
the night's rows:
- `stage_shard`: normalise, sentence split + segment, sentiment, journey stage and signals, the
  documents (everything but the main topic), and the topic step's content-token documents.
- `finish_shard` (after the topic step saw the whole night): topic ids, main topics, aspect
  mentions, and the shard's final `utterances`, `documents`, `mentions` files in the contract's
  schema, which the aggregations query and the sink ingests.
`transform_shard` assigns a shard's topic documents with a fitted topic model.
Jobs load the models themselves (`load_components` caches them per process). Results depend on
the shard only, so every runner writes the same rows.

No Prefect import here: pool workers import this module.
"""

from __future__ import annotations

import json
import pickle
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from flows.components import Components, load_components
from flows.staging import shard_path, write_parquet
from nlp.config import Settings
from nlp.distinct import each_distinct  # the per-sentence models here are pure
from nlp.documents import build_documents, main_topics
from nlp.normalize import detect_language, normalize_record
from nlp.records import Record
from nlp.sentences import explode_sentences
from nlp.topics import OUTLIER

SENTENCE_COLUMNS = ["record_id", "channel", "turn_index", "sentence_index", "role", "text"]
# Per-shard step names, in order; their seconds are summed over shards in the runs table.
SHARD_STEPS = tuple(f"{step}{kind}" for step in (
    "normalize", "segment", "sentiment", "stage", "documents", "finish", "mentions")
    for kind in ("", "_cpu"))


def segment_sentences(records: Sequence[Record], settings: Settings,
                      comp: Components) -> pd.DataFrame:
    rows = explode_sentences(records, settings.normalize.min_sentence_chars)
    frame = pd.DataFrame({
        "record_id": [r.record_id for r in rows],
        "channel": [r.channel for r in rows],
        "turn_index": [r.turn_index for r in rows],
        "sentence_index": [r.sentence_index for r in rows],
        "role": [r.role for r in rows],
        "text": [r.text for r in rows],
    }, columns=SENTENCE_COLUMNS)
    frame["tokens"] = comp.segmenter.tokens_batch(frame["text"].tolist())
    frame["language"] = [detect_language(t) for t in frame["text"]]
    return frame


def add_sentiment(sentences: pd.DataFrame, comp: Components) -> pd.DataFrame:
    """Sentiment of customer sentences only; agent and system sentences stay unscored."""
    mask = (sentences["role"] == "customer").to_numpy()
    texts = sentences.loc[mask, "text"].tolist()
    results = each_distinct(texts, comp.sentiment.predict)
    labels = [None] * len(sentences)
    scores = [float("nan")] * len(sentences)
    confidences = [float("nan")] * len(sentences)
    for i, r in zip(mask.nonzero()[0], results, strict=True):
        labels[i], scores[i], confidences[i] = r.label, r.score, r.confidence
    return sentences.assign(sentiment_label=pd.Series(labels, index=sentences.index, dtype=object),
                            sentiment_score=scores, sentiment_confidence=confidences)


def add_journey(sentences: pd.DataFrame, comp: Components) -> pd.DataFrame:
    """Stage, touchpoint (customer sentences) and signal cues (every sentence)."""
    n = len(sentences)
    mask = (sentences["role"] == "customer").to_numpy()
    tokens = sentences.loc[mask, "tokens"].tolist()
    results = each_distinct([tuple(t) for t in tokens],
                            lambda distinct: comp.tagger.tag([list(t) for t in distinct]))
    stage, conf, method, evidence, touch = [None] * n, [float("nan")] * n, [None] * n, \
        [None] * n, [None] * n
    for i, r in zip(mask.nonzero()[0], results, strict=True):
        stage[i], conf[i], method[i], evidence[i], touch[i] = (
            r.stage, r.confidence, r.method, r.evidence, r.touchpoint)
    obj = {"index": sentences.index, "dtype": object}
    out = sentences.assign(stage=pd.Series(stage, **obj), stage_confidence=conf,
                           stage_method=pd.Series(method, **obj),
                           stage_evidence=pd.Series(evidence, **obj),
                           touchpoint=pd.Series(touch, **obj))
    signals = each_distinct([tuple(t) for t in out["tokens"]],
                            lambda distinct: [comp.detector.sentence_signals(t) for t in distinct])
    out["signals"] = [list(found) for found in signals]  # a list of its own per row
    return out


def process_records(records: Sequence[Record], settings: Settings
                    ) -> tuple[list[Record], pd.DataFrame, dict[str, float]]:
    """Normalise, segment, score and tag one shard; pure apart from the per-process model cache."""
    # loaded before the clock starts: the step timings measure the work, not the loading
    comp = load_components(settings).preload("segmenter", "sentiment", "tagger", "detector")
    clock = StepClock()
    opts = settings.normalize
    normalized = [normalize_record(r, simplified=opts.to_simplified, max_chars=opts.max_text_chars)
                  for r in records]
    clock.lap("normalize")
    frame = segment_sentences(normalized, settings, comp)
    clock.lap("segment")
    frame = add_sentiment(frame, comp)
    clock.lap("sentiment")
    frame = add_journey(frame, comp)
    clock.lap("stage")
    return normalized, frame, clock.timings


class StepClock:
    """Wall seconds per step and, as `<step>_cpu`, the process's CPU seconds: on a busy machine
    the wall seconds of a worker include waiting for a core, the CPU seconds do not."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self, step: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.timings[step] = self.timings.get(step, 0.0) + wall - self.wall
        self.timings[f"{step}_cpu"] = self.timings.get(f"{step}_cpu", 0.0) + cpu - self.cpu
        self.wall, self.cpu = wall, cpu


@dataclass(frozen=True)
class ShardJob:
    """What a worker needs for one shard: its number, the staging directory and the run."""

    number: int
    root: Path
    settings: Settings
    run_date: date
    run_id: str

    def path(self, kind: str, suffix: str = "parquet") -> Path:
        return shard_path(self.root, kind, self.number, suffix)


@dataclass
class ShardSummary:
    number: int
    records: int = 0
    sentences: int = 0
    docs: int = 0  # topic documents (customer sentences with enough content tokens)
    mentions: int = 0
    timings: dict[str, float] = field(default_factory=dict)


def write_records(job: ShardJob, records: Sequence[Record]) -> Path:
    path = job.path("records", "pkl")
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(pickle.dumps(list(records), protocol=pickle.HIGHEST_PROTOCOL))
    tmp.replace(path)
    return path


def record_meta(record: Record) -> str:
    return json.dumps({k: v for k, v in record.meta.items() if k not in ("language", "truncated")},
                      ensure_ascii=False, default=str, sort_keys=True)


def topic_documents(frame: pd.DataFrame, comp: Components, min_tokens: int
                    ) -> tuple[np.ndarray, list[str], list[str]]:
    """Per sentence row its position among the shard's topic documents (-1: none), and the
    documents (content tokens joined by spaces) with their texts. Sentences with fewer than
    `min_tokens` content tokens (e.g. '好的谢谢') get no topic."""
    index = np.full(len(frame), -1, dtype=np.int32)
    docs, texts = [], []
    roles, tokens, text = frame["role"].tolist(), frame["tokens"].tolist(), frame["text"].tolist()
    for i, role in enumerate(roles):
        if role != "customer":
            continue
        content = comp.segmenter.content_of(tokens[i])
        if len(content) >= min_tokens:
            index[i] = len(docs)
            docs.append(" ".join(content))
            texts.append(text[i])
    return index, docs, texts


def stage_shard(job: ShardJob) -> ShardSummary:
    """The per-record stages of one shard; writes sentences-, documents- and docs-k.parquet."""
    records = pickle.loads(job.path("records", "pkl").read_bytes())
    normalized, frame, timings = process_records(records, job.settings)
    del records
    comp = load_components(job.settings)
    clock = StepClock()
    documents = build_documents(normalized, frame, comp.detector)
    documents["meta"] = [record_meta(r) for r in normalized]
    created = {r.record_id: r.created_at for r in normalized}
    frame["created_at"] = frame["record_id"].map(created)
    index, docs, texts = topic_documents(frame, comp, job.settings.topics.min_tokens)
    frame["doc_index"] = index
    write_parquet(pa.Table.from_pandas(frame, preserve_index=False), job.path("sentences"))
    write_parquet(pa.Table.from_pandas(documents, preserve_index=False), job.path("documents"))
    write_parquet(pa.table({"doc": pa.array(docs, pa.string()),
                            "text": pa.array(texts, pa.string())}), job.path("docs"))
    job.path("records", "pkl").unlink(missing_ok=True)
    clock.lap("documents")
    timings.update(clock.timings)
    return ShardSummary(job.number, len(normalized), len(frame), len(docs), timings=timings)


@lru_cache(maxsize=2)
def _topic_model(path: str, mtime: float):
    import joblib

    from flows.topic_store import load_bertopic

    load_bertopic()  # before unpickling imports bertopic (and with it transformers)
    return joblib.load(path)


def transform_shard(job: ShardJob, model_path: Path) -> tuple[np.ndarray, int]:
    """Topic ids (the model's own ids) of the shard's documents and the number of raw outliers;
    the embeddings go to embeddings-k.npy for the topic descriptions."""
    from flows.topic_store import transform_in_pieces

    model = _topic_model(str(model_path), Path(model_path).stat().st_mtime)
    docs = pq.read_table(job.path("docs"), columns=["doc"])["doc"].to_pylist()
    assigned = transform_in_pieces(model, docs)
    embeddings = np.asarray(assigned.embeddings, dtype=np.float32)
    if not docs:
        embeddings = np.zeros((0, 0), dtype=np.float32)
    np.save(job.path("embeddings", "npy"), embeddings)
    return (np.asarray(assigned.topics, dtype=np.int64),
            int(round(assigned.raw_outlier_share * len(docs))))


_EXTRACTORS: dict[tuple[str, str], object] = {}


def _extractor(settings: Settings, topic_keywords: dict[int, list[str]]):
    """The mention extractor for tonight's topics, built once per process and run."""
    from flows.mentions import make_extractor

    key = (settings.model_dump_json(), json.dumps(list(topic_keywords.items()),
                                                  ensure_ascii=False))
    if key not in _EXTRACTORS:
        _EXTRACTORS.clear()
        _EXTRACTORS[key] = make_extractor(settings, load_components(settings), topic_keywords)
    return _EXTRACTORS[key]


def with_run_keys(table: pa.Table, name: str, run_date: date, run_id: str) -> pa.Table:
    """The table in the contract's column order and types, run keys added."""
    from flows.sinks.schema import SCHEMAS

    n = table.num_rows
    columns = {"run_date": pa.array([run_date] * n, pa.date32()),
               "run_id": pa.array([run_id] * n, pa.string())}
    arrays = []
    for f in SCHEMAS[name]:
        if f.name in columns:
            arrays.append(columns[f.name])
        elif f.name in table.column_names:
            arrays.append(table.column(f.name).cast(f.type))
        else:
            raise KeyError(f"table '{name}' lacks column '{f.name}'")
    return pa.Table.from_arrays(arrays, schema=SCHEMAS[name])


def finish_shard(job: ShardJob, doc_topics: np.ndarray,
                 topic_keywords: dict[int, list[str]] | None) -> ShardSummary:
    """Topic ids onto the shard's sentences, main topics onto its documents, its mentions (when
    `topic_keywords` is given: mentions enabled); writes the final contract files."""
    from nlp.mentions import build_mentions

    clock = StepClock()
    sentences = pq.read_table(job.path("sentences"))
    index = sentences["doc_index"].to_numpy()
    topics = np.full(len(index), OUTLIER, dtype=np.int32)
    if len(doc_topics):
        topics = np.where(index >= 0, np.asarray(doc_topics)[np.clip(index, 0, None)],
                          OUTLIER).astype(np.int32)
    sentences = sentences.append_column("topic_id", pa.array(topics, pa.int32()))
    write_parquet(with_run_keys(sentences, "utterances", job.run_date, job.run_id),
                  job.path("utterances"))
    slim = sentences.select(["record_id", "channel", "turn_index", "sentence_index", "role",
                             "text", "stage", "touchpoint", "topic_id", "sentiment_score"]
                            ).to_pandas()
    del sentences
    mains = main_topics(slim)
    documents = pq.read_table(job.path("documents"))
    main = [mains.get(rid, OUTLIER) for rid in documents["record_id"].to_pylist()]
    documents = documents.set_column(documents.schema.get_field_index("main_topic"), "main_topic",
                                     pa.array(main, pa.int32()))
    write_parquet(with_run_keys(documents, "documents", job.run_date, job.run_id),
                  job.path("documents-final"))
    clock.lap("finish")
    n_mentions = 0
    if topic_keywords is not None:
        extractor = _extractor(job.settings, topic_keywords)
        mentions = build_mentions(slim[slim["role"] == "customer"], extractor)
        n_mentions = len(mentions)
        from flows.sinks.schema import to_arrow

        table = to_arrow("mentions", mentions.assign(run_date=job.run_date, run_id=job.run_id))
        write_parquet(table, job.path("mentions"))
        clock.lap("mentions")
    return ShardSummary(job.number, documents.num_rows, len(index), int((index >= 0).sum()),
                        n_mentions, clock.timings)
