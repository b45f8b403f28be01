"""Prefect artifacts of a run: the top pain points as a table and a markdown run summary."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pandas as pd
from prefect.artifacts import create_markdown_artifact, create_table_artifact

ARTIFACT_COLUMNS = ["stage", "topic_label", "volume", "negative_count", "negative_share",
                    "priority", "trend_7d", "trend_28d", "spike"]


def _cell(value: object) -> object:
    """JSON-safe cell: NaN/None become None, numpy scalars plain Python."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def top_rows(painpoints: pd.DataFrame, n: int) -> list[dict[str, object]]:
    """The `n` highest-priority pain points, as plain rows for the table artifact."""
    if painpoints.empty:
        return []
    top = painpoints.sort_values(["priority", "stage", "topic_id"], ascending=[False, True, True],
                                 kind="stable").head(n)
    return [{c: _cell(v) for c, v in zip(ARTIFACT_COLUMNS, row, strict=True)}
            for row in top[ARTIFACT_COLUMNS].itertuples(index=False, name=None)]


def run_summary(run_date: date, run_id: str, counts: dict[str, int], painpoints: pd.DataFrame,
                report_paths: tuple[Path, ...], sink_name: str) -> str:
    spikes = painpoints[painpoints["spike"].fillna(False).astype(bool)] if len(painpoints) else []
    lines = [
        f"# VOC run {run_date.isoformat()}",
        "",
        f"- run id: `{run_id}`",
        f"- read {counts['read']} = processed {counts['processed']} + quarantined "
        f"{counts['quarantined']} + duplicates {counts['duplicates']}",
        f"- pain points: {len(painpoints)}, spiking today: {len(spikes)}",
        f"- tables written to: {sink_name}",
    ]
    lines += [f"- report: `{Path(p).resolve()}`" for p in report_paths]
    for row in (spikes.itertuples(index=False) if len(spikes) else []):
        lines.append(f"  - spike: {row.stage} / {row.topic_label} ({int(row.negative_count)} "
                     f"negative, p = {float(row.spike_p):.2g})")
    return "\n".join(lines)


def publish_artifacts(run_date: date, run_id: str, counts: dict[str, int],
                      painpoints: pd.DataFrame, report_paths: tuple[Path, ...], sink_name: str,
                      top_n: int = 15) -> None:
    """Attach the top pain points and the run summary to the current Prefect flow run."""
    create_table_artifact(
        key="voc-top-painpoints", table=top_rows(painpoints, top_n),
        description=f"Top {top_n} pain points by priority, {run_date.isoformat()}")
    create_markdown_artifact(
        key="voc-run-summary",
        markdown=run_summary(run_date, run_id, counts, painpoints, report_paths, sink_name),
        description=f"VOC run {run_date.isoformat()}")
