"""The researcher report: one self-contained HTML file and an XLSX workbook, built from a sink with
ten synthetic run dates; rendered in headless Chromium (screenshot, no JavaScript errors, every
chart drawn)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from flows.report import build_report
from flows.sinks import DuckDBSink
from flows.sinks.schema import TABLES
from tests.conftest import ROOT, write_config
from tests.report_sample import sample_frames, write_sample

LAST = date(2026, 11, 24)
FIGURES = ["fig-channels", "fig-sentiment", "fig-quarantine", "fig-runs",
           "fig-journey-sentiment", "fig-journey-priority", "fig-mention-stages",
           "fig-mention-emotions", "fig-trends"]
HOSTILE = "<script>alert('x')</script>快递丢了"
HOSTILE_ASPECT = "<b onmouseover=alert(1)>物流</b>"


def rating_impact_frame(run_id: str) -> pd.DataFrame:
    """Two stages and a topic with impact figures, one without an interval."""
    rows = [("stage", "deliver", 40, 0.31, 0.12, 0.52), ("stage", "use", 12, -0.05, -0.2, 0.1),
            ("topic_id", "2", 25, 0.2, 0.05, 0.37), ("topic_id", "9", 3, 0.1, None, None)]
    return pd.DataFrame([{
        "dimension": d, "item": i, "n_records": k, "n_rated": 200, "mean_rating": 3.6,
        "mean_with": 2.1, "mean_without": 3.6 + impact, "impact": impact, "ci_low": low,
        "ci_high": high, "run_id": run_id} for d, i, k, impact, low, high in rows])


@pytest.fixture(scope="module")
def report(tmp_path_factory, settings):
    tmp = tmp_path_factory.mktemp("report")
    frames = sample_frames(LAST, days=10)
    utterances = frames[LAST]["utterances"]
    first_customer = utterances.index[utterances["role"] == "customer"][0]
    utterances.loc[first_customer, "text"] = HOSTILE  # user text must never become markup
    mentions = frames[LAST]["mentions"]
    negative = mentions.index[mentions["sentiment_label"] == "negative"]
    mentions.loc[negative, "aspect"] = HOSTILE_ASPECT  # the top negative aspect term
    mentions.loc[negative, "sentiment_score"] = -0.5
    mentions.loc[negative[0], ["text", "sentiment_score"]] = [HOSTILE, -0.99]  # its example
    frames[LAST]["rating_impact"] = rating_impact_frame(mentions["run_id"].iloc[0]).assign(
        run_date=LAST)
    sink = DuckDBSink(tmp / "voc.duckdb")
    write_sample(sink, frames)
    html, xlsx = build_report(sink, LAST, tmp / "out", settings)
    return tmp, html, xlsx


def test_html_is_one_self_contained_utf8_file(report):
    _, html, _ = report
    page = html.read_text(encoding="utf-8")
    assert '<meta charset="utf-8">' in page and "Noto Sans CJK SC" in page
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="?(https?:)?//', page)
    assert len(page) > 3_000_000  # plotly.js is inlined
    assert "客户之声日报" in page and "2026-11-24" in page


def test_report_shows_painpoints_spikes_verbatims_and_filter(report):
    _, html, _ = report
    page = html.read_text(encoding="utf-8")
    assert page.count('class="main') >= 5 and "电话打不通" in page  # the sample's spike
    assert "badge-spike" in page and 'id="spikes"' in page
    assert page.count('<details class="verbatim">') >= 15 and '<details class="more">' in page
    assert 'id="channel-filter"' in page and "data-channels=" in page
    assert HOSTILE not in page and "&lt;script&gt;alert(" in page
    assert not re.search(r"1[3-9]\d{9}", page.split("<script>")[0])  # no raw mobile numbers


def test_report_shows_mentions_emotions_and_rating_impact(report):
    _, html, _ = report
    page = html.read_text(encoding="utf-8")
    section = page[page.index('<section id="mentions">'):page.index('<section id="trends">')]
    assert 'id="fig-mention-stages"' in section and 'id="fig-mention-emotions"' in section
    assert "负面提及最多的方面词" in section and section.count("<tr>") >= 5
    assert HOSTILE_ASPECT not in page and "&lt;b onmouseover=alert(1)&gt;物流&lt;/b&gt;" in section
    assert HOSTILE not in section and "&lt;script&gt;alert(" in section  # the masked example
    assert "评分影响" in section and "[+0.12, +0.52]" in section and "+0.31" in section
    assert 'class="num impact bad"' in section  # deliver's interval lies above 0
    assert "不计算评分影响" not in section


def test_xlsx_has_one_sheet_per_table(report):
    from openpyxl import load_workbook

    _, _, xlsx = report
    book = load_workbook(xlsx, read_only=True)
    assert book.sheetnames == list(TABLES)
    header = next(book["painpoints"].iter_rows(max_row=1, values_only=True))
    assert {"trend_7d", "trend_28d", "spike", "spike_p"} <= set(header)
    impact = list(book["rating_impact"].iter_rows(values_only=True))
    assert {"impact", "ci_low", "ci_high"} <= set(impact[0]) and len(impact) == 5
    assert {"aspect", "emotions"} <= set(next(book["mentions"].iter_rows(max_row=1,
                                                                          values_only=True)))


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    flags = ["--headless", "--disable-gpu", "--no-first-run", f"--user-data-dir={profile}",
             "--virtual-time-budget=10000", "--enable-logging=stderr", "--v=0"]
    if os.geteuid() == 0:
        flags.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    return subprocess.run([binary, *flags, *args], capture_output=True, text=True, timeout=120)


def test_report_renders_in_headless_chromium(report):
    binary = find_chromium()
    if binary is None:
        pytest.skip("no chromium binary on PATH (CI installs it: apt-get install chromium)")
    tmp, html, _ = report
    url = html.resolve().as_uri()
    shot = tmp / "report.png"
    run = chromium(binary, tmp / "profile-1", "--hide-scrollbars", "--window-size=1400,3000",
                   f"--screenshot={shot}", url)
    assert shot.is_file() and shot.stat().st_size > 50_000, run.stderr[-2000:]
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    errors = [line for line in console if re.search(r"Uncaught|Error|error", line)]
    assert not errors, errors
    dom = chromium(binary, tmp / "profile-2", "--dump-dom", url).stdout
    ids = re.findall(r'<div id="(fig-[a-z-]+)"', dom)
    assert ids == FIGURES
    for i, fig in enumerate(ids):
        start = dom.index(f'<div id="{fig}"')
        end = dom.index(f'<div id="{ids[i + 1]}"') if i + 1 < len(ids) else len(dom)
        drawn = dom[start:end]
        assert "main-svg" in drawn, f"{fig}: plotly did not render"
        assert re.search(r'class="(trace |hm")', drawn), f"{fig}: chart has no data"


def test_voc_report_command_rebuilds_both_files(report, tmp_path):
    tmp, _, _ = report
    config = write_config(tmp_path, run={"output_dir": str(tmp_path / "out")},
                          sink={"path": str(tmp / "voc.duckdb")})
    voc = Path(sys.executable).parent / "voc"
    proc = subprocess.run([str(voc), "report", "--date", "2026-11-24", "--config", str(config)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "out/report.html").is_file() and (tmp_path / "out/report.xlsx").is_file()
    missing = subprocess.run([str(voc), "report", "--date", "2020-01-01", "--config", str(config)],
                             capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert missing.returncode == 2 and "E006" in missing.stderr


def test_the_report_counts_agree_with_the_whole_tables(report, settings):
    # the report holds the big tables as counts per key (read_counts), never their rows
    from flows.report.data import kpis, load_report_data

    tmp, _, _ = report
    sink = DuckDBSink(tmp / "voc.duckdb")
    data = load_report_data(sink, LAST, settings.report, settings.trends)
    for name in ("utterances", "documents", "mentions"):
        whole = sink.read_table(name, LAST)
        assert int(data.tables[name]["n"].sum()) == len(whole) > 0
    whole = sink.read_table("utterances", LAST)
    counted = data.tables["utterances"]
    key = ["channel", "stage", "sentiment_label"]
    customer = whole[whole["role"] == "customer"]
    expected = customer.groupby(key, dropna=False).size()
    got = counted[counted["role"] == "customer"].groupby(key, dropna=False)["n"].sum()
    assert got.sort_index().to_dict() == expected.sort_index().to_dict()
    tile = next(k for k in kpis(data) if k.label == "负面句占比")
    share = (customer["sentiment_label"] == "negative").mean()
    assert tile.value == f"{100 * share:.1f}%" and f"{len(customer):,}" in tile.note
