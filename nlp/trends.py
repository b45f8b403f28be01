"""Trends and spikes of pain points: today's negative volume against earlier run dates.

Pure functions over frames; the flow reads the history from the sink and passes it in.

Definitions (also in docs/schema.md, table painpoints). For one pain point (key `stage`,
`topic_id`, or any key columns via `by`) on run date T:

- n = today's `negative_count`.
- D_W = the run dates present in `history` with T - W days <= date < T (calendar days; a date
  without a run is not counted, a run date where the pain point has no row counts as 0).
- m_W = (sum of its negative_count over D_W) / |D_W|: the mean daily negative volume.
- b = `min_baseline` (default 1.0): a floor for the mean, so that a pain point new today
  (m = 0) gets a finite trend and a sane test instead of a division by zero.

trend_7d  = (n - m_7)  / max(m_7,  b)     NULL when D_7 is empty
trend_28d = (n - m_28) / max(m_28, b)     NULL when D_28 is empty; 0.5 = +50 % against the mean

Spike test, Poisson upper tail on daily counts, with S = `spike_window` (default 28 days) and
lambda = max(m_S, b):

spike_p = P(X >= n | X ~ Poisson(lambda))   (scipy.stats.poisson.sf(n - 1, lambda))
spike_z = (n - lambda) / sqrt(lambda)          the size of the deviation, for ranking
spike   = |D_S| >= spike_min_history and n >= spike_min_count and spike_p <= spike_alpha

spike_p and spike_z are NULL when D_S is empty; spike is then false.
history_days = |D_28|, the number of earlier run dates behind trend_28d.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from datetime import date, timedelta

import numpy as np
import pandas as pd
from scipy.stats import poisson

from nlp.config import TrendSettings

log = logging.getLogger(__name__)

KEY = ("stage", "topic_id")
CHANNEL_KEY = ("stage", "topic_id", "channel")
TREND_COLUMNS = ["trend_7d", "trend_28d", "spike", "spike_z", "spike_p", "history_days"]
SHORT, LONG = 7, 28


def history_window(settings: TrendSettings | None = None) -> int:
    """Calendar days of earlier runs `add_trends` needs: the longest of its windows."""
    return max(LONG, (settings or TrendSettings()).spike_window)


def as_date(value: object) -> date:
    """Run dates come back as datetime.date from the sinks, as Timestamps from some pandas ops."""
    return value.date() if isinstance(value, pd.Timestamp) else value  # type: ignore[return-value]


def dates_within(dates: Sequence[date], run_date: date, days: int) -> list[date]:
    """The dates d with run_date - days <= d < run_date, oldest first."""
    start = run_date - timedelta(days=days)
    return sorted(d for d in dates if start <= d < run_date)


def mean_daily(history: pd.DataFrame, dates: Sequence[date], keys: pd.DataFrame,
               by: Sequence[str], count: str) -> np.ndarray:
    """Mean daily `count` over `dates` for each row of `keys` (a missing key on a date is 0)."""
    if not len(dates) or keys.empty:
        return np.zeros(len(keys))
    window = history[history["run_date"].isin(list(dates))]
    sums = window.groupby(list(by), dropna=False)[count].sum().rename("_sum").reset_index()
    merged = keys[list(by)].merge(sums, on=list(by), how="left")
    return merged["_sum"].fillna(0).to_numpy(dtype=float) / len(dates)


def poisson_upper_tail(n: int, lam: float) -> float:
    """P(X >= n) for X ~ Poisson(lam)."""
    return 1.0 if n <= 0 else float(poisson.sf(n - 1, lam))


def add_trends(painpoints: pd.DataFrame, history: pd.DataFrame | None, run_date: date,
               settings: TrendSettings | None = None, *, by: Sequence[str] = KEY,
               count: str = "negative_count") -> pd.DataFrame:
    """`painpoints` with trend_7d, trend_28d, spike, spike_z, spike_p, history_days added
    (row order kept). `history` holds earlier runs' rows (run_date, the `by` columns, `count`);
    rows on or after `run_date` are ignored. Definitions: module docstring."""
    opts = settings or TrendSettings()
    by = list(by)
    out = painpoints.reset_index(drop=True).copy()
    if history is None or history.empty:
        history = pd.DataFrame(columns=["run_date", *by, count])
    history = history.assign(run_date=[as_date(d) for d in history["run_date"]])
    history = history[history["run_date"] < run_date]
    dates = sorted(set(history["run_date"]))
    n = out[count].fillna(0).astype(float).to_numpy()

    for column, days in (("trend_7d", SHORT), ("trend_28d", LONG)):
        window = dates_within(dates, run_date, days)
        if window:
            m = mean_daily(history, window, out, by, count)
            out[column] = np.round((n - m) / np.maximum(m, opts.min_baseline), 4)
        else:
            out[column] = None
    out["history_days"] = len(dates_within(dates, run_date, LONG))
    window = dates_within(dates, run_date, opts.spike_window)
    if window:
        lam = np.maximum(mean_daily(history, window, out, by, count), opts.min_baseline)
        p = np.array([poisson_upper_tail(int(k), float(lk)) for k, lk in zip(n, lam, strict=True)])
        out["spike_p"] = np.round(p, 8)
        out["spike_z"] = np.round((n - lam) / np.sqrt(lam), 4)
        enough = len(window) >= opts.spike_min_history
        out["spike"] = enough & (n >= opts.spike_min_count) & (p <= opts.spike_alpha)
    else:
        out["spike_p"] = None
        out["spike_z"] = None
        out["spike"] = False
    out["spike"] = out["spike"].astype(bool)
    log.info("trends over %d earlier run dates: %d of %d pain points spike", len(window),
             int(out["spike"].sum()), len(out))
    return out


def channel_counts(utterances: pd.DataFrame) -> pd.DataFrame:
    """Customer sentences per stage x topic x channel (per run date when the frame has one):
    `volume` and `negative_count`; the report's per-channel breakdown. A frame of counts
    (column `n`: rows per key, as the report holds the night's sentences) counts `n` per row."""
    keys = (["run_date"] if "run_date" in utterances.columns else []) + list(CHANNEL_KEY)
    customer = utterances[utterances["role"] == "customer"]
    if customer.empty:
        return pd.DataFrame(columns=[*keys, "volume", "negative_count"])
    n = customer["n"] if "n" in customer.columns else pd.Series(1, index=customer.index)
    counted = customer.assign(volume=n, negative_count=n.where(
        customer["sentiment_label"] == "negative", 0))
    grouped = counted.groupby(keys, dropna=False, sort=True)
    return grouped[["volume", "negative_count"]].sum().astype(int).reset_index()


def daily_series(history: pd.DataFrame, today: pd.DataFrame, keys: pd.DataFrame,
                 by: Sequence[str] = KEY, count: str = "negative_count") -> pd.DataFrame:
    """One row per key and run date (history + today, missing = 0) for the given `keys`:
    columns run_date, the `by` columns and `count`; the data of sparklines and trend charts."""
    by = list(by)
    frames = [f[["run_date", *by, count]] for f in (history, today) if not f.empty]
    if not frames or keys.empty:
        return pd.DataFrame(columns=["run_date", *by, count])
    rows = pd.concat(frames, ignore_index=True)
    rows["run_date"] = [as_date(d) for d in rows["run_date"]]
    rows = rows.groupby(["run_date", *by], dropna=False)[count].sum().reset_index()
    dates = sorted(rows["run_date"].unique())
    grid = keys[by].drop_duplicates().merge(pd.DataFrame({"run_date": dates}), how="cross")
    full = grid.merge(rows, on=["run_date", *by], how="left")
    full[count] = full[count].fillna(0).astype(int)
    return full.sort_values([*by, "run_date"], kind="stable").reset_index(drop=True)


def is_finite(value: object) -> bool:
    """True for a real number (not None, not NaN): trends are NULL without history."""
    return isinstance(value, int | float | np.number) and math.isfinite(float(value))
