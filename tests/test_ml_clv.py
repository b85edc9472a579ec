"""ml.clv: hazard from a 90-day churn probability and the discounted CLV sum."""

from __future__ import annotations

import numpy as np
import pytest

from ml.clv import monthly_discount_rate, monthly_hazard, predicted_clv


def test_monthly_hazard_compounds_back_to_the_90_day_probability() -> None:
    p = np.array([0.0, 0.1, 0.5, 1.0])
    hazard = monthly_hazard(p)
    np.testing.assert_allclose(1 - (1 - hazard) ** 3, p)
    assert hazard[2] == pytest.approx(1 - 0.5 ** (1 / 3))


def test_clv_equals_the_explicit_discounted_sum() -> None:
    margin = np.array([30.0, 50.0, 10.0])
    hazard = np.array([0.02, 0.2, 0.0])
    d = (1.10) ** (1 / 12) - 1
    expected = [
        sum(m * (1 - h) ** t / (1 + d) ** t for t in range(1, 37))
        for m, h in zip(margin, hazard, strict=True)
    ]
    np.testing.assert_allclose(predicted_clv(margin, hazard), expected)
    assert monthly_discount_rate(0.10) == pytest.approx(d)


def test_without_churn_and_discounting_clv_is_margin_times_horizon() -> None:
    assert predicted_clv(np.array([20.0]), np.array([0.0]), annual_rate=0.0)[0] == 20.0 * 36
