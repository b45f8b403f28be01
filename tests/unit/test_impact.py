"""Rating impact of stages and topics: rescaling, the figure, its bootstrap interval, priority."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from nlp.config import ImpactSettings, RatingSource
from nlp.impact import IMPACT_COLUMNS, apply_rating_impact, rating_impact, record_ratings


def _documents() -> pd.DataFrame:
    rows = []
    for i in range(40):
        mentions_slow = i < 10
        rows.append({"record_id": f"c{i}", "channel": "complaint",
                     "rating": 1.0 if mentions_slow else 4.0 + (i % 2), "meta": "{}"})
    for i in range(10):
        rows.append({"record_id": f"h{i}", "channel": "chat", "rating": None,
                     "meta": json.dumps({"nps": 10 if i % 2 else 8})})
    rows.append({"record_id": "f0", "channel": "forum", "rating": 3.0, "meta": "{}"})
    return pd.DataFrame(rows)


def _settings(**kw) -> ImpactSettings:
    sources = {"complaint": RatingSource(field="csat", scale=(1, 5)),
               "chat": RatingSource(field="nps", scale=(0, 10))}
    return ImpactSettings(sources=sources, n_boot=300, **kw)


def _rows() -> pd.DataFrame:
    rows = [{"record_id": f"c{i}", "role": "customer", "stage": "deliver" if i < 10 else "use",
             "topic_id": 7 if i < 10 else 2} for i in range(40)]
    rows.append({"record_id": "c0", "role": "agent", "stage": "support", "topic_id": -1})
    return pd.DataFrame(rows)


def test_ratings_are_taken_from_the_configured_field_and_rescaled():
    ratings = record_ratings(_documents(), _settings()).set_index("record_id")["rating"]
    assert "f0" not in ratings  # forum has no configured rating
    assert ratings["c0"] == 1.0 and ratings["c11"] == 5.0
    assert ratings["h1"] == 5.0 and ratings["h0"] == 1 + 8 / 10 * 4


def test_impact_is_the_change_of_the_mean_without_the_mentioning_records():
    settings = _settings()
    ratings = record_ratings(_documents(), settings)
    frame = rating_impact(ratings, _rows(), "stage", settings)
    assert list(frame.columns) == IMPACT_COLUMNS
    deliver = frame.set_index("item").loc["deliver"]
    values = ratings.set_index("record_id")["rating"]
    mean_all = values.mean()
    without = values.drop([f"c{i}" for i in range(10)]).mean()
    assert np.isclose(deliver["impact"], round(without - mean_all, 4))
    assert deliver["n_records"] == 10 and deliver["n_rated"] == len(values)
    assert 0 < deliver["ci_low"] <= deliver["impact"] <= deliver["ci_high"]
    use = frame.set_index("item").loc["use"]
    assert use["impact"] < 0 and use["ci_high"] < 0  # removing the happy records lowers the mean
    assert "support" not in frame["item"].tolist()  # agent rows do not count


def test_the_bootstrap_is_reproducible_and_small_keys_get_no_interval():
    settings = _settings(min_records=11)
    ratings = record_ratings(_documents(), settings)
    first = rating_impact(ratings, _rows(), "topic_id", settings)
    second = rating_impact(ratings, _rows(), "topic_id", settings)
    pd.testing.assert_frame_equal(first, second)
    assert np.isnan(first.set_index("item").loc["7", "ci_low"])


def test_priority_grows_only_with_a_sure_positive_impact():
    impact = pd.DataFrame([
        {"dimension": "stage", "item": "deliver", "impact": 0.5, "ci_low": 0.2},
        {"dimension": "stage", "item": "use", "impact": 0.3, "ci_low": -0.1},
        {"dimension": "topic_id", "item": "7", "impact": 0.25, "ci_low": 0.05},
    ])
    painpoints = pd.DataFrame([{"stage": "use", "topic_id": 2, "priority": 10.0},
                               {"stage": "deliver", "topic_id": 7, "priority": 8.0}])
    out = apply_rating_impact(painpoints, impact)
    assert out.iloc[0]["stage"] == "deliver" and out.iloc[0]["priority"] == 14.0
    assert out.set_index("stage").loc["use", "priority"] == 10.0


def test_no_ratings_give_an_empty_frame():
    settings = _settings()
    empty = record_ratings(_documents().iloc[0:0], settings)
    assert rating_impact(empty, _rows(), "stage", settings).empty
