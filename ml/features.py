"""Model input encoding shared by training, scoring and explanation.

Categorical columns become strings with missing values as `MISSING` (CatBoost's cat_features
need str/int values, and the one-hot baselines then see missing as its own level); numeric
columns become float64 with NaN kept (CatBoost handles NaN, the sklearn baselines impute).
"""

from __future__ import annotations

import pandas as pd

MISSING = "__missing__"


class FeatureError(ValueError):
    """Input lacks a feature the model was trained on."""


def model_input(
    frame: pd.DataFrame, features: list[str], categorical: list[str], source: str = "input"
) -> pd.DataFrame:
    """The feature columns in training order, encoded for the models."""
    missing = [c for c in features if c not in frame.columns]
    if missing:
        raise FeatureError(f"{source}: missing feature column(s) {missing}")
    encoded = pd.DataFrame(index=frame.index)
    for column in features:
        values = frame[column]
        if column in categorical:
            text = values.astype("string").fillna(MISSING)
            encoded[column] = text.astype(object).astype(str)
        else:
            try:
                encoded[column] = pd.to_numeric(values, errors="raise").astype("float64")
            except (TypeError, ValueError) as exc:
                raise FeatureError(
                    f"{source}: numeric feature {column!r} holds non-numeric values: {exc}"
                ) from exc
    return encoded
