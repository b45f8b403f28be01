"""Optional webhook notifications: a failed run, or pain points that spiked.

The payload is JSON that chat tools (WeCom/DingTalk/Feishu/Slack bridges) or an on-call system
can take: `{"event", "run_date", "run_id", "text", ...}`. It carries counts, stage and topic labels
and priorities only, never verbatims, so no personal data leaves through it. A notification that
cannot be delivered is logged and never fails the run.
"""

from __future__ import annotations

import logging
import os
from datetime import date
from typing import Any

import httpx
import pandas as pd

from nlp.config import NotifySettings

log = logging.getLogger(__name__)


def webhook_url(settings: NotifySettings) -> str | None:
    """The URL from the environment variable named in config (URLs often embed a token)."""
    return os.environ.get(settings.webhook_url_env) or None


def post(settings: NotifySettings, payload: dict[str, Any]) -> bool:
    url = webhook_url(settings)
    if not url:
        return False
    try:
        response = httpx.post(url, json=payload, timeout=settings.timeout_seconds)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        log.warning("notification '%s' not delivered: %s", payload.get("event"), exc)
        return False
    log.info("notification '%s' delivered", payload.get("event"))
    return True


def notify_failure(settings: NotifySettings, run_date: date, run_id: str, step: str,
                   error: BaseException) -> bool:
    if not settings.on_failure:
        return False
    return post(settings, {
        "event": "run_failed", "run_date": run_date.isoformat(), "run_id": run_id, "step": step,
        "error": type(error).__name__,
        "text": f"VOC nightly run {run_date} failed in step '{step}': {type(error).__name__}",
    })


def notify_spikes(settings: NotifySettings, run_date: date, run_id: str,
                  painpoints: pd.DataFrame) -> bool:
    if not settings.on_spike or "spike" not in painpoints.columns:
        return False
    spiked = painpoints[painpoints["spike"].fillna(False).astype(bool)]
    if spiked.empty:
        return False
    spiked = spiked.sort_values("priority", ascending=False)
    items = [{"stage": r.stage, "topic_id": int(r.topic_id), "topic_label": r.topic_label,
              "negative_count": int(r.negative_count), "priority": round(float(r.priority), 2)}
             for r in spiked.itertuples()]
    lines = "; ".join(f"{i['stage']} / {i['topic_label']} ({i['negative_count']} negative)"
                      for i in items[:5])
    return post(settings, {
        "event": "painpoint_spike", "run_date": run_date.isoformat(), "run_id": run_id,
        "spikes": items, "text": f"VOC {run_date}: {len(items)} pain point(s) spiked: {lines}",
    })
