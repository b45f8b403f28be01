"""Online chat logs: a JSON array, one conversation per object with its turns."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flows.sources.base import (
    RecordProblem,
    SourceBatch,
    SourceContext,
    descriptive_fields,
    new_record,
    optional_float,
    parse_timestamp,
    read_json_array_file,
    require,
)
from nlp.errors import Reason
from nlp.records import Record, Utterance

log = logging.getLogger(__name__)
CHANNEL = "chat"
PII_KEYS = ("customer_id",)
ROLES = {"customer": "customer", "user": "customer", "agent": "agent", "staff": "agent",
         "bot": "system", "system": "system"}


def conversation_to_record(obj: dict[str, Any], ctx: SourceContext) -> Record:
    conversation_id = require(obj, "conversation_id")
    started_at = parse_timestamp(require(obj, "started_at"), ctx)
    turns, unknown_roles = [], []
    for raw in obj.get("turns") or []:
        if not isinstance(raw, dict) or not str(raw.get("text") or "").strip():
            continue
        role_name = str(raw.get("role") or "").strip().lower()
        role = ROLES.get(role_name)
        if role is None:
            # Kept (nothing lost) but not scored as the customer's voice.
            unknown_roles.append(role_name or "(empty)")
            role = "system"
        try:
            ts = parse_timestamp(raw["time"], ctx) if raw.get("time") else None
        except RecordProblem:
            ts = None
        turns.append(Utterance(role=role, text=str(raw["text"]), ts=ts))
    if not any(t.role == "customer" for t in turns):
        raise RecordProblem(Reason.NO_CUSTOMER_TURN)
    meta: dict[str, Any] = {}
    if unknown_roles:
        meta["unknown_roles"] = sorted(set(unknown_roles))
        log.warning("chat %s: turns with unknown role %s kept as system turns",
                    conversation_id, meta["unknown_roles"])
    return new_record(
        CHANNEL, conversation_id, ctx,
        customer_id=obj.get("customer_id"),
        created_at=started_at,
        **descriptive_fields(obj),
        rating=optional_float(obj.get("csat")),
        turns=turns,
        meta=meta,
    )


def read_file(path: Path, ctx: SourceContext, batch: SourceBatch) -> None:
    read_json_array_file(path, ctx, batch, conversation_to_record, PII_KEYS)

