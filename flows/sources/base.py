"""What every source shares: the batch it returns, quarantine items, timestamps, file reading."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from nlp.errors import REASON_TEXT, Reason
from nlp.normalize import decode_bytes, mask_pii, to_half_width
from nlp.records import Record, hash_customer, make_record_id


@dataclass(slots=True)
class QuarantineItem:
    channel: str
    source_file: str
    location: str
    reason_code: str
    reason: str
    detail: str
    excerpt: str  # PII-masked, at most 200 characters


@dataclass(slots=True)
class SourceBatch:
    """What one source read: `read` counts input units (rows, lines, objects, unparseable tails).

    With `drain`, records are handed to it every `drain_every` records (and at `flush`) instead
    of piling up: a channel's memory is bounded by that, not by its files."""

    channel: str
    records: list[Record] = field(default_factory=list)
    quarantine: list[QuarantineItem] = field(default_factory=list)
    read: int = 0
    files: list[str] = field(default_factory=list)
    n_records: int = 0  # records built, drained or not
    drain: Callable[[list[Record]], None] | None = None
    drain_every: int = 10_000

    def add(self, record: Record) -> None:
        self.records.append(record)
        self.n_records += 1
        if self.drain is not None and len(self.records) >= self.drain_every:
            self.flush()

    def flush(self) -> None:
        if self.drain is not None and self.records:
            records, self.records = self.records, []
            try:
                self.drain(records)
            except Exception as exc:
                raise DrainFailed(str(exc)) from exc


class DrainFailed(Exception):  # noqa: N818 - carries the drain's own error out of the reader
    """Staging the records failed (a full disk, not a bad input file): `read_channel` raises
    the cause so the read fails and is retried, instead of quarantining the file being read."""


@dataclass(frozen=True, slots=True)
class SourceContext:
    timezone: str
    salt: str
    now: datetime  # timestamps later than this (plus a small clock-skew allowance) are rejected

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class RecordProblem(Exception):
    """Raised while building one record; becomes a quarantine item, the run goes on."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(detail or REASON_TEXT[reason])
        self.reason = reason
        self.detail = detail or REASON_TEXT[reason]


def redact(obj: Any, pii_keys: tuple[str, ...]) -> tuple[Any, list[str]]:
    """Drop the fields a source marks as personal; return the object and the dropped string
    values (to mask them wherever else they occur in the excerpt)."""
    if not isinstance(obj, dict):
        return obj, []
    dropped = [str(obj[k]) for k in pii_keys if obj.get(k) not in (None, "")]
    return {k: v for k, v in obj.items() if k not in pii_keys}, dropped


def quarantine(batch: SourceBatch, path: Path, location: str, problem: RecordProblem,
               raw: Any, pii_keys: tuple[str, ...] = ()) -> None:
    """Record an input that could not be processed. The excerpt never carries personal data:
    marked fields are dropped and everything is PII-masked."""
    raw, names = redact(raw, pii_keys)
    excerpt = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, default=str)
    batch.quarantine.append(
        QuarantineItem(
            channel=batch.channel,
            source_file=path.name,
            location=location,
            reason_code=problem.reason.value,
            reason=REASON_TEXT[problem.reason],
            detail=mask_pii(to_half_width(problem.detail), names)[:300],
            excerpt=mask_pii(to_half_width(excerpt), names)[:200],
        )
    )


_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
            "%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日")
CLOCK_SKEW = timedelta(hours=1)


def parse_timestamp(value: Any, ctx: SourceContext) -> datetime:
    """ISO-8601 or common Chinese export formats; naive times are in the run's timezone."""
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value or "").strip()
        if not text:
            raise RecordProblem(Reason.MISSING_FIELD, "timestamp is empty")
        parsed = None
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            for fmt in _FORMATS:
                try:
                    parsed = datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
        if parsed is None:
            raise RecordProblem(Reason.BAD_TIMESTAMP, f"cannot parse timestamp '{text[:40]}'")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ctx.tz)
    if parsed > ctx.now + CLOCK_SKEW:
        raise RecordProblem(Reason.FUTURE_TIMESTAMP, f"timestamp {parsed.isoformat()} is in the future")
    return parsed


def require(obj: dict[str, Any], key: str) -> Any:
    value = obj.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RecordProblem(Reason.MISSING_FIELD, f"required field '{key}' is missing or empty")
    return value


def require_text(value: Any, what: str = "text") -> str:
    text = "" if value is None else str(value)
    if not text.strip():
        raise RecordProblem(Reason.EMPTY_TEXT, f"{what} is empty or whitespace only")
    return text


def optional_str(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def descriptive_fields(source: Mapping[str, Any]) -> dict[str, str | None]:
    """industry, product and region, as every channel's export may carry them."""
    return {key: optional_str(source.get(key)) for key in ("industry", "product", "region")}


def optional_float(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def new_record(channel: str, source_id: Any, ctx: SourceContext, **fields: Any) -> Record:
    source_id = str(source_id).strip()
    customer = fields.pop("customer_id", None)
    return Record(
        record_id=make_record_id(channel, source_id),
        channel=channel,
        source_id=source_id,
        customer_key=hash_customer(optional_str(customer), ctx.salt),
        **fields,
    )


def read_text_file(path: Path) -> tuple[str, str]:
    """Read and decode a file; UnicodeDecodeError and OSError propagate to the caller."""
    return decode_bytes(path.read_bytes())


_WS = re.compile(r"\s*,?\s*")


def iter_json_array(text: str) -> Iterator[tuple[int, int, Any | None, str | None]]:
    """Yield (item index, line number, object or None, error or None) from a JSON array, item by
    item, so one truncated or broken item does not lose the others. After an unrecoverable error
    the rest of the file is yielded once as an error."""
    decoder = json.JSONDecoder()
    start = text.find("[")
    if start < 0 or text[:start].strip():
        yield 0, 1, None, "file is not a JSON array"
        return
    pos, index = start + 1, 0
    # Line numbers are counted incrementally: counting from the start for every item made a
    # 20,000-item file quadratic.
    line, counted = text.count("\n", 0, pos) + 1, pos
    while True:
        pos = _WS.match(text, pos).end()
        line, counted = line + text.count("\n", counted, pos), pos
        if pos >= len(text):
            yield index, line, None, "array is not closed (file truncated)"
            return
        if text[pos] == "]":
            return
        try:
            obj, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            yield index, line, None, f"invalid JSON at line {exc.lineno}: {exc.msg}"
            return
        yield index, line, obj, None
        pos, index = end, index + 1


def read_json_array_file(path: Path, ctx: SourceContext, batch: SourceBatch, to_record,
                         pii_keys: tuple[str, ...] = ()) -> None:
    """Read a JSON array of objects, one record each; broken items are quarantined one by one."""
    text, _ = read_text_file(path)
    for index, line, obj, error in iter_json_array(text):
        batch.read += 1
        location = f"item {index} (line {line})"
        if error is not None:
            tail = text.splitlines()[line - 1 : line + 2]
            quarantine(batch, path, location, RecordProblem(Reason.INVALID_JSON, error),
                       "\n".join(tail))
            continue
        try:
            if not isinstance(obj, dict):
                raise RecordProblem(Reason.NOT_AN_OBJECT)
            batch.add(to_record(obj, ctx))
        except RecordProblem as problem:
            quarantine(batch, path, location, problem, obj, pii_keys)
