"""Turn normalised Records into one row per sentence, keeping who said it and where."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from nlp.normalize import split_sentences
from nlp.records import Record


@dataclass(slots=True)
class Sentence:
    record_id: str
    channel: str
    turn_index: int
    sentence_index: int
    role: str
    text: str


def explode_sentences(records: Iterable[Record], min_chars: int = 2) -> list[Sentence]:
    """Every turn's sentences, in order. Agent and system turns are kept (they show transfers and
    holds) but only customer sentences are scored later."""
    rows: list[Sentence] = []
    for record in records:
        index = 0
        for turn_index, turn in enumerate(record.turns):
            for text in split_sentences(turn.text, min_chars):
                rows.append(Sentence(record.record_id, record.channel, turn_index, index,
                                     turn.role, text))
                index += 1
    return rows
