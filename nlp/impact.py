"""Impact on ratings: how much the average rating would change without the records that mention a
topic or a stage, with a bootstrap confidence interval.

For a key (a stage, a topic) with k of the n rated records mentioning it:

    impact = mean(ratings of the other n - k records) - mean(all n ratings)
           = k / n * (mean_without - mean_with)

so a positive impact means the key drags the average down (removing those records would raise
it by `impact` points on `impact.target_scale`). The interval is a stratified bootstrap with
`n_boot` resamples and a fixed seed: the mentioning and the other records are resampled with
replacement within their group (k fixed). Ratings take few distinct values, so each resample is
drawn as multinomial counts over the distinct values, which is exact and costs nothing per
record. Every channel's rating is first rescaled from its own scale (`impact.sources`) onto
`impact.target_scale`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

IMPACT_COLUMNS = ["dimension", "item", "n_records", "n_rated", "mean_rating", "mean_with",
                  "mean_without", "impact", "ci_low", "ci_high"]


def _meta_value(meta: Any, field: str) -> Any:
    if isinstance(meta, str):
        try:
            meta = json.loads(meta)
        except ValueError:
            return None
    return meta.get(field) if isinstance(meta, Mapping) else None


def record_ratings(documents: pd.DataFrame, settings) -> pd.DataFrame:
    """record_id, channel, rating on the target scale, for records of a configured channel
    whose rating field holds a number inside that channel's scale. `settings` is
    nlp.config.ImpactSettings."""
    lo_t, hi_t = settings.target_scale
    rows = []
    for channel, source in settings.sources.items():
        part = documents[documents["channel"] == channel]
        if part.empty:
            continue
        if source.field == "csat":
            values = part["rating"]
        else:
            values = part.get("meta", pd.Series([None] * len(part), index=part.index)).map(
                lambda m, f=source.field: _meta_value(m, f))
        values = pd.to_numeric(values, errors="coerce")
        lo, hi = source.scale
        ok = values.notna() & (values >= min(lo, hi)) & (values <= max(lo, hi))
        scaled = lo_t + (values[ok] - lo) / (hi - lo) * (hi_t - lo_t)
        rows.append(pd.DataFrame({"record_id": part.loc[ok, "record_id"].to_numpy(),
                                  "channel": channel, "rating": scaled.to_numpy(dtype=float)}))
    if not rows:
        return pd.DataFrame(columns=["record_id", "channel", "rating"])
    return pd.concat(rows, ignore_index=True).drop_duplicates("record_id")


def _bootstrap_means(values: np.ndarray, size: int, n_boot: int,
                     rng: np.random.Generator) -> np.ndarray:
    """Means of `n_boot` resamples of `size` draws with replacement from `values`."""
    distinct, counts = np.unique(values, return_counts=True)
    if len(distinct) <= 256:
        draws = rng.multinomial(size, counts / counts.sum(), size=n_boot)
        return draws @ distinct / size
    return np.array([rng.choice(values, size).mean() for _ in range(n_boot)])


def rating_impact(ratings: pd.DataFrame, rows: pd.DataFrame, key: str, settings) -> pd.DataFrame:
    """One row per value of `key` (e.g. stage, topic_id) in `rows` (utterance or mention rows
    with record_id; only customer rows count): the impact figure and its interval. Keys with
    fewer than `min_records` rated records, or mentioned by every rated record, get no
    interval (NaN)."""
    if ratings.empty or rows.empty:
        return pd.DataFrame(columns=IMPACT_COLUMNS)
    if "role" in rows:
        rows = rows[rows["role"] == "customer"]
    rated = ratings.set_index("record_id")["rating"]
    values = rated.to_numpy(dtype=float)
    n, total = len(values), float(values.sum())
    mean_all = total / n
    alpha = (1.0 - settings.confidence) / 2.0
    rng = np.random.default_rng(settings.seed)
    members = rows[rows["record_id"].isin(rated.index)].groupby(key, sort=True)["record_id"]
    out = []
    for value, ids in members:
        mask = rated.index.isin(ids.unique())
        k = int(mask.sum())
        with_ = values[mask]
        without = values[~mask]
        mean_with = float(with_.mean())
        mean_without = float(without.mean()) if len(without) else float("nan")
        impact = mean_without - mean_all if len(without) else float("nan")
        low = high = float("nan")
        if k >= settings.min_records and len(without):
            boot_with = _bootstrap_means(with_, k, settings.n_boot, rng)
            boot_without = _bootstrap_means(without, n - k, settings.n_boot, rng)
            boot = k / n * (boot_without - boot_with)
            low, high = (float(q) for q in np.quantile(boot, [alpha, 1.0 - alpha]))
        out.append({"dimension": key, "item": str(value), "n_records": k, "n_rated": n,
                    "mean_rating": round(mean_all, 4), "mean_with": round(mean_with, 4),
                    "mean_without": round(mean_without, 4), "impact": round(impact, 4),
                    "ci_low": round(low, 4), "ci_high": round(high, 4)})
    frame = pd.DataFrame(out, columns=IMPACT_COLUMNS)
    return frame.sort_values(["impact", "item"], ascending=[False, True], kind="stable",
                             na_position="last").reset_index(drop=True)


def apply_rating_impact(painpoints: pd.DataFrame, impact: pd.DataFrame) -> pd.DataFrame:
    """Priority x (1 + stage impact + topic impact), counting an impact only when its interval
    lies above 0 (the key demonstrably lowers the average rating); adds `rating_impact` (the
    factor minus 1) and re-sorts by priority."""
    if painpoints.empty:
        return painpoints.assign(rating_impact=pd.Series(dtype=float))

    def sure(dimension: str) -> dict[str, float]:
        part = impact[(impact["dimension"] == dimension) & (impact["ci_low"] > 0)]
        return dict(zip(part["item"], part["impact"], strict=True))

    stage, topic = sure("stage"), sure("topic_id")
    extra = [stage.get(str(s), 0.0) + topic.get(str(int(t)), 0.0)
             for s, t in zip(painpoints["stage"], painpoints["topic_id"], strict=True)]
    out = painpoints.assign(rating_impact=np.round(extra, 4))
    out["priority"] = (out["priority"] * (1.0 + out["rating_impact"])).round(3)
    return out.sort_values(["priority", "stage", "topic_id"], ascending=[False, True, True],
                           kind="stable").reset_index(drop=True)
