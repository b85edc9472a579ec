"""ml.health: health-score AUC and churn rate per health decile, by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from ml.health import health_validation


def test_health_auc_and_deciles_by_hand() -> None:
    health = pd.Series([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, None])
    churned = pd.Series([1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1])
    result = health_validation(health, churned, bins=5)
    # churners at health 10, 20, 40 vs 7 stayers at 30 and 50..100: lower health = riskier;
    # pairs where the churner is less healthy: 10 and 20 beat all 7, 40 beats 6 (not 30)
    assert result["roc_auc"] == pytest.approx((7 + 7 + 6) / 21)
    assert result["rows"] == 10  # the row without a health score is left out
    assert [d["churn_rate"] for d in result["deciles"]] == [1.0, 0.5, 0.0, 0.0, 0.0]
    assert result["deciles"][0]["min_health"] == 10 and result["deciles"][0]["max_health"] == 20
