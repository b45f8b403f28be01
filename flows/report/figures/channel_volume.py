"""Records per channel today (the documents table's counts)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from flows.report.theme import CHANNEL_COLORS, CHANNEL_NAMES, channel_name, style


def records_per_channel(documents: pd.DataFrame) -> go.Figure:
    """`documents`: record counts (column `n`) per channel (and any other keys)."""
    counts = documents.groupby("channel")["n"].sum()
    counts = counts[counts > 0].sort_values(ascending=False, kind="stable")
    channels = [c for c in CHANNEL_NAMES if c in counts] + sorted(
        c for c in counts.index if c not in CHANNEL_NAMES)
    fig = go.Figure(go.Bar(
        x=[int(counts[c]) for c in channels], y=[channel_name(c) for c in channels],
        orientation="h", marker_color=[CHANNEL_COLORS.get(c, "#868E96") for c in channels],
        text=[f"{int(counts[c]):,}" for c in channels], textposition="auto",
        hovertemplate="%{y}: %{x} 条记录<extra></extra>",
    ))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title_text="记录数")
    return style(fig, "各渠道记录数", height=260)
