"""Topic trends: daily negative sentences of the top pain points over the history window, with
the days the spike test flagged highlighted."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from flows.report.theme import SPIKE, plain, style


def topic_trends(series: pd.DataFrame, labels: dict[tuple[str, int], str],
                 spikes: set[tuple[object, str, int]]) -> go.Figure:
    """`series`: run_date, stage, topic_id, negative_count (from nlp.trends.daily_series);
    `labels`: (stage, topic_id) -> display label; `spikes`: (run_date, stage, topic_id) flagged."""
    fig = go.Figure()
    palette = qualitative.Safe + qualitative.Vivid
    spike_x, spike_y, spike_text = [], [], []
    for i, ((stage, topic_id), rows) in enumerate(series.groupby(["stage", "topic_id"],
                                                                 sort=False)):
        label = plain(labels.get((stage, topic_id), f"{stage}/{topic_id}"))
        dates = [d.isoformat() for d in rows["run_date"]]
        counts = rows["negative_count"].astype(int).tolist()
        fig.add_scatter(
            x=dates, y=counts, mode="lines+markers", name=label,
            line={"color": palette[i % len(palette)], "width": 2}, marker={"size": 5},
            hovertemplate="%{x}<br>" + label + "：%{y} 句负面<extra></extra>",
        )
        for d, raw, c in zip(dates, rows["run_date"], counts, strict=True):
            if (raw, stage, topic_id) in spikes:
                spike_x.append(d)
                spike_y.append(c)
                spike_text.append(label)
    if spike_x:
        fig.add_scatter(
            x=spike_x, y=spike_y, mode="markers", name="激增",
            marker={"symbol": "circle-open", "size": 16, "color": SPIKE, "line": {"width": 3}},
            customdata=spike_text,
            hovertemplate="%{x} 激增：%{customdata}（%{y} 句）<extra></extra>",
        )
    fig.update_xaxes(type="category", title_text="运行日期")
    fig.update_yaxes(title_text="负面句数", rangemode="tozero")
    style(fig, "重点痛点的每日负面声量（圆圈 = 激增）", height=380)
    fig.update_layout(legend={"orientation": "v", "y": 1, "yanchor": "top", "x": 1.02,
                              "xanchor": "left"}, margin={"r": 170})
    return fig
