"""Journey heatmap: priority of each stage x topic cell (the painpoints table), top topics only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from flows.report.theme import PRIORITY_SCALE, plain, style


def stage_priority_heatmap(painpoints: pd.DataFrame, stages: Sequence[str],
                           stage_names: Mapping[str, str], n_topics: int = 12) -> go.Figure:
    fig = go.Figure()
    cells = painpoints[painpoints["topic_id"] >= 0]
    if cells.empty:
        return style(fig, "旅程阶段 × 话题优先级", height=300)
    order = cells.groupby("topic_id")["priority"].sum().sort_values(ascending=False, kind="stable")
    topics = order.index[:n_topics].tolist()
    labels = cells.drop_duplicates("topic_id").set_index("topic_id")["topic_label"]
    grid = cells.pivot_table(index="stage", columns="topic_id", values="priority", aggfunc="sum")
    grid = grid.reindex(index=list(stages), columns=topics)
    volume = cells.pivot_table(index="stage", columns="topic_id", values="volume",
                               aggfunc="sum").reindex(index=list(stages), columns=topics)
    negative = cells.pivot_table(index="stage", columns="topic_id", values="negative_share",
                                 aggfunc="mean").reindex(index=list(stages), columns=topics)
    z = grid.to_numpy(dtype=float)
    custom = np.dstack([volume.fillna(0).to_numpy(), negative.fillna(0).to_numpy()])
    x = [plain(f"{labels.get(t) or t}") for t in topics]
    # two topics may share a label: keep the axis categories distinct
    x = [f"{label}·{t}" if x.count(label) > 1 else label for label, t in zip(x, topics, strict=True)]
    fig.add_heatmap(
        z=z, x=x, y=[plain(stage_names.get(s, s)) for s in stages], colorscale=PRIORITY_SCALE,
        text=[[("" if np.isnan(v) else f"{v:.0f}") for v in row] for row in z],
        texttemplate="%{text}", customdata=custom, xgap=2, ygap=2,
        hovertemplate="%{y} · %{x}<br>优先级 %{z:.1f}<br>声量 %{customdata[0]} 句，"
        "负面 %{customdata[1]:.0%}<extra></extra>",
        colorbar={"title": {"text": "优先级"}},
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(tickangle=-30)
    return style(fig, "旅程阶段 × 话题优先级（全部渠道）", height=max(300, 46 * len(stages) + 120))
