"""Per-row reasons from CatBoost's own SHAP values.

`get_feature_importance(type="ShapValues")` returns, per row, one contribution per feature plus
the expected value (last column), in log-odds: contributions + expected value = the raw
prediction. The reasons of a row are its features with the largest contributions TOWARDS
churn (positive ones): a feature that lowers the risk is never given as a reason, so a row can
have fewer than `n` reasons (the rest null).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from catboost import CatBoostClassifier, Pool

from ml.features import model_input

# np.where's null for the rows without a reason (numpy's stubs reject a bare None there)
NO_REASON = np.asarray(None, dtype=object)


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
    """For each row: reason_<i>_feature, _value, _contribution (log-odds, > 0) and a readable
    reason_<i> ("total_day_minutes = 301.2"), i = 1..n, largest contribution towards churn
    first (ties in feature order); null past a row's last risk-raising feature. Indexed like
    `frame`."""
    x = model_input(frame, features, categorical)
    contributions, _ = shap_values(model, x, categorical)
    order = np.argsort(-contributions, axis=1, kind="stable")[:, :n]
    rows = np.arange(len(x))[:, None]
    names = np.asarray(features, dtype=object)[order]
    values = x.to_numpy(dtype=object)[rows, order]
    signed = contributions[rows, order]
    raising = signed > 0
    reasons = pd.DataFrame(index=frame.index)
    for i in range(min(n, len(features))):
        keep = raising[:, i]
        text = [_format_value(v) for v in values[:, i]]
        reasons[f"reason_{i + 1}_feature"] = np.where(keep, names[:, i], NO_REASON)
        reasons[f"reason_{i + 1}_value"] = np.where(keep, np.asarray(text, dtype=object), NO_REASON)
        reasons[f"reason_{i + 1}_contribution"] = np.where(keep, signed[:, i], np.nan)
        reasons[f"reason_{i + 1}"] = [
            f"{f} = {v}" if k else None for f, v, k in zip(names[:, i], text, keep, strict=True)
        ]
    return reasons
