"""Fitted topic models on disk and the nightly topic step: load, assign, refit, align, override.

Layout: `<topics.model_dir>/vNNNN/` with `bertopic.pkl` (BERTopic.save, pickle, no embedding
model), `state.joblib` (our embedder, centroids, parameters), `docs.json` (the fit sample of
content-token documents, reused by the next refit), `lineage.json` and `meta.json` (version,
fit date, parent, settings, stable id map, keywords). The highest complete version is current.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path

import joblib
import numpy as np
from bertopic import BERTopic

from nlp.config import Settings, read_yaml, validate
from nlp.topics import OUTLIER, TopicInfo, TopicModel, TopicParams, make_embedder
from nlp.topics.align import LineageEdge, align_topics
from nlp.topics.labels import clean_keywords, readable_label
from nlp.topics.model import Assignment, BackendAdapter
from nlp.topics.overrides import TopicOverrides, merge_keywords

log = logging.getLogger(__name__)
# The topic_lineage table (flows/sinks/schema.py): one row per edge of a refit's alignment.
LINEAGE_COLUMNS = ["old_topic_id", "new_topic_id", "relation", "similarity", "shared_docs",
                   "from_version", "to_version"]


def model_root(settings: Settings) -> Path:
    return Path(settings.topics.model_dir or settings.run.output_dir / "topic_model")


def load_overrides(path: Path) -> TopicOverrides:
    """The researcher overrides; a missing file means none. Errors name the file and key."""
    if not Path(path).is_file():
        return TopicOverrides()
    return validate(TopicOverrides, read_yaml(Path(path)), [Path(path)])


def topic_params(settings: Settings) -> TopicParams:
    t = settings.topics
    return TopicParams(min_topic_size=t.min_topic_size, min_samples=t.min_samples,
                       cluster_selection=t.cluster_selection, reduce_dim=t.reduce_dim,
                       top_n_words=t.top_n_words, outlier_threshold=t.outlier_threshold,
                       fit_max_docs=t.fit_max_docs, seed=t.seed)


def new_topic_model(settings: Settings, stopwords: frozenset[str]) -> TopicModel:
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


def fit_new(settings: Settings, store: TopicStore, docs: list[str], run_date: date,
            stopwords: frozenset[str], overrides: TopicOverrides,
            previous: StoredModel | None, reason: str) -> tuple[StoredModel, Assignment] | None:
    """Fit a new version; with a previous version, on its fit sample plus `docs`, keeping the old
    ids of topics that still exist (alignment) and recording lineage."""
    corpus = (previous.docs if previous else []) + list(docs)
    model = new_topic_model(settings, stopwords)
    fitted = model.fit(corpus, overrides.seed_lists())
    if fitted is None:
        return None
    internal = sorted(model.keywords())
    if previous is None:
        id_map, next_id, lineage = {t: t for t in internal}, len(internal), []
    else:
        old = previous.stable(previous.model.transform(corpus).topics)
        id_map, lineage, next_id = align_topics(
            old, fitted.topics, previous.stable_keywords(),
            {t: dict(w) for t, w in model.keywords().items()}, previous.next_id,
            settings.topics.align_threshold)
    sample = corpus[-settings.topics.fit_max_docs:]
    stored = StoredModel(model, store.next_version(), run_date.isoformat(), id_map, next_id,
                         sample, previous.version if previous else None, lineage)
    store.save(stored, settings, {"reason": reason,
                                  "outlier_share": round(outlier_share(fitted.topics), 4)})
    tail = Assignment(fitted.topics[len(corpus) - len(docs):], fitted.raw_outlier_share,
                      fitted.embeddings[len(corpus) - len(docs):])
    return stored, tail


def outlier_share(topics: list[int]) -> float:
    return float(np.mean(np.asarray(topics) == OUTLIER)) if topics else 0.0


@dataclass
class TopicRun:
    """What the nightly step hands on: a stable id per document, the topics and their texts."""

    doc_topics: list[int]
    topics: list[TopicInfo]
    texts: list[str]
    version: str
    lineage: list[dict]
    outlier_share: float


def run_topics(settings: Settings, docs: list[str], texts: list[str], run_date: date,
               stopwords: frozenset[str], refit: bool = False) -> TopicRun:
    """The nightly topic step: load the current model and transform (no refit); fit and save when
    there is none; refit when asked or when tonight's outlier share passes the threshold."""
    overrides = load_overrides(settings.topics.overrides)
    store = TopicStore(model_root(settings))
    current = store.latest(settings)
    assigned: Assignment | None = None
    if current is None:
        made = fit_new(settings, store, docs, run_date, stopwords, overrides, None, "first fit")
        if made is not None:
            current, assigned = made
    elif refit:
        made = fit_new(settings, store, docs, run_date, stopwords, overrides, current, "requested")
        if made is not None:
            current, assigned = made
    else:
        assigned = current.model.transform(docs)
        share = outlier_share(assigned.topics)
        if docs and share > settings.topics.refit_outlier_share:
            log.warning("%.0f%% of tonight's sentences fit no topic (threshold %.0f%%): refitting",
                        100 * share, 100 * settings.topics.refit_outlier_share)
            made = fit_new(settings, store, docs, run_date, stopwords, overrides, current,
                           f"outlier share {share:.2f}")
            if made is not None:
                current, assigned = made
    if current is None or assigned is None:
        return TopicRun([OUTLIER] * len(docs), [], list(texts), "", [], 1.0 if docs else 0.0)
    stable = current.stable(assigned.topics)
    effective = [overrides.effective_id(t) for t in stable]
    topics = describe_topics(current, stable, effective, assigned.embeddings, texts, overrides,
                             settings.topics.top_n_words, stopwords)
    lineage = ([asdict(e) | {"from_version": current.parent or "", "to_version": current.version}
                for e in current.lineage] if current.fit_date == run_date.isoformat() else [])
    return TopicRun(effective, topics, list(texts), current.version, lineage,
                    outlier_share(effective))


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

