"""Aspect-mention figures: positive vs negative mentions per stage, and the emotions of negative
mentions per stage.

Both take the small aggregate frames of flows/report/mentions_view.py (never mention rows) and
carry one trace set per channel plus one for all channels (`meta.channel`) for the page filter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from flows.report.theme import (
    ALL,
    CHANNEL_NAMES,
    SENTIMENT_COLORS,
    SENTIMENT_NAMES,
    SHARE_SCALE,
    channel_name,
    plain,
    style,
)

EMOTION_NAMES = {"anger": "愤怒", "disappointment": "失望", "anxiety": "焦虑", "disgust": "厌恶",
                 "surprise": "惊讶", "joy": "喜悦", "trust": "信任"}
EMOTION_ORDER = ("anger", "disappointment", "anxiety", "disgust", "surprise", "joy", "trust")


def _channels(present: set[str]) -> list[str]:
    return [ALL] + [c for c in CHANNEL_NAMES if c in present] + sorted(
        present - set(CHANNEL_NAMES) - {ALL})


def _label(channel: str) -> str:
    return "全部渠道" if channel == ALL else channel_name(channel)


def mention_stage_bars(counts: pd.DataFrame, stages: Sequence[str],
                       stage_names: Mapping[str, str]) -> go.Figure:
    """Grouped bars: positive and negative mentions per stage (neutral ones in the hover)."""
    x = [plain(stage_names.get(s, s)) for s in stages]
    fig = go.Figure()
    for channel in _channels(set(counts["channel"])):
        part = counts.loc[counts["channel"] == channel,
                          ["stage", "positive", "negative", "neutral"]].set_index("stage").reindex(
            list(stages), fill_value=0)
        label = _label(channel)
        for sentiment in ("positive", "negative"):
            fig.add_bar(
                x=x, y=part[sentiment].astype(int).tolist(), name=SENTIMENT_NAMES[sentiment],
                marker_color=SENTIMENT_COLORS[sentiment], customdata=part["neutral"].astype(int),
                hovertemplate=label + " · %{x} · " + SENTIMENT_NAMES[sentiment]
                + "：%{y} 条提及（中性 %{customdata}）<extra></extra>",
                visible=channel == ALL, meta={"channel": channel},
                legendgroup=sentiment, showlegend=channel == ALL,
            )
    fig.update_layout(barmode="group", bargap=0.25)
    fig.update_yaxes(title_text="提及数")
    return style(fig, "各阶段的正面 / 负面提及（方面级）", height=340)


def negative_emotion_heatmap(emotions: pd.DataFrame, stages: Sequence[str],
                             stage_names: Mapping[str, str]) -> go.Figure:
    """Heatmap: share of a stage's negative mentions that express each emotion (a mention may
    express several, so a row does not sum to 100 %)."""
    seen = set(emotions["emotion"])
    columns = [e for e in EMOTION_ORDER if e in seen] + sorted(seen - set(EMOTION_ORDER))
    rows = [s for s in stages if s in set(emotions["stage"])]
    y = [plain(stage_names.get(s, s)) for s in rows]
    x = [EMOTION_NAMES.get(e, plain(e)) for e in columns]
    fig = go.Figure()
    for channel in _channels(set(emotions["channel"])):
        part = emotions[emotions["channel"] == channel]
        counts = part.pivot_table(index="stage", columns="emotion", values="count",
                                  aggfunc="sum", fill_value=0).reindex(
            index=rows, columns=columns, fill_value=0)
        totals = part.groupby("stage")["negative"].max().reindex(rows).fillna(0).to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            shares = np.where(totals[:, None] > 0, counts.to_numpy() / totals[:, None], np.nan)
        label = _label(channel)
        fig.add_heatmap(
            z=shares, x=x, y=y, zmin=0, zmax=1, colorscale=SHARE_SCALE,
            text=[[("" if np.isnan(v) else f"{v:.0%}") for v in row] for row in shares],
            texttemplate="%{text}", customdata=np.repeat(totals[:, None], len(columns), axis=1),
            hovertemplate=label + " · %{y} · %{x}：%{z:.1%}（该阶段负面提及 %{customdata:.0f} 条）"
            "<extra></extra>",
            colorbar={"title": {"text": "占比"}, "tickformat": ".0%"},
            visible=channel == ALL, meta={"channel": channel}, xgap=2, ygap=2, name=label,
        )
    fig.update_yaxes(autorange="reversed")
    return style(fig, "负面提及的情绪分布（按阶段）", height=max(300, 46 * len(rows) + 90))
