"""How well the sample generator's own churn hazard ranks the test rows: the ceiling a churn
model trained on the generated sample is measured against.

The generator writes the monthly hazard every at-risk customer faced
(`<landing>/_manifest/churn_hazard.parquet`, custintel/generate/churn.py `HazardLog`): the logit
of every planted cause, the randomised retention offer's effect included, apart from the
per-customer frailty no column of the data reveals. A perfect model could at best know that
logit. For a labelled row (customer, snapshot date, churned within 90 days):

- **snapshot month** (the ceiling): the churn probability of the snapshot's month,
  sigmoid(logit) - what is knowable at the snapshot;
- **label months**: the probability of churning in the snapshot's month or one of the next two
  (the 90-day window), 1 - prod(1 - sigmoid(logit)) over the three months. The later months'
  hazards come from the simulation's future (tickets, outages yet to happen), and a customer
  who churned before the window's end has none after its churn month: its last hazard is
  carried forward (a month before the customer's first at-risk month - signed up during it -
  has hazard 0, as in the simulation). The figure depends on that filling (on the default
  sample 0.737 carried forward, 0.585 with hazard 0 after the churn month), so it is shown
  beside the ceiling, not as one;
- **with frailty**: the snapshot month's probability the simulation drew against (frailty
  included): what even knowing the unobservable noise would give.

ROC-AUC and PR-AUC (average precision) with scikit-learn, as every other figure of `ml`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

#: written by the sample generator beside the landing files (custintel/generate/churn.py)
HAZARD_MANIFEST = "_manifest/churn_hazard.parquet"
MANIFEST_COLUMNS = ("customer_id", "month_start", "logit_without_frailty", "churn_probability")
LABEL_MONTHS = 3


class HazardCeilingError(ValueError):
    """The hazard manifest does not cover the rows (another landing, a missing column)."""


def monthly_hazard_table(manifest: pd.DataFrame, with_frailty: bool = False) -> pd.DataFrame:
    """Customers x months (pandas monthly periods) of the monthly churn hazard without the
    frailty (or, `with_frailty`, the probability the simulation drew against); months after a
    customer's last at-risk month carry its last hazard; earlier months are 0."""
    missing = [c for c in MANIFEST_COLUMNS if c not in manifest.columns]
    if missing:
        raise HazardCeilingError(f"{HAZARD_MANIFEST}: columns {missing} missing")
    hazard = (
        manifest["churn_probability"].to_numpy(dtype=float)
        if with_frailty
        else 1.0 / (1.0 + np.exp(-manifest["logit_without_frailty"].to_numpy(dtype=float)))
    )
    month = pd.PeriodIndex(pd.to_datetime(manifest["month_start"]), freq="M")
    frame = pd.DataFrame(
        {"customer_id": manifest["customer_id"].to_numpy(), "month": month, "hazard": hazard}
    )
    if frame.duplicated(["customer_id", "month"]).any():
        first = frame[frame.duplicated(["customer_id", "month"])].iloc[0]
        raise HazardCeilingError(
            f"{HAZARD_MANIFEST}: customer {first['customer_id']} has two rows for {first['month']}"
        )
    table = frame.pivot(index="customer_id", columns="month", values="hazard")
    months = pd.period_range(table.columns.min(), table.columns.max() + LABEL_MONTHS - 1, freq="M")
    return table.reindex(columns=months).ffill(axis=1).fillna(0.0)


def ceiling_probability(
    table: pd.DataFrame, customers: pd.Series, snapshots: pd.Series, months: int
) -> np.ndarray:
    """Per row, 1 - prod over the snapshot's month and the `months - 1` after of (1 - hazard)."""
    rows = table.index.get_indexer(customers.to_numpy())
    unknown = np.flatnonzero(rows < 0)
    if len(unknown):
        raise HazardCeilingError(
            f"{HAZARD_MANIFEST}: no hazard for customer {customers.iloc[unknown[0]]} "
            f"({len(unknown)} rows): the manifest is not from this landing"
        )
    start = table.columns.get_indexer(pd.PeriodIndex(pd.to_datetime(snapshots), freq="M"))
    outside = np.flatnonzero((start < 0) | (start + months > len(table.columns)))
    if len(outside):
        raise HazardCeilingError(
            f"{HAZARD_MANIFEST}: snapshot {snapshots.iloc[outside[0]]} is outside the manifest's "
            f"months {table.columns[0]} .. {table.columns[-1]}"
        )
    values = table.to_numpy()
    survival = np.ones(len(rows))
    for offset in range(months):
        survival *= 1.0 - values[rows, start + offset]
    return 1.0 - survival


def _scores(y: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    return {
        "roc_auc": float(roc_auc_score(y, probability)),
        "pr_auc": float(average_precision_score(y, probability)),
    }


def hazard_ceiling(
    manifest: pd.DataFrame,
    rows: pd.DataFrame,
    id_column: str,
    time_column: str,
    target_column: str,
    model: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ceiling's ROC-AUC and PR-AUC on `rows` (labelled: both classes present), and, with
    the `model`'s test metrics (`roc_auc`, `pr_auc`), the model's share of the ceiling."""
    y = rows[target_column].to_numpy(dtype=int)
    if not 0 < y.sum() < len(y):
        raise HazardCeilingError(f"{target_column}: the rows need churners and non-churners")
    customers, snapshots = rows[id_column], rows[time_column]
    without_frailty = monthly_hazard_table(manifest)
    result: dict[str, Any] = {
        "manifest": HAZARD_MANIFEST,
        "rows": len(y),
        "positives": int(y.sum()),
        "snapshot_month": _scores(y, ceiling_probability(without_frailty, customers, snapshots, 1)),
        "label_months": _scores(
            y, ceiling_probability(without_frailty, customers, snapshots, LABEL_MONTHS)
        ),
        "with_frailty": _scores(
            y, ceiling_probability(monthly_hazard_table(manifest, True), customers, snapshots, 1)
        ),
    }
    if model is not None:
        result["model"] = {key: model[key] for key in ("roc_auc", "pr_auc")}
        result["model_vs_ceiling"] = {
            ceiling: model_vs_ceiling(result["model"], result[ceiling]) for ceiling in CEILINGS
        }
    return result


#: the ceilings a model is compared with (the frailty one is no reachable ceiling)
CEILINGS = ("snapshot_month", "label_months")


def model_vs_ceiling(model: dict[str, float], ceiling: dict[str, float]) -> dict[str, float | None]:
    """The model's ROC-AUC and PR-AUC as a share of the ceiling's, and its ROC-AUC gain over
    chance (0.5) as a share of the ceiling's (None when the ceiling is no better than chance)."""
    gain = ceiling["roc_auc"] - 0.5
    return {
        "roc_auc_ratio": model["roc_auc"] / ceiling["roc_auc"],
        "pr_auc_ratio": model["pr_auc"] / ceiling["pr_auc"],
        "roc_auc_gain_over_chance_ratio": (model["roc_auc"] - 0.5) / gain if gain > 0 else None,
    }
