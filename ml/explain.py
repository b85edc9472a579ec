"""Per-row reasons from CatBoost's own SHAP values.

`get_feature_importance(type="ShapValues")` returns, per row, one contribution per feature plus
the expected value (last column), in log-odds: contributions + expected value = the raw
prediction. The reasons of a row are its features with the largest absolute contributions;
positive contributions push towards churn, negative ones away from it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from catboost import CatBoostClassifier, Pool

from ml.features import model_input


def shap_values(
    model: CatBoostClassifier, x: pd.DataFrame, categorical: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """(contributions rows x features, expected value per row) for encoded model input `x`."""
    values = model.get_feature_importance(Pool(x, cat_features=categorical), type="ShapValues")
    return values[:, :-1], values[:, -1]


def _format_value(value: object) -> str:
    if isinstance(value, float):
        return "missing" if np.isnan(value) else f"{value:g}"
    return str(value)


def top_reasons(
    model: CatBoostClassifier,
    frame: pd.DataFrame,
    features: list[str],
    categorical: list[str],
    n: int = 3,
) -> pd.DataFrame:
    """For each row: reason_<i>_feature, _value, _contribution (signed, log-odds) and a readable
    reason_<i> ("total_day_minutes = 301.2"), i = 1..n, largest absolute contribution first
    (ties in feature order). Indexed like `frame`."""
    x = model_input(frame, features, categorical)
    contributions, _ = shap_values(model, x, categorical)
    order = np.argsort(-np.abs(contributions), axis=1, kind="stable")[:, :n]
    rows = np.arange(len(x))[:, None]
    names = np.asarray(features, dtype=object)[order]
    values = x.to_numpy(dtype=object)[rows, order]
    signed = contributions[rows, order]
    reasons = pd.DataFrame(index=frame.index)
    for i in range(min(n, len(features))):
        reasons[f"reason_{i + 1}_feature"] = names[:, i]
        reasons[f"reason_{i + 1}_value"] = [_format_value(v) for v in values[:, i]]
        reasons[f"reason_{i + 1}_contribution"] = signed[:, i]
        reasons[f"reason_{i + 1}"] = [
            f"{f} = {v}" for f, v in zip(names[:, i], reasons[f"reason_{i + 1}_value"], strict=True)
        ]
    return reasons
