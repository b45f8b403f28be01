"""Sentiment mix per channel: share of records by document sentiment, 100 % stacked bars."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from flows.report.theme import (
    CHANNEL_NAMES,
    SENTIMENT_COLORS,
    SENTIMENT_NAMES,
    SENTIMENTS,
    channel_name,
    style,
)


def sentiment_mix(documents: pd.DataFrame) -> go.Figure:
    """`documents`: record counts (column `n`) per channel and sentiment label."""
    docs = documents.assign(channel=documents["channel"].fillna("?"))
    present = set(docs["channel"])
    channels = [c for c in CHANNEL_NAMES if c in present] + sorted(present - set(CHANNEL_NAMES))
    rows = [("全部", docs)] + [(channel_name(c), docs[docs["channel"] == c]) for c in channels]
    fig = go.Figure()
    for sentiment in SENTIMENTS:
        counts = [int(frame.loc[frame["sentiment_label"] == sentiment, "n"].sum())
                  for _, frame in rows]
        totals = [int(frame["n"].sum()) for _, frame in rows]
        shares = [c / t if t else 0.0 for c, t in zip(counts, totals, strict=True)]
        fig.add_bar(
            name=SENTIMENT_NAMES[sentiment], y=[name for name, _ in rows], x=shares,
            orientation="h", marker_color=SENTIMENT_COLORS[sentiment],
            text=[f"{s:.0%}" if s >= 0.06 else "" for s in shares], textposition="inside",
            customdata=counts,
            hovertemplate="%{y} · " + SENTIMENT_NAMES[sentiment]
            + ": %{x:.1%}（%{customdata} 条）<extra></extra>",
        )
    fig.update_layout(barmode="stack")
    fig.update_xaxes(tickformat=".0%", range=[0, 1])
    fig.update_yaxes(autorange="reversed")
    return style(fig, "情感构成（按记录）", height=260)
