"""Predicted customer lifetime value from the monthly margin and the churn model's hazard.

The model predicts p = P(churn within 90 days). Assuming a constant monthly hazard h over the
window, (1 - h)^3 = 1 - p, so h = 1 - (1 - p)^(1/3). A customer still active after month t
(probability (1 - h)^t) pays that month's margin m, discounted at the monthly rate
d = (1 + annual_rate)^(1/12) - 1:

    CLV = sum_{t=1..T} m (1 - h)^t / (1 + d)^t = m r (1 - r^T) / (1 - r),   r = (1 - h)/(1 + d)

with a finite horizon T (default 36 months) so that near-zero hazards do not give unbounded
values. Defaults: 10% annual discount rate, 36 months.
"""

from __future__ import annotations

import numpy as np

ANNUAL_DISCOUNT_RATE = 0.10
HORIZON_MONTHS = 36
WINDOW_MONTHS = 3


def monthly_hazard(churn_probability: np.ndarray, window_months: int = WINDOW_MONTHS) -> np.ndarray:
    """Constant monthly hazard implied by a churn probability over `window_months`."""
    p = np.clip(np.asarray(churn_probability, dtype=float), 0.0, 1.0)
    return 1.0 - (1.0 - p) ** (1.0 / window_months)


def monthly_discount_rate(annual_rate: float = ANNUAL_DISCOUNT_RATE) -> float:
    return (1.0 + annual_rate) ** (1.0 / 12.0) - 1.0


def predicted_clv(
    monthly_margin: np.ndarray,
    hazard: np.ndarray,
    annual_rate: float = ANNUAL_DISCOUNT_RATE,
    horizon_months: int = HORIZON_MONTHS,
) -> np.ndarray:
    """Discounted expected margin over the horizon (closed form of the sum above)."""
    margin = np.asarray(monthly_margin, dtype=float)
    ratio = (1.0 - np.asarray(hazard, dtype=float)) / (1.0 + monthly_discount_rate(annual_rate))
    with np.errstate(divide="ignore", invalid="ignore"):
        geometric = np.where(
            np.isclose(ratio, 1.0),
            float(horizon_months),
            ratio * (1.0 - ratio**horizon_months) / (1.0 - ratio),
        )
    return margin * geometric
