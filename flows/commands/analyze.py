"""`voc analyze`: the full analysis of single pieces of feedback, as a table or one JSON per line.

Each piece is normalised and split into sentences as the nightly flow does; every sentence gets
sentiment, stage, touchpoint, topic (from the persisted topic model under
run.output_dir/topic_model when one exists, else -1) and signals; every sentence is split into
aspect mentions with offsets, sentiment and emotions (nlp/mentions.py).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from flows.components import Components, load_components
from flows.mentions import make_extractor
from nlp.config import Settings, load_settings
from nlp.errors import VocError
from nlp.normalize import normalize_text, split_sentences
from nlp.topics import OUTLIER

log = logging.getLogger(__name__)
ConfigOption = Annotated[Path | None, typer.Option("--config", help="Pipeline YAML.")]


class TopicLookup:
    """Topic ids and keywords from the persisted model, or -1 for everything without one."""

    def __init__(self, settings: Settings, comp: Components) -> None:
        self.settings = settings
        self.comp = comp
        self.stored = None
        self.keywords: dict[int, list[str]] = {}
        try:
            from flows.topic_store import TopicStore, load_overrides, model_root

            self.stored = TopicStore(model_root(settings)).latest(settings)
            self.overrides = load_overrides(settings.topics.overrides)
        except Exception as exc:  # noqa: BLE001 - a broken model must not stop an analysis
            log.warning("no usable topic model (%s): topics are -1", exc)
            self.stored = None
        if self.stored is not None:
            self.keywords = {t: list(words) for t, words in self.stored.stable_keywords().items()}

    def assign(self, texts: Sequence[str]) -> list[int]:
        out = [OUTLIER] * len(texts)
        if self.stored is None:
            return out
        content = [self.comp.segmenter.content_tokens(t) for t in texts]
        keep = [i for i, toks in enumerate(content) if len(toks) >= self.settings.topics.min_tokens]
        if keep:
            assigned = self.stored.model.transform([" ".join(content[i]) for i in keep])
            stable = self.stored.stable(list(assigned.topics))
            for i, topic in zip(keep, stable, strict=True):
                out[i] = self.overrides.effective_id(topic)
        return out


def analyze_texts(texts: Sequence[str], settings: Settings, comp: Components,
                  topics: TopicLookup | None = None) -> list[dict[str, Any]]:
    """One result dict per input text: sentences, mentions (offsets into the sentence and into
    the normalised text), document signals."""
    topics = topics or TopicLookup(settings, comp)
    extractor = make_extractor(settings, comp, topics.keywords)
    results = []
    for raw in texts:
        text = normalize_text(raw, simplified=settings.normalize.to_simplified,
                              max_chars=settings.normalize.max_text_chars).text
        sentences = split_sentences(text, settings.normalize.min_sentence_chars)
        tokens = [comp.segmenter.tokens(s) for s in sentences]
        sentiments = comp.sentiment.predict(sentences)
        stages = comp.tagger.tag(tokens)
        topic_ids = topics.assign(sentences)
        mentions = extractor.extract(sentences, [r.stage for r in stages],
                                     [r.touchpoint for r in stages], topic_ids)
        signals = comp.detector.detect(tokens)
        offsets, cursor = [], 0
        for sentence in sentences:
            at = text.find(sentence, cursor)
            offsets.append(max(at, 0))
            cursor = max(at, 0) + len(sentence)
        results.append({
            "text": text,
            "sentences": [
                {"index": i, "text": s, "sentiment": r.label, "score": r.score,
                 "stage": st.stage, "stage_method": st.method, "touchpoint": st.touchpoint,
                 "topic_id": topic, "signals": comp.detector.sentence_signals(toks)}
                for i, (s, r, st, topic, toks) in enumerate(
                    zip(sentences, sentiments, stages, topic_ids, tokens, strict=True))
            ],
            "mentions": [
                {"sentence": i, "start": m.start, "end": m.end,
                 "doc_start": offsets[i] + m.start, "doc_end": offsets[i] + m.end,
                 "text": sentences[i][m.start:m.end], "aspect": m.aspect, "stage": m.stage,
                 "touchpoint": m.touchpoint, "topic_id": m.topic_id,
                 "sentiment": m.sentiment_label, "score": round(m.sentiment_score, 4),
                 "emotions": m.emotions}
                for i, sentence_mentions in enumerate(mentions) for m in sentence_mentions
            ],
            "signals": sorted(name for name, on in signals.flags.items() if on),
            "effort_score": signals.effort_score,
        })
    return results


def _print_rich(result: dict[str, Any], console: Console) -> None:
    console.rule(result["text"][:60])
    table = Table("#", "mention", "aspect", "stage", "topic", "sentiment", "emotions",
                  show_lines=False)
    colour = {"positive": "green", "negative": "red", "neutral": "white"}
    for m in result["mentions"]:
        emotions = ", ".join(f"{e} {v:.2f}" for e, v in m["emotions"].items())
        table.add_row(f"{m['sentence']}:{m['start']}-{m['end']}", m["text"], m["aspect"],
                      m["stage"] + (f" / {m['touchpoint']}" if m["touchpoint"] else ""),
                      str(m["topic_id"]),
                      f"[{colour[m['sentiment']]}]{m['sentiment']} {m['score']:+.2f}[/]",
                      emotions)
    console.print(table)
    if result["signals"]:
        console.print(f"signals: {', '.join(result['signals'])} (effort {result['effort_score']})")


def analyze(
    text: Annotated[str | None, typer.Argument(help="One piece of feedback.")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="UTF-8 file, one piece per line.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per input line.")] = False,
    config: ConfigOption = None,
) -> None:
    """Analyse single pieces of feedback: sentences, aspect mentions with offsets, stage,
    touchpoint, topic, sentiment, emotions and signals."""
    if (text is None) == (file is None):
        raise typer.BadParameter("give either TEXT or --file")
    try:
        settings = load_settings(config)
        lines = ([text] if text is not None
                 else [ln for ln in file.read_text(encoding="utf-8").splitlines() if ln.strip()])
        comp = load_components(settings)
        results = analyze_texts(lines, settings, comp)
    except (VocError, OSError) as exc:
        Console(stderr=True).print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    if as_json:
        for result in results:
            typer.echo(json.dumps(result, ensure_ascii=False))
        return
    console = Console()
    for result in results:
        _print_rich(result, console)
