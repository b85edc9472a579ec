"""ml.risk_bands: a call band for the retention capacity and a watch band at an absolute
(calibrated) risk, checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from ml.risk_bands import choose_bands

# 10 validation rows over 2 snapshot months, sorted by score for readability
SCORES = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
Y = np.array([1, 1, 0, 1, 0, 0, 0, 0, 0, 0])  # churn rate 0.3


def test_high_band_holds_the_capacity_per_month_and_watch_band_an_absolute_risk() -> None:
    bands = choose_bands(SCORES, Y, capacity=1, periods=2, watch_lift=1.5)
    # capacity 1 per month x 2 months = the 2 highest scores
    assert bands.high_threshold == pytest.approx(0.8)
    # watch: probability >= 1.5 x the validation churn rate 0.3 = 0.45
    assert bands.medium_threshold == pytest.approx(0.45)
    assert bands.base_rate == pytest.approx(0.3)
    assert bands.assign(SCORES).tolist() == ["high"] * 2 + ["medium"] * 3 + ["low"] * 5
    summary = bands.summary(SCORES, Y, periods=2)
    assert summary["high"] == {
        "rows": 2,
        "rows_per_period": 1.0,
        "churners": 2,
        "churn_rate": 1.0,
        "mean_predicted": pytest.approx(0.85),
        "share_of_churners": pytest.approx(2 / 3),
    }
    assert summary["medium"]["churn_rate"] == pytest.approx(1 / 3)
    assert summary["medium"]["mean_predicted"] == pytest.approx(0.6)
    assert summary["low"]["churners"] == 0


def test_watch_band_is_empty_when_the_call_band_reaches_below_its_risk() -> None:
    bands = choose_bands(SCORES, Y, capacity=8, watch_lift=2.0)  # 2 x 0.3 = 0.6 > 0.2
    assert bands.high_threshold == pytest.approx(0.2)
    assert bands.medium_threshold == bands.high_threshold
    assert (bands.assign(SCORES) == "medium").sum() == 0


def test_bands_json_says_what_each_band_means() -> None:
    described = choose_bands(SCORES, Y, capacity=1).as_json()
    assert set(described["meanings"]) == {"high", "medium", "low"}
    assert described["watch_lift"] == 2.0
