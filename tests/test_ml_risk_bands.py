"""ml.risk_bands: thresholds for the retention capacity, checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from ml.risk_bands import choose_bands

# 10 validation rows over 2 snapshot months, sorted by score for readability
SCORES = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
Y = np.array([1, 1, 0, 1, 0, 0, 0, 0, 0, 0])  # churn rate 0.3


def test_high_band_holds_the_capacity_per_month_and_medium_has_above_average_churn() -> None:
    bands = choose_bands(SCORES, Y, capacity=1, periods=2)
    # capacity 1 per month x 2 months = the 2 highest scores
    assert bands.high_threshold == pytest.approx(0.8)
    # below it the labels run 0, 1, 0, 0, ...: the band's churn rate over the next 1, 2, 3, 4
    # rows is 0, 1/2, 1/3, 1/4; >= the overall 0.3 down to 3 rows, so medium starts at 0.5
    assert bands.medium_threshold == pytest.approx(0.5)
    assert bands.assign(SCORES).tolist() == ["high"] * 2 + ["medium"] * 3 + ["low"] * 5
    summary = bands.summary(SCORES, Y, periods=2)
    assert summary["high"] == {
        "rows": 2,
        "rows_per_period": 1.0,
        "churners": 2,
        "churn_rate": 1.0,
        "share_of_churners": pytest.approx(2 / 3),
    }
    assert summary["medium"]["churn_rate"] == pytest.approx(1 / 3)
    assert summary["low"]["churners"] == 0


def test_medium_band_is_empty_when_no_depth_reaches_the_churn_rate() -> None:
    y = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0])
    bands = choose_bands(SCORES, y, capacity=3)
    assert bands.high_threshold == pytest.approx(0.7)
    assert bands.medium_threshold == bands.high_threshold
    assert (bands.assign(SCORES) == "medium").sum() == 0
