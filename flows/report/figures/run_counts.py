"""Run counts over the history window: processed, quarantined and duplicate inputs per run date."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from flows.report.theme import ACCENT, SPIKE, plain, style

SERIES = (("processed", "处理", ACCENT), ("quarantined", "隔离", "#FAB005"),
          ("duplicates", "重复", "#ADB5BD"))


def run_counts(runs: pd.DataFrame) -> go.Figure:
    """The last attempt of every run date; failed attempts are marked."""
    fig = go.Figure()
    if runs.empty:
        return style(fig, "每日运行计数", height=260)
    last = runs.sort_values(["run_date", "started_at"], kind="stable").groupby(
        "run_date", as_index=False).tail(1)
    dates = [d.isoformat() for d in last["run_date"]]
    for column, name, color in SERIES:
        fig.add_bar(name=name, x=dates, y=last[column].astype(int).tolist(), marker_color=color,
                    hovertemplate="%{x} " + name + "：%{y}<extra></extra>")
    failed = last[last["status"] != "completed"]
    if not failed.empty:
        fig.add_scatter(
            name="运行失败", x=[d.isoformat() for d in failed["run_date"]],
            y=failed["processed"].astype(int).tolist(), mode="markers",
            marker={"symbol": "x", "size": 12, "color": SPIKE},
            customdata=[plain(s) for s in failed["status"]],
            hovertemplate="%{x}：%{customdata}<extra></extra>")
    fig.update_layout(barmode="stack", bargap=0.25)
    fig.update_xaxes(type="category")
    fig.update_yaxes(title_text="输入数")
    return style(fig, "每日运行计数（每个日期的最后一次运行）", height=260)
