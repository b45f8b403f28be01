"""Forum and social posts: JSON Lines, one post or reply per line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flows.sources.base import (
    RecordProblem,
    SourceBatch,
    SourceContext,
    descriptive_fields,
    new_record,
    optional_str,
    parse_timestamp,
    quarantine,
    read_text_file,
    require,
    require_text,
)
from nlp.errors import Reason
from nlp.records import Record, Utterance

CHANNEL = "forum"
META_KEYS = ("thread_id", "parent_id", "kind", "author_hash", "platform", "likes")


def post_to_record(obj: dict[str, Any], ctx: SourceContext) -> Record:
    post_id = require(obj, "post_id")
    created_at = parse_timestamp(require(obj, "created_at"), ctx)
    text = require_text(obj.get("text"))
    title = optional_str(obj.get("title"))
    if title and title not in text:
        text = f"{title}。{text}"
    return new_record(
        CHANNEL, post_id, ctx,
        customer_id=obj.get("author_hash"),
        created_at=created_at,
        **descriptive_fields(obj),
        turns=[Utterance(role="customer", text=text, ts=created_at)],
        meta={k: obj[k] for k in META_KEYS if obj.get(k) is not None and k != "author_hash"},
    )


def read_file(path: Path, ctx: SourceContext, batch: SourceBatch) -> None:
    text, _ = read_text_file(path)
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        batch.read += 1
        location = f"line {number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            quarantine(batch, path, location, RecordProblem(Reason.INVALID_JSON, exc.msg), line)
            continue
        try:
            if not isinstance(obj, dict):
                raise RecordProblem(Reason.NOT_AN_OBJECT)
            batch.add(post_to_record(obj, ctx))
        except RecordProblem as problem:
            quarantine(batch, path, location, problem, obj)
