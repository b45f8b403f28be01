"""build_report: read a run date's tables back from a sink and write report.html + report.xlsx.

report.html is one self-contained file: plotly.js is inlined once, there is no CDN or other
network reference, so it opens offline. Every piece of user text reaches the page through the
autoescaping template (or `theme.plain` for plotly), so a post containing `<script>` shows as
text.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from flows.report.data import (
    ReportData,
    channel_options,
    generated_at,
    kpis,
    load_report_data,
    load_stage_names,
    run_info,
    top_painpoints,
)
from flows.report.figures.channel_volume import records_per_channel
from flows.report.figures.journey_priority import stage_priority_heatmap
from flows.report.figures.journey_sentiment import stage_sentiment_heatmap
from flows.report.figures.mentions import mention_stage_bars, negative_emotion_heatmap
from flows.report.figures.quarantine import quarantine_reasons
from flows.report.figures.run_counts import run_counts
from flows.report.figures.sentiment_mix import sentiment_mix
from flows.report.figures.topic_trends import topic_trends
from flows.report.mentions_view import (
    NO_RATING_NOTE,
    has_ratings,
    impact_views,
    mention_batches,
    summarize_mentions,
    term_views,
)
from flows.report.theme import FONT_STACK
from flows.report.xlsx import write_workbook
from flows.runner import release_memory
from flows.sinks.base import Sink
from nlp.config import ReportSettings, TrendSettings
from nlp.trends import daily_series

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).parent / "templates"
HTML_NAME, XLSX_NAME = "report.html", "report.xlsx"
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True,
                 "modeBarButtonsToRemove": ["select2d", "lasso2d"]}
DEFINITIONS = (
    "优先级 = 负面句数 × 阶段权重 × (1 + 严重度) × (1 + 升级率 + 流失率)。",
    "趋势 = (今日负面句数 − 此前 7/28 天内各运行日的日均负面句数) ÷ max(日均, 1)；无历史时为空。",
    "激增：以此前 28 天内运行日的日均负面句数为 λ（至少 1）的 Poisson 上尾检验，p ≤ α、"
    "今日负面句数不少于下限且历史运行日足够时标记（见 trends 配置与 docs/schema.md）。",
    "所有原话均为脱敏后的文本（手机号、身份证、银行卡、姓名等已替换）。",
)


@dataclass
class SpikeView:
    stage_name: str
    label: str
    today: int
    baseline: str
    stats: str
    anchor: str
    channel_keys: str


def figure_html(fig: go.Figure, div_id: str) -> Markup:
    """The figure's div and script; plotly.js itself is inlined once in the page head."""
    return Markup(fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                              config=PLOTLY_CONFIG))


def spike_views(data: ReportData, trends: TrendSettings, anchors: dict[tuple[str, int], str],
                channel_keys: dict[tuple[str, int], str]) -> list[SpikeView]:
    """Today's spiking pain points, largest deviation first, with their baseline."""
    painpoints = data.painpoints
    if painpoints.empty:
        return []
    flagged = painpoints[painpoints["spike"].fillna(False).astype(bool)].sort_values(
        ["spike_z", "priority"], ascending=False, kind="stable")
    series = daily_series(data.painpoint_history, flagged.assign(run_date=data.run_date), flagged)
    views = []
    for row in flagged.itertuples(index=False):
        start = data.run_date - timedelta(days=trends.spike_window)
        rows = series[(series["stage"] == row.stage) & (series["topic_id"] == row.topic_id)
                      & (series["run_date"] < data.run_date) & (series["run_date"] >= start)]
        earlier = rows["negative_count"].tolist()
        baseline = sum(earlier) / len(earlier) if earlier else 0.0
        key = (row.stage, int(row.topic_id))
        views.append(SpikeView(
            stage_name=data.stage_name(row.stage), label=row.topic_label or f"话题 {row.topic_id}",
            today=int(row.negative_count), baseline=f"{baseline:.1f}",
            stats=f"z = {float(row.spike_z):.1f}，p = {float(row.spike_p):.1g}",
            anchor=anchors.get(key, ""), channel_keys=channel_keys.get(key, ""),
        ))
    return views


def trend_figure(data: ReportData, settings: ReportSettings) -> go.Figure:
    top = data.painpoints
    if not settings.include_unassigned and not top.empty:
        top = top[top["topic_id"] != -1]
    top = top.sort_values(["priority", "stage", "topic_id"], ascending=[False, True, True],
                          kind="stable").head(settings.trend_topics)
    series = daily_series(data.painpoint_history, top.assign(run_date=data.run_date), top)
    labels = {(r.stage, r.topic_id): f"{data.stage_name(r.stage)}·{r.topic_label}"
              for r in top.itertuples(index=False)}
    spikes = set()
    for frame in (data.painpoint_history, top.assign(run_date=data.run_date)):
        if not frame.empty:
            flagged = frame[frame["spike"].fillna(False).astype(bool)]
            spikes |= set(zip(flagged["run_date"], flagged["stage"], flagged["topic_id"],
                              strict=True))
    return topic_trends(series, labels, spikes)


def mention_context(sink: Sink | None, data: ReportData,
                    report: ReportSettings) -> dict[str, Any]:
    """The aspect-mention section: figures from streamed aggregates (never the mention rows
    whole), the top negative aspect terms with a masked example, and the rating-impact table."""
    summary = summarize_mentions(mention_batches(sink, data.run_date) if sink is not None else ())
    stages = data.stage_order()
    counts = summary.stage_counts()
    stages += sorted(set(counts["stage"]) - set(stages))
    names = {s: data.stage_name(s) for s in stages}
    figures = []
    if summary.n_mentions:
        figures.append(figure_html(mention_stage_bars(counts, stages, names), "fig-mention-stages"))
        emotions = summary.emotion_counts()
        if not emotions.empty:
            figures.append(figure_html(negative_emotion_heatmap(emotions, stages, names),
                                       "fig-mention-emotions"))
    impact = sink.read_table("rating_impact", data.run_date) if sink is not None else None
    rated = impact is not None and has_ratings(impact)
    topics = data.tables.get("topics")
    labels = ({int(t): str(lbl) for t, lbl in zip(topics["topic_id"], topics["label"],
                                                   strict=True)}
              if topics is not None and not topics.empty else {})
    return {
        "n_mentions": summary.n_mentions,
        "figures": figures,
        "terms": term_views(summary.top_terms(report.top_n), names),
        "impact": impact_views(impact, names, labels, report.top_n) if rated else [],
        "impact_note": "" if rated else NO_RATING_NOTE,
    }


def page_context(data: ReportData, report: ReportSettings, trends: TrendSettings,
                 sink_name: str, mentions: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything the template shows, already selected and formatted."""
    stages = data.stage_order()
    names = {s: data.stage_name(s) for s in stages}
    tables = data.tables
    painpoints = top_painpoints(data, report)
    anchors = {(p.stage, p.topic_id): f"pp-{p.rank}" for p in painpoints}
    channel_keys = {(p.stage, p.topic_id): p.channel_keys for p in painpoints}
    overview = [
        figure_html(records_per_channel(tables["documents"]), "fig-channels"),
        figure_html(sentiment_mix(tables["documents"]), "fig-sentiment"),
        figure_html(quarantine_reasons(tables["quarantine"]), "fig-quarantine"),
        figure_html(run_counts(data.runs_history), "fig-runs"),
    ]
    journey = [
        figure_html(stage_sentiment_heatmap(tables["utterances"], stages, names),
                    "fig-journey-sentiment"),
        figure_html(stage_priority_heatmap(tables["painpoints"], stages, names),
                    "fig-journey-priority"),
    ]
    return {
        "run_date": data.run_date.isoformat(),
        "run": run_info(data),
        "kpis": kpis(data),
        "channels": channel_options(data),
        "overview": overview,
        "journey": journey,
        "trends": figure_html(trend_figure(data, report), "fig-trends"),
        "mentions": mentions if mentions is not None else mention_context(None, data, report),
        "painpoints": painpoints,
        "spikes": spike_views(data, trends, anchors, channel_keys),
        "spike_rule": (f"Poisson 上尾检验 p ≤ {trends.spike_alpha:g}，今日至少 "
                       f"{trends.spike_min_count} 句负面，历史至少 {trends.spike_min_history} 个运行日"),
        "history_days": report.history_days,
        "generated": generated_at(),
        "sink_name": sink_name,
        "definitions": DEFINITIONS,
        "font_stack": Markup(FONT_STACK),
        "plotly_js": Markup(get_plotlyjs()),
        "filter_js": Markup((TEMPLATES / "filter.js").read_text(encoding="utf-8")),
    }


def render_html(context: dict[str, Any]) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(
        enabled_extensions=("html", "j2"), default_for_string=True, default=True),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return env.get_template("report.html.j2").render(**context)


def write_text_atomic(path: Path, content: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(content, encoding="utf-8")
    os.replace(tmp, path)
    return path


def build_report(sink: Sink, run_date: date, out_dir: Path,
                 settings: Any | None = None) -> tuple[Path, Path]:
    """Write `out_dir/report.html` and `out_dir/report.xlsx` for `run_date` from `sink`.

    `settings` (optional, the pipeline Settings) supplies `report`, `trends` and the journey
    taxonomy's stage names; without it the defaults are used and stages show their keys."""
    report: ReportSettings = getattr(settings, "report", None) or ReportSettings()
    trends: TrendSettings = getattr(settings, "trends", None) or TrendSettings()
    journey = getattr(settings, "journey", None)
    stage_names = load_stage_names(journey.taxonomy if journey is not None else None)
    data = load_report_data(sink, run_date, report, trends, stage_names)
    out_dir = Path(out_dir)
    html_path = write_text_atomic(out_dir / HTML_NAME, render_html(
        page_context(data, report, trends, getattr(sink, "name", type(sink).__name__),
                     mention_context(sink, data, report))))
    release_memory()  # the streamed passes' batches, before the workbook's
    xlsx_path = write_workbook(data.workbook_tables(report.xlsx_max_rows), out_dir / XLSX_NAME,
                               report.xlsx_max_rows)
    log.info("report for %s: %s, %s", run_date, html_path, xlsx_path)
    return html_path, xlsx_path
