"""The per-record stages of the nightly flow, run over shards of records.

One shard (at most `run.batch_size` records) goes through normalise, sentence split + segment,
sentiment and journey stage in one task, so the flow can hand shards to Prefect's task runner:
in-process by default, or on Dask workers (`runner.kind: dask`). A shard task loads the models
itself (`load_components` caches them per process), so nothing heavy crosses to a worker but the
records. Results are concatenated in shard order, so any runner gives the same tables.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.components import Components, load_components
from nlp.config import Settings
from nlp.normalize import detect_language, normalize_record
from nlp.records import Record
from nlp.sentences import explode_sentences

SENTENCE_COLUMNS = ["record_id", "channel", "turn_index", "sentence_index", "role", "text"]
# Per-shard step names, in order; their seconds are summed over shards in the runs table.
SHARD_STEPS = ("normalize", "segment", "sentiment", "stage")


@dataclass
class ShardResult:
    records: list[Record]
    sentences: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)


def split_shards(records: Sequence[Record], size: int) -> list[list[Record]]:
    return [list(records[i : i + size]) for i in range(0, len(records), size)] or [[]]


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
    results = comp.sentiment.predict(texts) if texts else []
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
    results = comp.tagger.tag(tokens) if tokens else []
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
    out["signals"] = [comp.detector.sentence_signals(tokens) for tokens in out["tokens"]]
    return out


def process_records(records: Sequence[Record], settings: Settings) -> ShardResult:
    """Normalise, segment, score and tag one shard; pure apart from the per-process model cache."""
    comp = load_components(settings)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    opts = settings.normalize
    normalized = [normalize_record(r, simplified=opts.to_simplified, max_chars=opts.max_text_chars)
                  for r in records]
    timings["normalize"], start = time.perf_counter() - start, time.perf_counter()
    frame = segment_sentences(normalized, settings, comp)
    timings["segment"], start = time.perf_counter() - start, time.perf_counter()
    frame = add_sentiment(frame, comp)
    timings["sentiment"], start = time.perf_counter() - start, time.perf_counter()
    frame = add_journey(frame, comp)
    timings["stage"] = time.perf_counter() - start
    return ShardResult(normalized, frame, timings)


@task(cache_policy=NO_CACHE)
def process_shard(shard: bytes, settings: Settings) -> ShardResult:
    """`shard` is a pickled list of Records (`pack`): Prefect then neither walks thousands of
    models looking for futures nor rebuilds them on the way to a Dask worker."""
    return process_records(pickle.loads(shard), settings)


def pack(records: Sequence[Record]) -> bytes:
    return pickle.dumps(list(records), protocol=pickle.HIGHEST_PROTOCOL)


def combine(results: Sequence[ShardResult]) -> ShardResult:
    """Concatenate shard results in order; sentence rows get one index 0..n-1."""
    records = [r for res in results for r in res.records]
    frames = [res.sentences for res in results]
    sentences = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    timings = {step: round(sum(res.timings.get(step, 0.0) for res in results), 3)
               for step in SHARD_STEPS}
    return ShardResult(records, sentences, timings)
