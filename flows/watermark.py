"""Incremental nightly runs: which input files a run date reads (`run.incremental: true`).

The watermark is a state file, `<run.output_dir>/watermarks.json`, holding for every channel
the files already consumed: name relative to the channel folder, size, mtime (ns) and the run
date that consumed it. For run date D a channel reads
- every file that run date D consumed before (so a rerun of D re-reads exactly D's inputs and
  replaces D's rows: reruns stay idempotent), and
- every file not consumed yet, or changed since (other size or mtime), unless a later run date
  consumed it (re-running an old date never steals a newer date's files).
The state is saved only after the sink committed the run's tables, so a failed run consumes
nothing. Limits: the unit is a file, so sources should drop new files rather than append to old
ones (a changed file is re-read whole under the new date); the state file lives next to the
outputs, so several machines running the flow must share `run.output_dir`.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

log = logging.getLogger(__name__)
STATE_NAME = "watermarks.json"


@dataclass(frozen=True, slots=True)
class FileMark:
    size: int
    mtime_ns: int
    run_date: str  # ISO date of the run that consumed the file


def file_key(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


class Watermarks:
    """Per channel: file key -> FileMark."""

    def __init__(self, path: Path, marks: dict[str, dict[str, FileMark]] | None = None) -> None:
        self.path = Path(path)
        self.marks = marks or {}

    @classmethod
    def load(cls, output_dir: Path) -> Watermarks:
        path = Path(output_dir) / STATE_NAME
        if not path.is_file():
            return cls(path)
        data = json.loads(path.read_text(encoding="utf-8"))
        marks = {ch: {k: FileMark(**v) for k, v in files.items()}
                 for ch, files in data.get("channels", {}).items()}
        return cls(path, marks)

    def select(self, channel: str, root: Path, files: list[Path], run_date: date) -> list[Path]:
        """The files run date `run_date` reads (see the module docstring)."""
        known = self.marks.get(channel, {})
        day = run_date.isoformat()
        chosen = []
        for path in files:
            mark = known.get(file_key(root, path))
            if mark is None or mark.run_date == day:
                chosen.append(path)
                continue
            stat = path.stat()
            if (stat.st_size, stat.st_mtime_ns) != (mark.size, mark.mtime_ns) and mark.run_date < day:
                chosen.append(path)
        log.info("%s: %d of %d files are new or belong to %s", channel, len(chosen), len(files),
                 day)
        return chosen

    def consume(self, channel: str, root: Path, files: list[Path], run_date: date) -> None:
        known = self.marks.setdefault(channel, {})
        for path in files:
            stat = path.stat()
            known[file_key(root, path)] = FileMark(stat.st_size, stat.st_mtime_ns,
                                                   run_date.isoformat())

    def save(self) -> None:
        """Write atomically (temporary file, then rename)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"version": 1, "channels": {
            ch: {k: asdict(m) for k, m in sorted(files.items())}
            for ch, files in sorted(self.marks.items())}}
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path)
