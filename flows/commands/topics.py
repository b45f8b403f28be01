"""`voc topics list | refit` and `voc eval topics`: the persisted topic model and its quality."""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from flows.components import load_components
from flows.corpus import customer_sentences, read_labelled_csv
from flows.topic_store import (
    TopicStore,
    describe_topics,
    load_overrides,
    model_root,
    new_topic_model,
    outlier_share,
    run_topics,
)
from nlp.config import load_settings
from nlp.normalize import normalize_text
from nlp.topics import OUTLIER
from nlp.topics.labels import clean_keywords
from nlp.topics.quality import agreement, npmi_coherence, topic_diversity

log = logging.getLogger(__name__)
ConfigOption = Annotated[Path | None, typer.Option("--config", help="Pipeline YAML.")]


def _documents(settings, texts: list[str]):
    seg = load_components(settings).segmenter
    content = [seg.content_tokens(normalize_text(t).text) for t in texts]
    keep = [i for i, c in enumerate(content) if len(c) >= settings.topics.min_tokens]
    return seg, content, keep


def list_topics(config: ConfigOption = None) -> None:
    """Print the current model's topics (id, label, size, keywords, stage mix) on the configured
    inputs, with the researcher overrides applied."""
    settings = load_settings(config)
    store = TopicStore(model_root(settings))
    current = store.latest(settings)
    if current is None:
        typer.echo(f"no topic model in {store.root}; run `voc run` or `voc topics refit` first")
        raise typer.Exit(1)
    comp = load_components(settings)
    texts = customer_sentences(settings)
    _, content, keep = _documents(settings, texts)
    docs = [" ".join(content[i]) for i in keep]
    kept_texts = [texts[i] for i in keep]
    assigned = current.model.transform(docs)
    overrides = load_overrides(settings.topics.overrides)
    stable = current.stable(assigned.topics)
    effective = [overrides.effective_id(t) for t in stable]
    topics = describe_topics(current, stable, effective, assigned.embeddings, kept_texts,
                             overrides, settings.topics.top_n_words, comp.segmenter.stopwords)
    stages = comp.tagger.tag([comp.segmenter.tokens(t) for t in kept_texts])
    table = Table(title=f"topics {current.version} (fitted {current.fit_date}) on "
                        f"{len(docs)} sentences, outlier share {outlier_share(effective):.2f}")
    for column in ("id", "label", "size", "keywords", "stage mix"):
        table.add_column(column)
    for topic in sorted(topics, key=lambda t: -t.size):
        mix = Counter(s.stage for s, e in zip(stages, effective, strict=True) if e == topic.topic_id)
        table.add_row(str(topic.topic_id), topic.label, str(topic.size),
                      " ".join(topic.keywords[:6]),
                      " ".join(f"{k}:{v}" for k, v in mix.most_common(3)))
    Console(width=160).print(table)


def refit_topics(config: ConfigOption = None,
                 run_date: Annotated[str | None, typer.Option("--date", help="Fit date YYYY-MM-DD (default today); the nightly run of that date writes the lineage.")] = None) -> None:
    """Refit on the previous fit sample plus the configured inputs; old ids are kept for topics
    that still exist, lineage is saved with the new version."""
    settings = load_settings(config)
    comp = load_components(settings)
    texts = customer_sentences(settings)
    _, content, keep = _documents(settings, texts)
    day = date.fromisoformat(run_date) if run_date else date.today()
    result = run_topics(settings, [" ".join(content[i]) for i in keep], [texts[i] for i in keep],
                        day, comp.segmenter.stopwords, refit=True)
    relations = Counter(e["relation"] for e in result.lineage)
    typer.echo(f"topic model {result.version}: {len(result.topics)} topics; lineage "
               + ", ".join(f"{k} {v}" for k, v in sorted(relations.items())))


def eval_topics(
    data: Annotated[Path, typer.Option(help="CSV with a text column.")],
    text_column: Annotated[str, typer.Option(help="Column with the text.")] = "text",
    label_column: Annotated[str | None, typer.Option(help="Optional gold label column.")] = None,
    config: ConfigOption = None,
) -> None:
    """Fit topics on the file (nothing is saved) and print one JSON line last: n_docs, n_topics,
    outlier_share, NPMI coherence, diversity, and NMI/ARI against the label column if given."""
    settings = load_settings(config)
    texts, labels = read_labelled_csv(data, text_column, label_column)
    seg, content, keep = _documents(settings, texts)
    docs = [" ".join(content[i]) for i in keep]
    model = new_topic_model(settings, seg.stopwords)
    fitted = model.fit(docs)
    topics = [OUTLIER] * len(texts)
    words: list[list[str]] = []
    if fitted is not None:
        for i, t in zip(keep, fitted.topics, strict=True):
            topics[i] = t
        words = [clean_keywords([w for w, _ in kws], seg.stopwords)
                 for kws in model.keywords().values()]
    summary = {
        "data": str(data), "n_docs": len(texts), "n_topics": len(words),
        "outlier_share": round(outlier_share(topics), 4),
        "coherence_npmi": round(npmi_coherence(words, [d.split() for d in docs]), 4),
        "diversity": round(topic_diversity(words), 4),
    }
    if label_column:
        summary.update({k: round(v, 4) for k, v in agreement(labels, topics).items()})
    typer.echo(json.dumps(summary, ensure_ascii=False))
