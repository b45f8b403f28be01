"""Journey heatmap: share of negative / neutral / positive customer sentences per stage.

One heatmap trace per channel plus one for all channels (`meta.channel`); the page's channel
filter shows one of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from flows.report.theme import (
    ALL,
    CHANNEL_NAMES,
    SENTIMENT_NAMES,
    SENTIMENTS,
    SHARE_SCALE,
    channel_name,
    plain,
    style,
)


def _shares(customer: pd.DataFrame, stages: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    counts = pd.crosstab(customer["stage"], customer["sentiment_label"], values=customer["n"],
                         aggfunc="sum").fillna(0).astype(int).reindex(
        index=list(stages), columns=list(SENTIMENTS), fill_value=0)
    totals = counts.sum(axis=1).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(totals[:, None] > 0, counts.to_numpy() / totals[:, None], np.nan)
    return shares, np.repeat(totals[:, None], len(SENTIMENTS), axis=1)


def stage_sentiment_heatmap(utterances: pd.DataFrame, stages: Sequence[str],
                            stage_names: Mapping[str, str]) -> go.Figure:
    """`utterances`: sentence counts (column `n`) per channel, role, stage and sentiment."""
    customer = utterances[(utterances["role"] == "customer") & utterances["stage"].notna()]
    present = set(customer["channel"].dropna())
    channels = [ALL] + [c for c in CHANNEL_NAMES if c in present] + sorted(
        present - set(CHANNEL_NAMES))
    y = [plain(stage_names.get(s, s)) for s in stages]
    x = [SENTIMENT_NAMES[s] for s in SENTIMENTS]
    fig = go.Figure()
    for channel in channels:
        subset = customer if channel == ALL else customer[customer["channel"] == channel]
        shares, totals = _shares(subset, stages)
        label = "全部渠道" if channel == ALL else channel_name(channel)
        fig.add_heatmap(
            z=shares, x=x, y=y, zmin=0, zmax=1, colorscale=SHARE_SCALE,
            text=[[("" if np.isnan(v) else f"{v:.0%}") for v in row] for row in shares],
            texttemplate="%{text}", customdata=totals, name=label,
            hovertemplate=label + " · %{y} · %{x}：%{z:.1%}（该阶段 %{customdata} 句）"
            "<extra></extra>",
            colorbar={"title": {"text": "占比"}, "tickformat": ".0%"},
            visible=channel == ALL, meta={"channel": channel}, xgap=2, ygap=2,
        )
    fig.update_yaxes(autorange="reversed")
    return style(fig, "旅程阶段 × 情感占比（客户句）", height=max(300, 46 * len(stages) + 90))
