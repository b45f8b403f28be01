"""The Record / Utterance schema every stage of the pipeline speaks."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Channel = Literal["complaint", "forum", "chat", "call"]
Role = Literal["customer", "agent", "system"]
CHANNELS: tuple[Channel, ...] = ("complaint", "forum", "chat", "call")


class Utterance(BaseModel):
    """One turn of a record: who said it, what, and when (if known)."""

    model_config = ConfigDict(extra="forbid")

    role: Role
    text: str
    ts: datetime | None = None


class Record(BaseModel):
    """One piece of feedback from any channel; complaints and posts have a single customer turn."""

    model_config = ConfigDict(extra="forbid")

    record_id: str
    channel: Channel
    source_id: str
    created_at: datetime
    customer_key: str | None = None
    industry: str | None = None
    product: str | None = None
    region: str | None = None
    rating: float | None = None
    turns: list[Utterance]
    meta: dict[str, Any] = Field(default_factory=dict)

    def customer_turns(self) -> list[Utterance]:
        return [t for t in self.turns if t.role == "customer"]


def make_record_id(channel: str, source_id: str) -> str:
    """Stable id: the same channel and source id give the same record id on every run."""
    return hashlib.sha1(f"{channel}:{source_id}".encode()).hexdigest()[:16]


def hash_customer(raw_id: str | None, salt: str) -> str | None:
    """Salted hash of a customer id so that raw ids never reach a table."""
    if raw_id is None or not str(raw_id).strip():
        return None
    return hashlib.sha256(f"{salt}:{str(raw_id).strip()}".encode()).hexdigest()[:20]
