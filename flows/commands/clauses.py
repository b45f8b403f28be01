"""`voc train clauses`: the clause model (nlp/clause_model.py) from hand-labelled clauses.

The labelled CSV has one row per clause of a piece of feedback: doc_id, text, stage (a journey
stage or `none`), polarity (positive, negative, neutral); a document's clauses in order join to
its text. The pipeline splits a document its own way (normalisation, sentences,
nlp.mentions.split_clauses), so each of its clauses takes the label of the hand-labelled clause
that covers most of its characters. Documents that are near copies of an evaluation set's texts
are left out. A stable share of documents is held out first: the card reports the rules and the
model on it (clause accuracy and the (stage, polarity) pair figures of `voc eval mentions`), then
the model is fitted on every document and saved.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from flows.commands.analyze import ConfigOption
from flows.commands.mentions import pair_scores, predict_pairs, read_pairs_csv
from flows.components import load_components
from flows.mentions import make_extractor
from flows.sentiment_data import ROOT, evaluation_sentences, not_near_duplicates
from nlp.clause_model import NONE, POLARITIES, ClauseInput, fit_clause_model, save_clause_model
from nlp.config import load_settings
from nlp.errors import ConfigError
from nlp.normalize import normalize_text, split_sentences
from nlp.sentiment.train import stable_bucket

log = logging.getLogger(__name__)
LABELLED = Path("data/labelled/mention_clauses.csv.gz")
# the mention evaluation sets (every tests/data/mixed_aspects*.csv, so a new one cannot be
# forgotten): no training document may be a near copy of one of their texts
EVALUATION_SETS = tuple(p.relative_to(ROOT) for p in sorted(ROOT.glob("tests/data/mixed_aspects*.csv")))


@dataclass
class Document:
    doc_id: str
    clauses: list[tuple[str, str, str]]  # (text, stage, polarity)

    @property
    def text(self) -> str:
        return "".join(t for t, _, _ in self.clauses)

    def pairs(self) -> set[tuple[str, str]]:
        return {(s, p) for _, s, p in self.clauses if s != NONE and p != "neutral"}


def read_documents(path: Path, stages: set[str]) -> list[Document]:
    """The labelled clauses grouped into documents, in file order; a missing column or a bad
    label is an error naming it (and the row)."""
    rows = read_pairs_csv(path, ("doc_id", "text", "stage", "polarity"))
    docs: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for number, row in enumerate(rows, start=2):
        stage, polarity = row["stage"].strip(), row["polarity"].strip()
        if stage not in stages | {NONE}:
            raise ConfigError(f"'{path}' row {number}: stage '{stage}' is neither a journey "
                              f"stage nor '{NONE}'")
        if polarity not in POLARITIES:
            raise ConfigError(f"'{path}' row {number}: polarity '{polarity}' is not one of "
                              f"{', '.join(POLARITIES)}")
        docs[row["doc_id"].strip()].append((row["text"], stage, polarity))
    return [Document(k, v) for k, v in docs.items()]


def examples(doc: Document, settings, comp, extractor
             ) -> tuple[list[ClauseInput], list[str], list[str]] | None:
    """The pipeline's clauses of one document with the hand labels projected onto them; None
    when normalising the clauses one by one does not give the normalised document."""
    simplified = settings.normalize.to_simplified
    parts = [normalize_text(t, simplified=simplified).text for t, _, _ in doc.clauses]
    text = normalize_text(doc.text, simplified=simplified).text
    if "".join(parts) != text:
        return None
    owner: list[int] = []  # index of the labelled clause of each character
    for index, part in enumerate(parts):
        owner += [index] * len(part)
    sentences = split_sentences(text, settings.normalize.min_sentence_chars)
    offsets, pos = [], 0
    for sentence in sentences:
        at = text.find(sentence, pos)
        if at < 0:
            return None
        offsets.append(at)
        pos = at + len(sentence)
    tagged = comp.tagger.tag([comp.segmenter.tokens(s) for s in sentences])
    views = extractor.clause_inputs(sentences, [r.stage for r in tagged],
                                    [r.touchpoint for r in tagged])
    inputs, stages, polarities = [], [], []
    for offset, (clauses, clause_inputs) in zip(offsets, views, strict=True):
        for clause, clause_input in zip(clauses, clause_inputs, strict=True):
            covered = Counter(owner[offset + clause.start:offset + clause.end])
            _, stage, polarity = doc.clauses[covered.most_common(1)[0][0]]
            inputs.append(clause_input)
            stages.append(stage)
            polarities.append(polarity)
    return inputs, stages, polarities


def train_clauses(
    out: Annotated[Path, typer.Option(help="Directory of the new model.")] = Path("models/clause-zh-v1"),
    config: ConfigOption = None,
    labelled: Annotated[Path, typer.Option(
        help="Labelled clauses CSV: doc_id, text, stage (or none), polarity.")] = LABELLED,
    c: Annotated[float, typer.Option(help="Inverse regularisation of both classifiers.")] = 8.0,
    heldout: Annotated[float, typer.Option(
        help="Share of documents held out for the card's figures.")] = 0.2,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 13,
) -> None:
    """Train the clause model: stage and polarity per clause, read from the clause and the
    rules' view of it, on hand-labelled clauses; report it against the rules alone on held-out
    documents and save it with its card."""
    settings = load_settings(config)
    comp = load_components(settings)
    rules = make_extractor(settings.model_copy(update={"mentions": settings.mentions.model_copy(
        update={"clause_model": None})}), comp)
    docs = read_documents(labelled, set(comp.taxonomy.stages))
    keep = set(not_near_duplicates([d.text for d in docs], evaluation_sentences(EVALUATION_SETS)))
    dropped = len(docs) - len(keep)
    docs = [d for i, d in enumerate(docs) if i in keep]
    split: dict[str, list] = {"train": [], "heldout": []}
    skipped = 0
    for doc in docs:
        made = examples(doc, settings, comp, rules)
        if made is None:
            skipped += 1
            continue
        part = "heldout" if stable_bucket("clauses:" + doc.doc_id, 1000) < heldout * 1000 else "train"
        split[part].append((doc, made))
    log.info("%d documents (%d near copies of evaluation texts left out, %d not alignable): "
             "%d training, %d held out", len(docs) + dropped, dropped, skipped,
             len(split["train"]), len(split["heldout"]))

    def stacked(items):
        return ([i for _, (ins, _, _) in items for i in ins],
                [s for _, (_, ss, _) in items for s in ss],
                [p for _, (_, _, ps) in items for p in ps])

    card = {"name": "voc.clauses.v1", "labelled": str(labelled), "c": c, "seed": seed,
            "documents": len(docs), "left_out_near_evaluation": dropped,
            "not_alignable": skipped}
    if split["heldout"]:
        model = fit_clause_model(*stacked(split["train"]), c=c, seed=seed)
        inputs, stages, polarities = stacked(split["heldout"])
        predicted = model.predict(inputs)
        held = [d for d, _ in split["heldout"]]
        gold = [d.pairs() for d in held]
        texts = [d.text for d in held]
        rules_pairs = predict_pairs(texts, settings, comp, rules)
        rules.clause_model = model
        model_pairs = predict_pairs(texts, settings, comp, rules)
        rules.clause_model = None
        card["heldout"] = {
            "documents": len(held), "clauses": len(inputs),
            "stage_accuracy": round(sum(p[0] == s for p, s in zip(predicted, stages, strict=True))
                                    / len(inputs), 4),
            "polarity_accuracy": round(sum(p[2] == s for p, s in
                                           zip(predicted, polarities, strict=True)) / len(inputs), 4),
            "rules": {k: v for k, v in pair_scores(gold, rules_pairs).items() if k != "per_stage"},
            "model": {k: v for k, v in pair_scores(gold, model_pairs).items() if k != "per_stage"},
        }
        log.info("held out: %s", card["heldout"])
    everything = split["train"] + split["heldout"]
    inputs, stages, polarities = stacked(everything)
    card.update(clauses=len(inputs), stages=dict(Counter(stages)),
                polarities=dict(Counter(polarities)))
    model = fit_clause_model(inputs, stages, polarities, c=c, seed=seed, card=card)
    save_clause_model(model, out)
    typer.echo(f"clause model saved to {out}: {len(everything)} documents, {len(inputs)} clauses")
