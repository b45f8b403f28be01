"""Trend and spike definitions (nlp/trends.py, docs/schema.md) against hand-computed values."""

from datetime import date

import pandas as pd
import pytest

from nlp.config import TrendSettings
from nlp.trends import add_trends, daily_series, poisson_upper_tail

T = date(2026, 11, 30)


def rows(day: date, counts: dict[str, int]) -> list[dict]:
    return [{"run_date": day, "stage": s, "topic_id": 0, "negative_count": n}
            for s, n in counts.items()]


@pytest.fixture
def history():
    # 'deliver': 2 on 11-20 (10 days back: in the 28-day window only), 4 on 11-25, 6 on 11-28;
    # 'billing' only on 11-28; the run date itself and later dates must be ignored.
    return pd.DataFrame(rows(date(2026, 11, 20), {"deliver": 2})
                        + rows(date(2026, 11, 25), {"deliver": 4})
                        + rows(date(2026, 11, 28), {"deliver": 6, "billing": 1})
                        + rows(T, {"deliver": 99}) + rows(date(2026, 12, 1), {"deliver": 99}))


def today(**counts: int) -> pd.DataFrame:
    return pd.DataFrame(rows(T, counts)).drop(columns="run_date")


def test_trends_against_hand_computed_means(history):
    out = add_trends(today(deliver=15, billing=0, support=4), history, T)
    deliver, billing, support = (out.iloc[i] for i in range(3))
    # 7 days: 11-25, 11-28 -> m = (4 + 6) / 2 = 5 -> (15 - 5) / 5
    assert deliver.trend_7d == pytest.approx(2.0)
    # 28 days: 11-20, 11-25, 11-28 -> m = 12 / 3 = 4 -> (15 - 4) / 4
    assert deliver.trend_28d == pytest.approx(2.75)
    # billing: m_7 = 1 / 2 = 0.5, floored at 1 -> (0 - 0.5) / 1
    assert billing.trend_7d == pytest.approx(-0.5)
    # support is new: m = 0 -> (4 - 0) / 1
    assert support.trend_7d == pytest.approx(4.0) and support.trend_28d == pytest.approx(4.0)
    assert list(out["history_days"]) == [3, 3, 3]


def test_spike_is_a_poisson_upper_tail_test(history):
    out = add_trends(today(deliver=15, billing=2), history, T)
    deliver, billing = out.iloc[0], out.iloc[1]
    # lambda = 4: P(X >= 15) = 1 - sum_{k<15} e^-4 4^k / k! = 1.993e-05
    assert deliver.spike_p == pytest.approx(1.993e-05, rel=1e-3)
    assert deliver.spike_z == pytest.approx((15 - 4) / 2)
    assert bool(deliver.spike) is True
    # billing: lambda = max(1/3, 1) = 1, P(X >= 2) = 1 - 2/e = 0.2642
    assert billing.spike_p == pytest.approx(0.264241, abs=1e-6)
    assert bool(billing.spike) is False


def test_no_spike_without_enough_history_or_volume(history):
    strict = TrendSettings(spike_min_history=4)
    assert not add_trends(today(deliver=15), history, T, strict)["spike"].any()
    loud = TrendSettings(spike_min_count=20)
    assert not add_trends(today(deliver=15), history, T, loud)["spike"].any()


def test_without_history_trends_are_null_and_nothing_spikes():
    out = add_trends(today(deliver=50), pd.DataFrame(), T)
    assert out["trend_7d"].isna().all() and out["trend_28d"].isna().all()
    assert out["spike_p"].isna().all() and not out["spike"].any()
    assert list(out["history_days"]) == [0]


def test_poisson_tail_edges():
    assert poisson_upper_tail(0, 3.0) == 1.0
    assert poisson_upper_tail(1, 1.0) == pytest.approx(1 - 0.367879, abs=1e-6)


def test_daily_series_fills_missing_days_with_zero(history):
    keys = today(billing=3)
    series = daily_series(history[history["run_date"] < T], keys.assign(run_date=T), keys)
    assert series["negative_count"].tolist() == [0, 0, 1, 3]
