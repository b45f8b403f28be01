"""Webhook notifications against a local HTTP server started by the test."""

import json
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer

import pandas as pd
import pytest

from flows.notify import notify_spikes
from nlp.config import NotifySettings
from tests.conftest import write_config


@pytest.fixture()
def webhook(monkeypatch):
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("VOC_WEBHOOK_URL", f"http://127.0.0.1:{server.server_port}/hook")
    yield received
    server.shutdown()


def test_spikes_are_posted_without_verbatims(webhook):
    painpoints = pd.DataFrame([
        {"stage": "billing", "topic_id": 3, "topic_label": "年费·扣费", "negative_count": 14,
         "priority": 40.5, "spike": True},
        {"stage": "deliver", "topic_id": 1, "topic_label": "快递·延误", "negative_count": 2,
         "priority": 5.0, "spike": False},
    ])
    assert notify_spikes(NotifySettings(), date(2026, 11, 24), "r1", painpoints)
    (payload,) = webhook
    assert payload["event"] == "painpoint_spike" and len(payload["spikes"]) == 1
    assert "年费·扣费" in payload["text"]
    assert not notify_spikes(NotifySettings(on_spike=False), date(2026, 11, 24), "r1", painpoints)


def test_no_url_means_no_notification(monkeypatch):
    monkeypatch.delenv("VOC_WEBHOOK_URL", raising=False)
    frame = pd.DataFrame([{"stage": "use", "topic_id": 0, "topic_label": "信号", "negative_count": 9,
                           "priority": 1.0, "spike": True}])
    assert not notify_spikes(NotifySettings(), date(2026, 11, 24), "r1", frame)


def test_failed_run_is_notified(webhook, tmp_path, prefect_harness):
    from flows.nightly import nightly
    from nlp.errors import SourceUnavailableError

    config = write_config(tmp_path, run={"input_dir": str(tmp_path / "missing"),
                                         "read_retry_delays": [0]},
                          sink={"path": str(tmp_path / "voc.duckdb")})
    with pytest.raises(SourceUnavailableError):
        nightly(run_date=date(2026, 11, 24), config_path=config)
    (payload,) = webhook
    assert payload["event"] == "run_failed" and payload["step"] == "read"
    assert payload["run_date"] == "2026-11-24"
