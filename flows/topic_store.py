"""Fitted topic models on disk and the nightly topic step: load, assign, refit, align, override.

Layout: `<topics.model_dir>/vNNNN/` with `bertopic.pkl` (BERTopic.save, pickle, no embedding
model), `state.joblib` (our embedder, centroids, parameters), `docs.json` (the fit sample of
content-token documents, reused by the next refit), `lineage.json` and `meta.json` (version,
fit date, parent, settings, stable id map, keywords). The highest complete version is current.

BERTopic (and the topic model classes that import it) is imported on first use, through
`load_bertopic`: a process that imports this module but fits or assigns no topics (`voc` and
its commands, the shard workers' other jobs) never pays for it.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import joblib
import numpy as np

from flows.components import torch_hidden
from nlp.config import Settings, read_yaml, validate
from nlp.topics import OUTLIER, TopicInfo
from nlp.topics.align import LineageEdge, align_topics
from nlp.topics.labels import clean_keywords, readable_label
from nlp.topics.overrides import TopicOverrides, merge_keywords

if TYPE_CHECKING:
    from nlp.topics.model import Assignment, TopicModel, TopicParams

log = logging.getLogger(__name__)
# The topic_lineage table (flows/sinks/schema.py): one row per edge of a refit's alignment.
LINEAGE_COLUMNS = ["old_topic_id", "new_topic_id", "relation", "similarity", "shared_docs",
                   "from_version", "to_version"]


def load_bertopic() -> None:
    """Import bertopic and the topic model module (nlp.topics.model) with transformers (and
    torch, when not loaded yet) hidden (flows/components.py): bertopic's optional LLM /
    transformers representations, which we never use, then become its `NotInstalled`
    placeholders (~100 MB less per process, ~300 MB without torch). Anything that needs them
    later (the sentence-transformers embedding) still imports them normally."""
    if "nlp.topics.model" in sys.modules:
        return
    with torch_hidden():
        import bertopic  # noqa: F401
    import nlp.topics.model  # noqa: F401


# Documents per TopicModel.transform call. Its HDBSCAN neighbour search (nlp/topics/predict.py)
# builds a (4,096 documents x fit sample) float32 matrix, ~330 MB at 20,000 fitted documents and
# twice that while it is built; pieces of 2,048 documents halve it (~550 MB less per worker, no
# more CPU). Every step of the transform (embedding, neighbours, outlier reduction) is per
# document, so the pieces give the same topics, embeddings and outlier count.
TRANSFORM_PIECE = 2048


def transform_in_pieces(model: TopicModel, docs: Sequence[str],
                        piece: int = TRANSFORM_PIECE) -> Assignment:
    """`model.transform(docs)`, `piece` documents at a time."""
    docs = list(docs)
    if len(docs) <= piece:
        return model.transform(docs)
    from nlp.topics.model import Assignment

    parts = [model.transform(docs[i:i + piece]) for i in range(0, len(docs), piece)]
    raw = sum(round(p.raw_outlier_share * len(p.topics)) for p in parts)
    return Assignment([t for p in parts for t in p.topics], raw / len(docs),
                      np.concatenate([np.asarray(p.embeddings) for p in parts]))


def model_root(settings: Settings) -> Path:
    return Path(settings.topics.model_dir or settings.run.output_dir / "topic_model")


def load_overrides(path: Path) -> TopicOverrides:
    """The researcher overrides; a missing file means none. Errors name the file and key."""
    if not Path(path).is_file():
        return TopicOverrides()
    return validate(TopicOverrides, read_yaml(Path(path)), [Path(path)])


def topic_params(settings: Settings) -> TopicParams:
    load_bertopic()
    from nlp.topics.model import TopicParams

    t = settings.topics
    return TopicParams(min_topic_size=t.min_topic_size, min_samples=t.min_samples,
                       cluster_selection=t.cluster_selection, reduce_dim=t.reduce_dim,
                       top_n_words=t.top_n_words, outlier_threshold=t.outlier_threshold,
                       fit_max_docs=t.fit_max_docs, seed=t.seed)


def new_topic_model(settings: Settings, stopwords: frozenset[str]) -> TopicModel:
    load_bertopic()
    from nlp.topics.embeddings import make_embedder
    from nlp.topics.model import TopicModel

    t = settings.topics
    embedder = make_embedder(t.embedding, t.embedding_dim, t.seed, t.embedding_model_dir)
    return TopicModel(embedder, topic_params(settings), stopwords)


@dataclass
class StoredModel:
    """A fitted model with its stable-id map (BERTopic id -> stable id) and metadata."""

    model: TopicModel
    version: str
    fit_date: str
    id_map: dict[int, int]
    next_id: int
    docs: list[str]
    parent: str | None = None
    lineage: list[LineageEdge] = field(default_factory=list)

    def stable(self, topics: list[int]) -> list[int]:
        return [self.id_map.get(t, OUTLIER) if t != OUTLIER else OUTLIER for t in topics]

    def stable_keywords(self) -> dict[int, dict[str, float]]:
        return {self.id_map[t]: dict(words) for t, words in self.model.keywords().items()
                if t in self.id_map}


class TopicStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def versions(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.glob("v[0-9][0-9][0-9][0-9]")
                      if (p / "meta.json").is_file())

    def latest(self, settings: Settings) -> StoredModel | None:
        versions = self.versions()
        return self.load(versions[-1], settings) if versions else None

    def next_version(self) -> str:
        versions = self.versions()
        return f"v{int(versions[-1][1:]) + 1:04d}" if versions else "v0001"

    def load(self, version: str, settings: Settings) -> StoredModel:
        load_bertopic()
        from bertopic import BERTopic

        from nlp.topics.embeddings import make_embedder
        from nlp.topics.model import BackendAdapter, TopicModel, TopicParams

        path = self.root / version
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
        state = joblib.load(path / "state.joblib")
        embedder = state["embedder"]
        if embedder is None:  # sentence-transformers: reload from its local directory
            t = settings.topics
            embedder = make_embedder(t.embedding, t.embedding_dim, t.seed, t.embedding_model_dir)
        model = TopicModel(embedder, TopicParams(**state["params"]), state["stopwords"])
        model.model = BERTopic.load(str(path / "bertopic.pkl"), embedding_model=BackendAdapter(embedder))
        model.centroids = state["centroids"]
        docs = json.loads((path / "docs.json").read_text(encoding="utf-8"))
        lineage = [LineageEdge(**e) for e in json.loads(
            (path / "lineage.json").read_text(encoding="utf-8"))]
        return StoredModel(model, version, meta["fit_date"],
                           {int(k): v for k, v in meta["id_map"].items()}, meta["next_id"], docs,
                           meta.get("parent"), lineage)

    def save(self, stored: StoredModel, settings: Settings, extra: dict) -> Path:
        """Write a new version atomically (temporary directory, then rename)."""
        self.root.mkdir(parents=True, exist_ok=True)
        final = self.root / stored.version
        tmp = self.root / f".{stored.version}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        model = stored.model
        model.model.save(str(tmp / "bertopic.pkl"), serialization="pickle",
                         save_embedding_model=False)
        keep_embedder = settings.topics.embedding == "tfidf-svd"
        joblib.dump({"embedder": model.embedder if keep_embedder else None,
                     "params": asdict(model.params), "stopwords": sorted(model.stopwords),
                     "centroids": model.centroids}, tmp / "state.joblib")
        (tmp / "docs.json").write_text(json.dumps(stored.docs, ensure_ascii=False),
                                       encoding="utf-8")
        (tmp / "lineage.json").write_text(
            json.dumps([asdict(e) for e in stored.lineage], ensure_ascii=False, indent=1),
            encoding="utf-8")
        keywords = stored.stable_keywords()
        meta = {
            "version": stored.version, "fit_date": stored.fit_date, "parent": stored.parent,
            "created_at": datetime.now().astimezone().isoformat(timespec="seconds"),
            "embedding": model.embedder.name, "settings": settings.topics.model_dump(mode="json"),
            "id_map": {str(k): v for k, v in sorted(stored.id_map.items())},
            "next_id": stored.next_id, "n_fit_docs": len(stored.docs),
            "topics": {str(k): [w for w, _ in sorted(v.items(), key=lambda kv: -kv[1])][:10]
                       for k, v in sorted(keywords.items())},
            **extra,
        }
        (tmp / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1),
                                       encoding="utf-8")
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        log.info("saved topic model %s (%d topics) to %s", stored.version, len(keywords), final)
        return final


class DocSource:
    """Tonight's topic documents (content tokens joined by spaces) and their texts, in shards:
    the topic step streams over them instead of holding the night. This base class keeps them
    in memory (one shard); the flow's source reads the shards' Parquet files and assigns them
    on its worker pool (flows/nightly.py)."""

    def __init__(self, docs: list[str], texts: list[str]) -> None:
        self._docs, self._texts = list(docs), list(texts)
        self.counts = [len(self._docs)]
        self._embeddings: dict[int, np.ndarray] = {}

    @property
    def total(self) -> int:
        return int(sum(self.counts))

    @property
    def offsets(self) -> list[int]:
        return [0, *np.cumsum(self.counts).tolist()]

    def docs(self, k: int) -> list[str]:
        return self._docs

    def texts(self, k: int) -> list[str]:
        return self._texts

    def transform(self, model: TopicModel) -> list[tuple[np.ndarray, int]]:
        """Per shard: the model's topic ids of its documents and its number of raw outliers;
        keeps the embeddings for `embeddings(k)`."""
        out = []
        for k in range(len(self.counts)):
            assigned = transform_in_pieces(model, self.docs(k))
            self._embeddings[k] = np.asarray(assigned.embeddings, dtype=np.float32)
            out.append((np.asarray(assigned.topics, dtype=np.int64),
                        int(round(assigned.raw_outlier_share * self.counts[k]))))
        return out

    def embeddings(self, k: int) -> np.ndarray:
        return self._embeddings[k]

    def take(self, indices: np.ndarray) -> list[str]:
        """The documents at sorted global positions `indices`."""
        out: list[str] = []
        offsets = self.offsets
        for k in range(len(self.counts)):
            lo, hi = offsets[k], offsets[k + 1]
            mine = indices[(indices >= lo) & (indices < hi)] - lo
            if len(mine):
                docs = self.docs(k)
                out.extend(docs[i] for i in mine)
        return out


def concat_topics(parts: list[tuple[np.ndarray, int]]) -> np.ndarray:
    arrays = [np.asarray(t, dtype=np.int64) for t, _ in parts]
    return np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.int64)


def fit_sample(n: int, settings: Settings) -> np.ndarray:
    """The positions TopicModel.fit samples from `n` documents (same seed, same draw), so that
    fitting on the gathered sample gives the model a fit on all `n` documents would."""
    p = settings.topics
    if n <= p.fit_max_docs:
        return np.arange(n)
    rng = np.random.default_rng(p.seed)
    sample = np.sort(rng.choice(n, p.fit_max_docs, replace=False))
    log.info("fitting topics on a sample of %d of %d documents", sample.size, n)
    return sample


def gather(previous_docs: list[str], source: DocSource, positions: np.ndarray) -> list[str]:
    """Documents of the corpus `previous_docs + tonight` at sorted `positions`."""
    n_prev = len(previous_docs)
    head = [previous_docs[i] for i in positions[positions < n_prev]]
    return head + source.take(positions[positions >= n_prev] - n_prev)


def assign_tonight(model: TopicModel, source: DocSource, positions: np.ndarray,
                   fitted: Assignment, n_prev: int) -> tuple[np.ndarray, float]:
    """Tonight's topics from a model fitted on the corpus sample at `positions`: the fit's own
    assignment for sampled documents, the model's transform for the others (what
    TopicModel.fit returns for the whole corpus). Also the raw outlier share of the transform."""
    parts = source.transform(model)
    topics = concat_topics(parts)
    raw = sum(r for _, r in parts)
    mine = positions >= n_prev
    topics[positions[mine] - n_prev] = np.asarray(fitted.topics, dtype=np.int64)[mine]
    return topics, raw / max(len(topics), 1)


def fit_new(settings: Settings, store: TopicStore, source: DocSource, run_date: date,
            stopwords: frozenset[str], overrides: TopicOverrides,
            previous: StoredModel | None, reason: str,
            previous_tonight: np.ndarray | None = None) -> tuple[StoredModel, np.ndarray] | None:
    """Fit a new version; with a previous version, on its fit sample plus tonight's documents,
    keeping the old ids of topics that still exist (alignment) and recording lineage. Only the
    seeded fit sample is gathered in memory; tonight's documents are assigned shard by shard.
    `previous_tonight`: the previous model's ids of tonight's documents when already computed.
    Returns the stored model and tonight's topics (the new model's internal ids)."""
    prev_docs = previous.docs if previous else []
    n_prev, total = len(prev_docs), len(prev_docs) + source.total
    t = settings.topics
    if total < max(2 * t.min_topic_size, 10):
        log.warning("only %d documents: too few to fit topics", total)
        return None
    positions = fit_sample(total, settings)
    model = new_topic_model(settings, stopwords)
    fitted = model.fit(gather(prev_docs, source, positions), overrides.seed_lists())
    if fitted is None:
        return None
    if previous is not None and previous_tonight is None:
        previous_tonight = concat_topics(source.transform(previous.model))
    # last, so that the shards' embeddings are the new model's (the topic descriptions use them)
    tonight, _ = assign_tonight(model, source, positions, fitted, n_prev)
    internal = sorted(model.keywords())
    if previous is None:
        id_map, next_id, lineage = {t: t for t in internal}, len(internal), []
        corpus_topics = tonight
    else:
        prev_new = transform_in_pieces(model, prev_docs).topics if prev_docs else []
        prev_new = np.asarray(prev_new, dtype=np.int64)
        head = positions < n_prev
        prev_new[positions[head]] = np.asarray(fitted.topics, dtype=np.int64)[head]
        corpus_topics = np.concatenate([prev_new, tonight])
        old_prev = (transform_in_pieces(previous.model, prev_docs).topics if prev_docs
                    else [])
        old = previous.stable(list(old_prev) + previous_tonight.tolist())
        id_map, lineage, next_id = align_topics(
            old, corpus_topics.tolist(), previous.stable_keywords(),
            {t: dict(w) for t, w in model.keywords().items()}, previous.next_id,
            settings.topics.align_threshold)
    keep = min(t.fit_max_docs, total)
    tail = np.arange(total - keep, total)
    sample = gather(prev_docs, source, tail)
    stored = StoredModel(model, store.next_version(), run_date.isoformat(), id_map, next_id,
                         sample, previous.version if previous else None, lineage)
    store.save(stored, settings, {"reason": reason,
                                  "outlier_share": round(outlier_share(corpus_topics.tolist()), 4)})
    return stored, tonight


def outlier_share(topics) -> float:
    topics = np.asarray(topics)
    return float(np.mean(topics == OUTLIER)) if topics.size else 0.0


@dataclass
class TopicRun:
    """What the nightly step hands on: a stable id per document, the topics and the texts their
    `representative` indices point into."""

    doc_topics: list[int]
    topics: list[TopicInfo]
    texts: list[str]
    version: str
    lineage: list[dict]
    outlier_share: float


def run_topics(settings: Settings, docs: list[str], texts: list[str], run_date: date,
               stopwords: frozenset[str], refit: bool = False) -> TopicRun:
    """`run_topics_over` on documents held in memory."""
    result = run_topics_over(settings, DocSource(docs, texts), run_date, stopwords, refit)
    result.doc_topics = [int(t) for t in result.doc_topics]
    return result


def run_topics_over(settings: Settings, source: DocSource, run_date: date,
                    stopwords: frozenset[str], refit: bool = False) -> TopicRun:
    """The nightly topic step: load the current model and transform (no refit); fit and save when
    there is none; refit when asked or when tonight's outlier share passes the threshold.
    `doc_topics` is a numpy array of stable (override-effective) ids, one per document."""
    overrides = load_overrides(settings.topics.overrides)
    store = TopicStore(model_root(settings))
    current = store.latest(settings)
    assigned: np.ndarray | None = None
    n = source.total
    if current is None:
        made = fit_new(settings, store, source, run_date, stopwords, overrides, None, "first fit")
        if made is not None:
            current, assigned = made
    elif refit:
        made = fit_new(settings, store, source, run_date, stopwords, overrides, current,
                       "requested")
        if made is not None:
            current, assigned = made
    else:
        assigned = concat_topics(source.transform(current.model))
        share = outlier_share(assigned)
        if n and share > settings.topics.refit_outlier_share:
            log.warning("%.0f%% of tonight's sentences fit no topic (threshold %.0f%%): refitting",
                        100 * share, 100 * settings.topics.refit_outlier_share)
            made = fit_new(settings, store, source, run_date, stopwords, overrides, current,
                           f"outlier share {share:.2f}", previous_tonight=assigned)
            if made is not None:
                current, assigned = made
    if current is None or assigned is None:
        return TopicRun(np.full(n, OUTLIER, dtype=np.int64), [], [], "", [],
                        1.0 if n else 0.0)
    stable = np.asarray(current.stable(assigned.tolist()), dtype=np.int64)
    effective = np.asarray([overrides.effective_id(int(t)) for t in stable], dtype=np.int64)
    topics, texts = describe_sources(current, stable, effective, source, overrides,
                                     settings.topics.top_n_words, stopwords)
    lineage = ([asdict(e) | {"from_version": current.parent or "", "to_version": current.version}
                for e in current.lineage] if current.fit_date == run_date.isoformat() else [])
    return TopicRun(effective, topics, texts, current.version, lineage,
                    outlier_share(effective))


def describe_sources(current: StoredModel, stable: np.ndarray, effective: np.ndarray,
                     source: DocSource, overrides: TopicOverrides, top_n: int,
                     stopwords: frozenset[str]) -> tuple[list[TopicInfo], list[str]]:
    """`describe_topics` over a sharded source in two passes over the shards' embeddings
    (centroids, then the members nearest them): each shard offers its first 3 distinct texts
    in the members' order, which contain the night's first 3 distinct texts. Returns the topics
    and the texts their `representative` indices point into."""
    weights = current.stable_keywords()
    ids = sorted(set(effective.tolist()) - {OUTLIER})
    offsets = source.offsets
    sums: dict[int, np.ndarray] = {}
    counts: dict[int, int] = dict.fromkeys(ids, 0)
    for k in range(len(source.counts)):
        eff = effective[offsets[k]:offsets[k + 1]]
        if not len(eff):
            continue
        emb = source.embeddings(k)
        for topic in set(eff.tolist()) - {OUTLIER}:
            rows = emb[eff == topic]
            sums[topic] = sums.get(topic, 0.0) + rows.astype(np.float64).sum(axis=0)
            counts[topic] += len(rows)
    centroids = {t: (sums[t] / counts[t]).astype(np.float32) for t in ids}
    candidates: dict[int, list[tuple[float, int, str]]] = {t: [] for t in ids}
    for k in range(len(source.counts)):
        eff = effective[offsets[k]:offsets[k + 1]]
        present = set(eff.tolist()) - {OUTLIER}
        if not present:
            continue
        emb, texts = source.embeddings(k), source.texts(k)
        for topic in present:
            members = np.flatnonzero(eff == topic)
            scores = emb[members] @ centroids[topic]
            seen: set[str] = set()
            for i in np.argsort(-scores, kind="stable"):
                text = texts[members[i]]
                if text not in seen:
                    seen.add(text)
                    candidates[topic].append((-float(scores[i]), offsets[k] + int(members[i]),
                                              text))
                if len(seen) == 3:
                    break
    out, texts_out = [], []
    for topic in ids:
        representative, seen = [], set()
        for _, _, text in sorted(candidates[topic]):
            if text not in seen:
                seen.add(text)
                representative.append(len(texts_out))
                texts_out.append(text)
            if len(representative) == 3:
                break
        merged = [topic] + overrides.merge.get(topic, [])
        sizes = {t: int(np.sum(stable == t)) for t in merged}
        keywords = clean_keywords(merge_keywords(weights, sizes, merged, 3 * top_n),
                                  stopwords)[:top_n]
        label = overrides.label_for(topic, keywords, readable_label(keywords, 3, stopwords))
        out.append(TopicInfo(topic, label, [k.replace(" ", "") for k in keywords], counts[topic],
                             representative))
    return out, texts_out


def describe_topics(current: StoredModel, stable: list[int], effective: list[int],
                    embeddings: np.ndarray,
                    texts: list[str], overrides: TopicOverrides, top_n: int,
                    stopwords: frozenset[str]) -> list[TopicInfo]:
    """One TopicInfo per topic with members tonight: label, keywords, size, 3 verbatims nearest
    the members' centroid (distinct texts)."""
    weights = current.stable_keywords()
    effective_arr = np.asarray(effective)
    out = []
    for topic in sorted(set(effective) - {OUTLIER}):
        members = np.flatnonzero(effective_arr == topic)
        ids = [topic] + overrides.merge.get(topic, [])
        sizes = {t: stable.count(t) for t in ids}
        keywords = clean_keywords(merge_keywords(weights, sizes, ids, 3 * top_n), stopwords)[:top_n]
        centroid = embeddings[members].mean(axis=0)
        order = members[np.argsort(-(embeddings[members] @ centroid), kind="stable")]
        representative, seen = [], set()
        for i in order:
            if texts[i] not in seen:
                seen.add(texts[i])
                representative.append(int(i))
            if len(representative) == 3:
                break
        label = overrides.label_for(topic, keywords, readable_label(keywords, 3, stopwords))
        out.append(TopicInfo(topic, label, [k.replace(" ", "") for k in keywords], len(members),
                             representative))
    return out

