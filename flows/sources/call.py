"""Call-centre transcripts: ASR output as a JSON array of calls, each with timed segments."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from flows.sources.base import (
    RecordProblem,
    SourceBatch,
    SourceContext,
    descriptive_fields,
    new_record,
    parse_timestamp,
    read_json_array_file,
    require,
)
from nlp.errors import Reason
from nlp.records import Record, Utterance

CHANNEL = "call"
PII_KEYS = ("customer_id", "caller_number")
SPEAKERS = {"customer": "customer", "caller": "customer", "agent": "agent", "staff": "agent",
            "ivr": "system", "system": "system"}


def _seconds(value: Any, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise RecordProblem(Reason.BAD_SEGMENT_TIMES, f"segment {what} '{value}' is not a number") from exc


def call_to_record(obj: dict[str, Any], ctx: SourceContext) -> Record:
    call_id = require(obj, "call_id")
    started_at = parse_timestamp(require(obj, "started_at"), ctx)
    turns, unknown, overlaps, previous_end = [], set(), 0, None
    for number, seg in enumerate(obj.get("segments") or []):
        if not isinstance(seg, dict) or not str(seg.get("text") or "").strip():
            continue
        start, end = _seconds(seg.get("start"), "start"), _seconds(seg.get("end"), "end")
        if end < start:
            raise RecordProblem(
                Reason.BAD_SEGMENT_TIMES, f"segment {number} ends at {end}s before it starts at {start}s"
            )
        if previous_end is not None and start < previous_end:
            overlaps += 1  # cross-talk or diarisation error: kept, flagged
        previous_end = max(end, previous_end or end)
        speaker = str(seg.get("speaker") or "").strip().lower()
        role = SPEAKERS.get(speaker)
        if role is None:
            unknown.add(speaker or "(empty)")
            role = "system"
        turns.append(Utterance(role=role, text=str(seg["text"]),
                               ts=started_at + timedelta(seconds=start)))
    if not any(t.role == "customer" for t in turns):
        raise RecordProblem(Reason.NO_CUSTOMER_TURN)
    meta: dict[str, Any] = {"asr": True}
    if obj.get("queue"):
        meta["queue"] = str(obj["queue"])
    if overlaps:
        meta["overlapping_segments"] = overlaps
    if unknown:
        meta["unknown_roles"] = sorted(unknown)
    if previous_end is not None:
        meta["duration_s"] = previous_end
    return new_record(
        CHANNEL, call_id, ctx,
        customer_id=obj.get("customer_id"),
        created_at=started_at,
        **descriptive_fields(obj),
        turns=turns,
        meta=meta,
    )


def read_file(path: Path, ctx: SourceContext, batch: SourceBatch) -> None:
    read_json_array_file(path, ctx, batch, call_to_record, PII_KEYS)
