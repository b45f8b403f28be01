"""A tiny inline SVG sparkline of daily counts (numbers only, so it is safe to inline as-is)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

from flows.report.theme import ACCENT, SPIKE


def sparkline_svg(values: Sequence[float], spikes: Sequence[bool] = (),
                  labels: Sequence[str] = (), width: int = 120, height: int = 30) -> Markup:
    """A polyline over `values` (oldest first); spike days as orange dots, the last day as a dot.
    `labels` (dates) become the tooltip."""
    if not values:
        return Markup('<span class="muted">—</span>')
    pad = 3
    top = max(max(values), 1)
    step = (width - 2 * pad) / max(len(values) - 1, 1)

    def point(i: int, v: float) -> tuple[float, float]:
        return pad + i * step, height - pad - (height - 2 * pad) * (v / top)

    points = [point(i, float(v)) for i, v in enumerate(values)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    dots = []
    for i, (x, y) in enumerate(points):
        if i < len(spikes) and spikes[i]:
            dots.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{SPIKE}"/>')
    last_x, last_y = points[-1]
    dots.append(f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="2.2" fill="{ACCENT}"/>')
    tip = "；".join(f"{d} {int(v)}" for d, v in zip(labels, values, strict=False)) \
        or " ".join(str(int(v)) for v in values)
    return Markup(
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="每日负面句数"><title>{escape(tip)}</title>'
        f'<polyline fill="none" stroke="{ACCENT}" stroke-width="1.5" points="{line}"/>'
        + "".join(dots) + "</svg>")
