"""Validation of the rule-based customer health score (0..100, higher = healthier) as a churn
predictor: its ROC-AUC for churn within 90 days and the churn rate per health decile."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score


def health_validation(health: pd.Series, churned: pd.Series, bins: int = 10) -> dict[str, Any]:
    """AUC of `-health` for `churned` (rows with both known) and churn rate per health decile
    (decile 1 = the lowest health scores; ties split by input order)."""
    known = health.notna() & churned.notna()
    health = health[known].astype(float).reset_index(drop=True)
    churned = churned[known].astype(int).reset_index(drop=True)
    deciles = pd.qcut(health.rank(method="first"), bins, labels=False) + 1
    table = (
        pd.DataFrame({"decile": deciles, "health": health, "churned": churned})
        .groupby("decile")
        .agg(
            min_health=("health", "min"),
            max_health=("health", "max"),
            rows=("churned", "size"),
            churn_rate=("churned", "mean"),
        )
        .reset_index()
    )
    return {
        "rows": int(known.sum()),
        "roc_auc": float(roc_auc_score(churned, -health)),
        "deciles": [
            {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
            for row in table.to_dict("records")
        ],
    }
