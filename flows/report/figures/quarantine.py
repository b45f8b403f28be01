"""Quarantined inputs by reason code and channel."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from flows.report.theme import CHANNEL_COLORS, CHANNEL_NAMES, channel_name, plain, style


def quarantine_reasons(quarantine: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    if quarantine.empty:
        fig.add_annotation(text="今日没有被隔离的输入", showarrow=False, font={"size": 14},
                           xref="paper", yref="paper", x=0.5, y=0.5)
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
        return style(fig, "隔离输入（原因 × 渠道）", height=260)
    table = quarantine.assign(reason_code=quarantine["reason_code"].fillna("?"),
                              reason=quarantine["reason"].fillna(""))
    codes = sorted(table["reason_code"].unique())
    reasons = table.groupby("reason_code")["reason"].first()
    present = set(table["channel"])
    for channel in [c for c in CHANNEL_NAMES if c in present] + sorted(present - set(CHANNEL_NAMES)):
        counts = table[table["channel"] == channel]["reason_code"].value_counts()
        fig.add_bar(
            name=channel_name(channel), x=codes, y=[int(counts.get(c, 0)) for c in codes],
            marker_color=CHANNEL_COLORS.get(channel, "#868E96"),
            customdata=[plain(reasons.get(c, "")) for c in codes],
            hovertemplate="%{x} %{customdata}<br>" + channel_name(channel)
            + "：%{y}<extra></extra>",
        )
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title_text="输入数")
    return style(fig, f"隔离输入（原因 × 渠道），共 {len(table)} 条", height=260)
