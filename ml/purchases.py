"""One-off orders: BG/NBD for how many more orders, Gamma-Gamma for how much each is worth.

The `lifetimes` package fits both (Fader, Hardie & Lee 2005; Fader & Hardie 2013). Inputs per
customer, from completed orders strictly before the reference date, in weeks (CDNOW's unit):
- frequency: repeat orders (order days after the first),
- recency: first order day to last order day,
- T: first order day to the reference date,
- monetary value: mean net amount of the repeat order days (Gamma-Gamma uses repeat customers).

`purchase_clv` is the discounted value of the expected future orders over the CLV horizon x
the margin rate. Checked on CDNOW against the published BG/NBD parameters
(r 0.243, alpha 4.414, a 0.793, b 2.426; tests/test_ml_purchases.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import ConvergenceError, summary_data_from_transaction_data

from ml.clv import ANNUAL_DISCOUNT_RATE, HORIZON_MONTHS, monthly_discount_rate

WEEKS_PER_MONTH = 52.0 / 12.0
MAX_PENALIZER = 0.1


def rfm_summary(
    orders: pd.DataFrame,
    customer: str,
    at: str,
    amount: str,
    reference: pd.Timestamp,
) -> pd.DataFrame:
    """frequency / recency / T (weeks) and monetary_value per customer from order rows before
    `reference` (one purchase per day, as in the BG/NBD papers)."""
    before = orders[pd.to_datetime(orders[at]) < pd.Timestamp(reference)]
    summary = summary_data_from_transaction_data(
        before,
        customer,
        at,
        monetary_value_col=amount,
        observation_period_end=pd.Timestamp(reference) - pd.Timedelta(days=1),
        freq="D",
    )
    summary[["recency", "T"]] = summary[["recency", "T"]] / 7.0
    return summary


@dataclass
class PurchaseModel:
    bgnbd: BetaGeoFitter
    gamma_gamma: GammaGammaFitter | None

    def parameters(self) -> dict[str, Any]:
        params = {k: round(float(v), 4) for k, v in self.bgnbd.params_.items()}
        if self.gamma_gamma is not None:
            params.update(
                {f"gg_{k}": round(float(v), 4) for k, v in self.gamma_gamma.params_.items()}
            )
        return params

    def expected_orders(self, summary: pd.DataFrame, months: int = HORIZON_MONTHS) -> pd.Series:
        return self.bgnbd.conditional_expected_number_of_purchases_up_to_time(
            months * WEEKS_PER_MONTH, summary["frequency"], summary["recency"], summary["T"]
        )

    def order_value(self, summary: pd.DataFrame) -> pd.Series:
        """Expected net amount of a future order (Gamma-Gamma; the mean of all repeat orders'
        values for customers without a repeat order)."""
        if self.gamma_gamma is None:
            return pd.Series(0.0, index=summary.index)
        return self.gamma_gamma.conditional_expected_average_profit(
            summary["frequency"], summary["monetary_value"]
        )

    def discounted_value(
        self,
        summary: pd.DataFrame,
        margin_rate: float,
        annual_rate: float = ANNUAL_DISCOUNT_RATE,
        months: int = HORIZON_MONTHS,
    ) -> pd.Series:
        """Sum over months of the expected orders in that month x order value x margin,
        discounted monthly."""
        d = monthly_discount_rate(annual_rate)
        value = self.order_value(summary)
        total = pd.Series(0.0, index=summary.index)
        previous = pd.Series(0.0, index=summary.index)
        for month in range(1, months + 1):
            cumulative = self.expected_orders(summary, month)
            total += (cumulative - previous) * value / (1 + d) ** month
            previous = cumulative
        return total * margin_rate


def fit_purchases(summary: pd.DataFrame, penalizer: float = 0.0) -> PurchaseModel:
    """BG/NBD on every customer, Gamma-Gamma on the repeat buyers (None with fewer than 20).
    When an optimiser does not converge (sparse order histories), its L2 penalizer is raised
    10x (at least 0.001), up to MAX_PENALIZER."""
    bgnbd = _fit_penalized(
        BetaGeoFitter, penalizer, summary["frequency"], summary["recency"], summary["T"]
    )
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    gamma_gamma = None
    if len(repeat) >= 20:
        gamma_gamma = _fit_penalized(
            GammaGammaFitter, penalizer, repeat["frequency"], repeat["monetary_value"]
        )
    return PurchaseModel(bgnbd, gamma_gamma)


def _fit_penalized(fitter: Callable[..., Any], penalizer: float, *data: pd.Series) -> Any:
    while True:
        try:
            return fitter(penalizer_coef=penalizer).fit(*data)
        except ConvergenceError:
            if penalizer >= MAX_PENALIZER:
                raise
            penalizer = max(penalizer * 10, 0.001)


def holdout_check(
    orders: pd.DataFrame,
    customer: str,
    at: str,
    amount: str,
    calibration_end: pd.Timestamp,
    holdout_end: pd.Timestamp,
) -> dict[str, Any]:
    """Fit on orders before `calibration_end`, predict each customer's orders in
    [calibration_end, holdout_end); compare with what happened (totals and correlation)."""
    summary = rfm_summary(orders, customer, at, amount, calibration_end)
    model = fit_purchases(summary, penalizer=0.001)
    weeks = (pd.Timestamp(holdout_end) - pd.Timestamp(calibration_end)).days / 7.0
    predicted = model.bgnbd.conditional_expected_number_of_purchases_up_to_time(
        weeks, summary["frequency"], summary["recency"], summary["T"]
    )
    after = orders[
        (pd.to_datetime(orders[at]) >= pd.Timestamp(calibration_end))
        & (pd.to_datetime(orders[at]) < pd.Timestamp(holdout_end))
    ]
    actual_days = (
        after.assign(_day=pd.to_datetime(after[at]).dt.normalize())
        .drop_duplicates([customer, "_day"])
        .groupby(customer)
        .size()
    )
    actual = actual_days.reindex(summary.index, fill_value=0)
    return {
        "customers": len(summary),
        "parameters": model.parameters(),
        "penalizer": model.bgnbd.penalizer_coef,
        "holdout_weeks": round(weeks, 1),
        "predicted_orders": float(predicted.sum()),
        "actual_orders": int(actual.sum()),
        "correlation": float(np.corrcoef(predicted, actual)[0, 1]),
    }
