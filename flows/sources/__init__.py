"""One module per feedback channel; each turns its files into Records and quarantine items."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from flows.sources import call, chat, complaints, forum
from flows.sources.base import (
    DrainFailed,
    QuarantineItem,
    RecordProblem,
    SourceBatch,
    SourceContext,
    quarantine,
)
from nlp.errors import Reason
from nlp.records import Record

log = logging.getLogger(__name__)

READERS = {
    "complaint": complaints.read_file,
    "forum": forum.read_file,
    "chat": chat.read_file,
    "call": call.read_file,
}


def list_files(root: Path, patterns: list[str]) -> list[Path]:
    files = {p for pattern in patterns for p in root.glob(pattern) if p.is_file()}
    return sorted(files)


def read_channel(channel: str, files: list[Path], ctx: SourceContext,
                 drain: Callable[[list[Record]], None] | None = None,
                 drain_every: int = 10_000) -> SourceBatch:
    """Read every file of one channel; a file that cannot be decoded or opened is quarantined
    whole and the others are still read. With `drain`, records go to it in groups of
    `drain_every` as they are read (SourceBatch.add) and the batch keeps counts only."""
    batch = SourceBatch(channel=channel, drain=drain, drain_every=drain_every)
    reader = READERS[channel]
    for path in files:
        batch.files.append(path.name)
        try:
            reader(path, ctx, batch)
        except DrainFailed as exc:
            raise exc.__cause__ from None
        except UnicodeDecodeError as exc:
            batch.read += 1
            quarantine(batch, path, "file", RecordProblem(Reason.UNDECODABLE, str(exc)), "")
        except Exception as exc:  # noqa: BLE001 - any unreadable file is quarantined, not fatal
            log.warning("%s: cannot read %s: %s", channel, path, exc)
            batch.read += 1
            quarantine(batch, path, "file", RecordProblem(Reason.UNREADABLE_FILE, str(exc)), "")
    try:
        batch.flush()
    except DrainFailed as exc:
        raise exc.__cause__ from None
    return batch


__all__ = ["QuarantineItem", "READERS", "SourceBatch", "SourceContext", "list_files", "read_channel"]
