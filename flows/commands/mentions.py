"""`voc eval mentions`: (stage, polarity) pairs from aspect mentions against a labelled CSV.

The CSV has columns id, text, pairs with pairs = `stage:polarity|stage:polarity`. A piece of
feedback's predicted pairs are the set of (stage, sentiment) of its placed, non-neutral mentions
over all its sentences: two mentions with the same pair count once, a stage with a positive and
a negative mention counts twice. Gold `neutral` pairs count as expected but can never be found
(neutral mentions yield no pair).
Figures: share of expected pairs found (recall) and share of predicted pairs that are wrong
(not expected), overall, per stage, and for odd and even ids separately (tune on odd ids only).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import zlib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from flows.commands.analyze import ConfigOption
from flows.components import load_components
from flows.mentions import make_extractor
from nlp.config import load_settings
from nlp.errors import ConfigError
from nlp.mentions import mention_pairs
from nlp.normalize import decode_bytes, normalize_text, split_sentences

Pair = tuple[str, str]


def parse_pairs(value: str) -> set[Pair]:
    pairs = set()
    for item in filter(None, (p.strip() for p in (value or "").split("|"))):
        stage, _, polarity = item.partition(":")
        pairs.add((stage.strip(), polarity.strip()))
    return pairs


def read_pairs_csv(path: Path, columns: Sequence[str] = ("id", "text", "pairs")) -> list[dict]:
    """The rows with a text of a CSV (or gzip-compressed `.csv.gz`) in any supported encoding;
    missing `columns` are named."""
    if not path.is_file():
        raise ConfigError(f"data file '{path}' not found")
    data = path.read_bytes()
    if path.name.lower().endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:  # not gzip, cut off, corrupted
            raise ConfigError(f"'{path}' is not a readable gzip file: {error}") from error
    text, _ = decode_bytes(data)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = set(columns) - set(reader.fieldnames or [])
    if missing:
        raise ConfigError(f"'{path}' lacks columns {sorted(missing)}")
    return [row for row in reader if (row.get("text") or "").strip()]


def id_half(row_id: str) -> str:
    digits = re.findall(r"\d+", row_id or "")
    return "odd" if digits and int(digits[-1]) % 2 else "even"


def pair_scores(gold: Sequence[set[Pair]], predicted: Sequence[set[Pair]]) -> dict:
    """n, expected pairs found share, predicted pairs wrong share, and both per stage."""
    expected = Counter(s for g in gold for s, _ in g)
    found = Counter(s for g, p in zip(gold, predicted, strict=True) for s, _ in g & p)
    made = Counter(s for p in predicted for s, _ in p)
    wrong = Counter(s for g, p in zip(gold, predicted, strict=True) for s, _ in p - g)
    n_expected, n_made = sum(expected.values()), sum(made.values())
    return {
        "n": len(gold),
        "expected_pairs": n_expected,
        "predicted_pairs": n_made,
        "found_share": round(sum(found.values()) / n_expected, 4) if n_expected else None,
        "wrong_share": round(sum(wrong.values()) / n_made, 4) if n_made else None,
        "exact_match": round(sum(g == p for g, p in zip(gold, predicted, strict=True))
                             / len(gold), 4) if gold else None,
        "per_stage": {
            stage: {"expected": expected[stage], "found": found[stage],
                    "predicted": made[stage], "wrong": wrong[stage],
                    "found_share": round(found[stage] / expected[stage], 4) if expected[stage] else None,
                    "wrong_share": round(wrong[stage] / made[stage], 4) if made[stage] else None}
            for stage in sorted(set(expected) | set(made))
        },
    }


def predict_pairs(texts: Sequence[str], settings, comp, extractor=None) -> list[set[Pair]]:
    extractor = extractor or make_extractor(settings, comp)
    out = []
    for raw in texts:
        text = normalize_text(raw, simplified=settings.normalize.to_simplified).text
        sentences = split_sentences(text, settings.normalize.min_sentence_chars)
        stages = comp.tagger.tag([comp.segmenter.tokens(s) for s in sentences])
        mentions = extractor.extract(sentences, [r.stage for r in stages],
                                     [r.touchpoint for r in stages])
        out.append(set().union(*(mention_pairs(m) for m in mentions)) if mentions else set())
    return out


def eval_mentions(
    data: Annotated[Path, typer.Option(help="CSV with id, text and pairs (stage:polarity|...).")],
    config: ConfigOption = None,
    show_errors: Annotated[bool, typer.Option(help="Print each row whose pairs differ.")] = False,
    half: Annotated[str, typer.Option(help="Rows printed with --show-errors: odd, even or all.")] = "odd",
    ids: Annotated[str, typer.Option(help="Rows scored: odd (tuning), even (held out) or all.")] = "all",
) -> None:
    """Extract mentions from each text and print one JSON line last: n, share of expected pairs
    found, share of predicted pairs wrong, per stage, and the odd and even id halves (only the
    halves `--ids` selects: `--ids odd` never reads the held-out rows' predictions)."""
    if ids not in ("odd", "even", "all") or half not in ("odd", "even", "all"):
        raise ConfigError(f"--ids and --half take odd, even or all (got '{ids}', '{half}')")
    settings = load_settings(config)
    comp = load_components(settings)
    rows = [r for r in read_pairs_csv(data) if ids in (id_half(r["id"]), "all")]
    gold = [parse_pairs(r["pairs"]) for r in rows]
    predicted = predict_pairs([r["text"] for r in rows], settings, comp)
    halves = [id_half(r["id"]) for r in rows]
    if show_errors:
        for row, g, p, h in zip(rows, gold, predicted, halves, strict=True):
            if g != p and half in (h, "all"):
                typer.echo(f"{row['id']} {row['text']}\n  gold {sorted(g)}\n  pred {sorted(p)}")
    summary = pair_scores(gold, predicted)
    for name in ("odd", "even") if ids == "all" else (ids,):
        keep = [i for i, h in enumerate(halves) if h == name]
        summary[name] = pair_scores([gold[i] for i in keep], [predicted[i] for i in keep])
    typer.echo(json.dumps(summary, ensure_ascii=False))
