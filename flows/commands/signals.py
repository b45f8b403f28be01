"""`voc eval signals`: per-signal precision and recall of the sentence-level CX signals.

The CSV has columns text, signal, label (1 = the sentence shows the signal, 0 = it does not);
each row asks one question about one signal, as in tests/data/gold_signals.csv.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Annotated

import typer

from flows.commands.stages import ConfigOption
from flows.components import load_components
from nlp.config import load_settings
from nlp.errors import ConfigError
from nlp.normalize import decode_bytes, normalize_text
from nlp.signals import signal_scores

COLUMNS = ("text", "signal", "label")


def read_signals_csv(path: Path) -> list[dict]:
    """Rows with a text, a signal name and a 0/1 label; a missing column is named."""
    if not path.is_file():
        raise ConfigError(f"data file '{path}' not found")
    text, _ = decode_bytes(path.read_bytes())
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = sorted(set(COLUMNS) - set(reader.fieldnames or []))
    if missing:
        raise ConfigError(f"'{path}' lacks columns {missing} (columns: "
                          f"{', '.join(reader.fieldnames or [])})")
    rows = [row for row in reader if (row.get("text") or "").strip()]
    bad = sorted({row["label"] for row in rows} - {"0", "1"})
    if bad:
        raise ConfigError(f"'{path}' column 'label' must be 0 or 1, found {bad}")
    return rows


def eval_signals(
    data: Annotated[Path, typer.Option(help="CSV with columns text, signal, label (0/1).")],
    config: ConfigOption = None,
) -> None:
    """Detect signals in each sentence as the pipeline does (customer side) and print one JSON
    line last: n and, per signal, precision, recall, tp/fp/fn and n."""
    settings = load_settings(config)
    comp = load_components(settings)
    rows = read_signals_csv(data)
    unknown = sorted({row["signal"] for row in rows} - set(comp.signal_config.signals))
    if unknown:
        raise ConfigError(f"'{data}' names signals the config lacks: {unknown} "
                          f"(known: {', '.join(sorted(comp.signal_config.signals))})")
    found = [comp.detector.sentence_signals(comp.segmenter.tokens(normalize_text(row["text"]).text))
             for row in rows]
    summary = signal_scores([row["signal"] for row in rows], [row["label"] == "1" for row in rows],
                            [row["signal"] in names for row, names in zip(rows, found, strict=True)])
    typer.echo(json.dumps(summary, ensure_ascii=False))
