"""Subscription tenure as a survival model: expected remaining lifetime for CLV.

Each snapshot row is a landmark: the customer is active at the snapshot and its remaining
lifetime runs to its churn date, or is censored at the end of what may be known. A Weibull
accelerated-failure-time model (lifelines `WeibullAFTFitter`) on a few standardised mart
features gives each customer a survival curve S(t) in months; from it:

- expected remaining lifetime, restricted to the CLV horizon: sum_{t=1..T} S(t) (months);
- discounted subscription CLV: sum_{t=1..T} margin x S(t) / (1 + d)^t.

Out of time: the model is fitted on the training snapshots with their lifetimes censored at the
first test snapshot (nothing that happened in the test period is seen), and judged on the test
snapshots by Harrell's concordance (lifelines) and the time-dependent AUC at 1, 2 and 3 months:
ROC-AUC of the predicted risk for "churned within t" among rows followed for at least t (the
labelled test snapshots are followed for 90 days, so no row is censored before 3 months and the
cumulative/dynamic AUC needs no censoring weights; rows censored earlier are left out).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from lifelines import WeibullAFTFitter
from lifelines.utils import concordance_index
from sklearn.metrics import roc_auc_score

from ml.clv import HORIZON_MONTHS, monthly_discount_rate

DAYS_PER_MONTH = 365.25 / 12
DURATION = "_duration_months"
EVENT = "_churned"
AUC_HORIZONS_MONTHS = (1, 2, 3)


class SurvivalError(ValueError):
    """The survival data cannot be built (names the column)."""


def lifetimes_from(
    snapshots: pd.Series, churn_dates: pd.Series, censor_date: pd.Timestamp
) -> pd.DataFrame:
    """Remaining lifetime in months from each snapshot: to the churn date when it falls on or
    before `censor_date`, else censored at `censor_date`."""
    start = pd.to_datetime(snapshots).astype("datetime64[ns]")
    churn = pd.to_datetime(churn_dates).astype("datetime64[ns]")
    censor = pd.Timestamp(censor_date)
    observed = churn.notna() & (churn <= censor) & (churn >= start)
    end = churn.where(observed, censor)
    days = (end - start).dt.days.astype(float)
    if (days < 0).any():
        raise SurvivalError(f"a snapshot lies after the censoring date {censor.date()}")
    # a churn on the snapshot day itself is not in the population; keep durations positive
    return pd.DataFrame(
        {DURATION: np.maximum(days, 0.5) / DAYS_PER_MONTH, EVENT: observed.astype(int)},
        index=snapshots.index,
    )


@dataclass
class SurvivalModel:
    fitter: WeibullAFTFitter
    features: list[str]
    means: pd.Series
    scales: pd.Series

    def covariates(self, frame: pd.DataFrame) -> pd.DataFrame:
        values = frame[self.features].astype(float)
        values = values.fillna(self.means)
        return (values - self.means) / self.scales

    def survival(self, frame: pd.DataFrame, months: int = HORIZON_MONTHS) -> np.ndarray:
        """S(t) for t = 1..months, one row per customer."""
        times = np.arange(1, months + 1, dtype=float)
        curves = self.fitter.predict_survival_function(self.covariates(frame), times=times)
        return curves.to_numpy().T

    def risk(self, frame: pd.DataFrame, months: int = 3) -> np.ndarray:
        """P(churn within `months`) = 1 - S(months): higher = churns sooner."""
        return 1.0 - self.survival(frame, months)[:, months - 1]

    def expected_remaining_months(
        self, frame: pd.DataFrame, horizon: int = HORIZON_MONTHS
    ) -> np.ndarray:
        return self.survival(frame, horizon).sum(axis=1)

    def discounted_clv(
        self,
        frame: pd.DataFrame,
        monthly_margin: np.ndarray,
        annual_rate: float = 0.10,
        horizon: int = HORIZON_MONTHS,
    ) -> np.ndarray:
        discount = (1.0 + monthly_discount_rate(annual_rate)) ** -np.arange(1, horizon + 1)
        return np.asarray(monthly_margin, dtype=float) * (self.survival(frame, horizon) @ discount)

    def summary(self) -> dict[str, Any]:
        params = self.fitter.params_
        return {
            "model": "Weibull AFT (lifelines)",
            "features": self.features,
            "penalizer": self.fitter.penalizer,
            "coefficients": {
                f"{param}:{covariate}": round(float(value), 4)
                for (param, covariate), value in params.items()
            },
        }


def fit_survival(
    frame: pd.DataFrame, lifetimes: pd.DataFrame, features: list[str], penalizer: float = 0.01
) -> SurvivalModel:
    missing = [c for c in features if c not in frame.columns]
    if missing:
        raise SurvivalError(f"survival features missing from the data: {missing}")
    values = frame[features].astype(float)
    means = values.mean()
    scales = values.std().replace(0.0, 1.0).fillna(1.0)
    covariates = ((values.fillna(means) - means) / scales).join(lifetimes)
    fitter = WeibullAFTFitter(penalizer=penalizer)
    fitter.fit(covariates, duration_col=DURATION, event_col=EVENT)
    return SurvivalModel(fitter, list(features), means, scales)


def evaluate_survival(
    model: SurvivalModel, frame: pd.DataFrame, lifetimes: pd.DataFrame
) -> dict[str, Any]:
    """Concordance (higher predicted risk churns sooner) and time-dependent AUC per horizon."""
    risk = model.risk(frame)
    duration = lifetimes[DURATION].to_numpy()
    event = lifetimes[EVENT].to_numpy()
    result: dict[str, Any] = {
        "rows": len(frame),
        "events": int(event.sum()),
        "concordance": float(concordance_index(duration, -risk, event)),
        "time_dependent_auc": {},
    }
    for months in AUC_HORIZONS_MONTHS:
        followed = (duration >= months) | (event == 1)
        churned = (duration <= months) & (event == 1)
        horizon_risk = model.risk(frame, months)
        if churned[followed].min() == churned[followed].max():
            result["time_dependent_auc"][f"{months}m"] = None
            continue
        result["time_dependent_auc"][f"{months}m"] = float(
            roc_auc_score(churned[followed], horizon_risk[followed])
        )
    return result
