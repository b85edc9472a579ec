"""CLV on models for the build: survival for the subscription, BG/NBD + Gamma-Gamma for orders.

- Subscription: a Weibull AFT model (ml/survival.py) fitted out of time on the training
  snapshots (lifetimes censored at the first test snapshot), judged on the test snapshots
  (concordance, time-dependent AUC); the scoring model is refit on every snapshot, censored at
  the as-of date. Expected remaining months and the discounted margin come from its S(t).
- One-off orders: BG/NBD + Gamma-Gamma (ml/purchases.py) on the completed orders before each
  reference date; checked on the sample by predicting the orders of the test period.
- CLV = subscription CLV + order CLV. The action list multiplies it by the calibrated churn
  probability (ml/pipeline.py), so the ranking uses calibrated probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ml import purchases, survival

ORDER_COLUMNS = ("customer_id", "ordered_at", "net_amount")


@dataclass
class LifetimeValueModels:
    #: refit on every snapshot (censored at the as-of date): values the scored customers
    subscription: survival.SurvivalModel
    #: fitted on the training snapshots only: values the test rows (action-list evaluation)
    evaluated: survival.SurvivalModel
    metrics: dict[str, Any]
    orders: pd.DataFrame | None
    margin_rate: float

    def values(
        self,
        rows: pd.DataFrame,
        id_column: str,
        time_column: str,
        monthly_margin: np.ndarray,
        out_of_time: bool = False,
    ) -> dict[str, np.ndarray]:
        """Per row: expected remaining months, subscription CLV, order CLV (0 without orders).
        `out_of_time`: use the model fitted without the test period (for test rows)."""
        model = self.evaluated if out_of_time else self.subscription
        remaining = model.expected_remaining_months(rows)
        subscription = model.discounted_clv(rows, np.nan_to_num(monthly_margin))
        order_value = np.zeros(len(rows))
        if self.orders is not None and len(self.orders):
            order_value = order_clv(self.orders, rows, id_column, time_column, self.margin_rate)
        return {
            "expected_remaining_months": remaining,
            "subscription_clv_amount": subscription,
            "order_clv_amount": order_value,
            "predicted_clv_amount": subscription + order_value,
        }


def order_clv(
    orders: pd.DataFrame, rows: pd.DataFrame, id_column: str, time_column: str, margin_rate: float
) -> np.ndarray:
    """BG/NBD + Gamma-Gamma fitted per snapshot date on the orders before it."""
    result = np.zeros(len(rows))
    positions = pd.Series(np.arange(len(rows)), index=rows.index)
    for snapshot, group in rows.groupby(time_column):
        summary = purchases.rfm_summary(
            orders, "customer_id", "ordered_at", "net_amount", pd.Timestamp(snapshot)
        )
        if len(summary) < 20 or summary["frequency"].sum() == 0:
            continue
        model = purchases.fit_purchases(summary, penalizer=0.001)
        value = model.discounted_value(summary, margin_rate).clip(lower=0.0)
        matched = group[id_column].map(value).fillna(0.0).to_numpy()
        result[positions.loc[group.index].to_numpy()] = matched
    return result


def fit_lifetime_value(
    labelled: pd.DataFrame,
    frame: pd.DataFrame,
    split: Any,
    churn_events: pd.DataFrame,
    as_of: pd.Timestamp,
    features: list[str],
    id_column: str,
    time_column: str,
    orders: pd.DataFrame | None,
    margin_rate: float,
) -> LifetimeValueModels:
    churn = churn_events.groupby("customer_id")["churn_date"].min()
    features = [c for c in features if c in frame.columns]

    def lifetimes(rows: pd.DataFrame, censor: pd.Timestamp) -> pd.DataFrame:
        return survival.lifetimes_from(rows[time_column], rows[id_column].map(churn), censor)

    train = labelled.loc[split.train]
    test = labelled.loc[split.test]
    first_test = pd.Timestamp(pd.to_datetime(test[time_column]).min())
    evaluated = survival.fit_survival(train, lifetimes(train, first_test), features)
    metrics: dict[str, Any] = {
        "subscription": {
            **evaluated.summary(),
            "train_censored_at": str(first_test.date()),
            "test": survival.evaluate_survival(evaluated, test, lifetimes(test, as_of)),
        }
    }
    production = survival.fit_survival(frame, lifetimes(frame, as_of), features)
    metrics["subscription"]["production_rows"] = len(frame)
    if orders is not None and len(orders):
        metrics["orders"] = purchases.holdout_check(
            orders, "customer_id", "ordered_at", "net_amount", first_test, as_of
        )
    return LifetimeValueModels(production, evaluated, metrics, orders, margin_rate)
