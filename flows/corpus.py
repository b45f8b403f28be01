"""Read labelled CSVs and the configured inputs as plain sentence lists for training/evaluation."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from flows.sources import SourceContext, list_files, read_channel
from nlp.config import Settings
from nlp.errors import ConfigError
from nlp.normalize import decode_bytes, normalize_record
from nlp.records import CHANNELS
from nlp.sentences import explode_sentences


def read_labelled_csv(path: Path, text_column: str, label_column: str | None) -> tuple[list[str], list[str]]:
    """Texts and labels from a CSV in any of the supported encodings; a missing column is named."""
    if not path.is_file():
        raise ConfigError(f"data file '{path}' not found")
    text, _ = decode_bytes(path.read_bytes())
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = reader.fieldnames or []
    for column in filter(None, (text_column, label_column)):
        if column not in columns:
            raise ConfigError(f"'{path}' has no column '{column}' (columns: {', '.join(columns)})")
    texts, labels = [], []
    for row in reader:
        if not (row.get(text_column) or "").strip():
            continue
        texts.append(row[text_column])
        labels.append((row.get(label_column) or "").strip() if label_column else "")
    return texts, labels


def customer_sentences(settings: Settings) -> list[str]:
    """Every normalised customer sentence of the configured input folders."""
    tz = ZoneInfo(settings.run.timezone)
    ctx = SourceContext(settings.run.timezone, "corpus", datetime.now(tz))
    records = []
    for channel in CHANNELS:
        source = getattr(settings.sources, channel)
        root = settings.run.input_dir / source.path
        if source.enabled and root.is_dir():
            records += read_channel(channel, list_files(root, source.patterns), ctx).records
    normalized = [normalize_record(r, simplified=settings.normalize.to_simplified,
                                   max_chars=settings.normalize.max_text_chars) for r in records]
    return [s.text for s in explode_sentences(normalized, settings.normalize.min_sentence_chars)
            if s.role == "customer"]
