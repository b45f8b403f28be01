"""Look of the report: CJK font stack, colours, Chinese names, and the shared plotly layout."""

from __future__ import annotations

import html

import plotly.graph_objects as go

FONT_STACK = ('"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", '
              '"PingFang SC", "Hiragino Sans GB", "WenQuanYi Micro Hei", sans-serif')
CHANNEL_NAMES = {"complaint": "投诉工单", "forum": "论坛帖子", "chat": "在线客服", "call": "电话录音"}
CHANNEL_COLORS = {"complaint": "#4C6EF5", "forum": "#12B886", "chat": "#FAB005", "call": "#7950F2"}
SENTIMENT_NAMES = {"negative": "负面", "neutral": "中性", "positive": "正面"}
SENTIMENT_COLORS = {"negative": "#E03131", "neutral": "#ADB5BD", "positive": "#2F9E44"}
SENTIMENTS = ("negative", "neutral", "positive")
ACCENT = "#1C7ED6"
SPIKE = "#E8590C"
PRIORITY_SCALE = [[0.0, "#FFF5F5"], [0.35, "#FFA8A8"], [0.7, "#F03E3E"], [1.0, "#862E2E"]]
SHARE_SCALE = [[0.0, "#F8F9FA"], [0.5, "#FFC9C9"], [1.0, "#C92A2A"]]
ALL = "all"  # the channel filter's "every channel" value


def channel_name(channel: str) -> str:
    return CHANNEL_NAMES.get(channel, channel)


def style(fig: go.Figure, title: str, height: int = 320) -> go.Figure:
    """The shared layout: CJK fonts, white background, compact margins, legend on top."""
    fig.update_layout(
        title={"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 15}},
        font={"family": FONT_STACK, "size": 12, "color": "#343A40"},
        template="plotly_white",
        height=height,
        margin={"l": 60, "r": 20, "t": 56, "b": 40},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
        hoverlabel={"font": {"family": FONT_STACK}},
        paper_bgcolor="white",
        plot_bgcolor="white",
    )
    return fig


def plain(value: object) -> str:
    """User text for plotly: plotly renders a subset of HTML tags in labels and hover text, so
    `<`, `>` and `&` are escaped (plotly shows the entities as the characters)."""
    return html.escape(str(value), quote=False)
