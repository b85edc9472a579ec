"""ml.monitoring: PSI with the documented binning, worked by hand on tiny distributions, and the
backtest against plain pandas / scikit-learn on stored scores."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from ml.monitoring import (
    MISSING_BIN,
    OTHER_BIN,
    PSI_FLOOR,
    backtest,
    drift_report,
    psi,
    psi_table,
    quantile_edges,
    shift_verdict,
)


def test_psi_of_a_categorical_column_by_hand() -> None:
    reference = pd.Series(["a"] * 50 + ["b"] * 50)
    actual = pd.Series(["a"] * 20 + ["b"] * 80)
    # bins a, b: (0.2 - 0.5) ln(0.2 / 0.5) + (0.8 - 0.5) ln(0.8 / 0.5)
    expected = -0.3 * math.log(0.4) + 0.3 * math.log(1.6)
    assert psi(reference, actual, categorical=True) == pytest.approx(expected, rel=1e-12)
    assert psi(reference, reference, categorical=True) == 0.0


def test_an_unseen_category_and_missing_values_have_their_own_bins() -> None:
    reference = pd.Series(["a", "a", "b", "b"])
    actual = pd.Series(["a", "c", None, "b"])
    table = psi_table(reference, actual, categorical=True).set_index("bin")
    assert table.loc[OTHER_BIN, "latest_share"] == 0.25
    assert table.loc[MISSING_BIN, "latest_share"] == 0.25
    # empty training shares are floored at PSI_FLOOR before the logarithm
    floored = (0.25 - PSI_FLOOR) * math.log(0.25 / PSI_FLOOR)
    a_and_b = 2 * (0.25 - 0.5) * math.log(0.25 / 0.5)
    assert table["psi"].sum() == pytest.approx(2 * floored + a_and_b, rel=1e-12)


def test_numeric_bins_are_the_training_windows_deciles_right_closed() -> None:
    reference = pd.Series(np.arange(1, 101, dtype=float))  # 1..100
    edges = quantile_edges(reference)
    assert edges.tolist() == [10, 20, 30, 40, 50, 60, 70, 80, 90]  # values the window holds
    # ten bins of ten values each in the reference; the latest values sit in the first two
    actual = pd.Series([1.0] * 30 + [15.0] * 70)
    table = psi_table(reference, actual)
    assert table["training_share"].tolist() == [0.1] * 10
    shares = table.set_index("bin")["latest_share"]
    assert shares["<= 10"] == 0.3 and shares["(10, 20]"] == 0.7
    expected = (0.3 - 0.1) * math.log(3) + (0.7 - 0.1) * math.log(7)
    expected += 8 * (PSI_FLOOR - 0.1) * math.log(PSI_FLOOR / 0.1)
    assert table["psi"].sum() == pytest.approx(expected, rel=1e-12)
    # a value equal to an edge falls in the bin the edge closes
    on_edge = psi_table(reference, pd.Series([20.0])).set_index("bin")["latest_share"]
    assert on_edge["(10, 20]"] == 1.0


def test_a_constant_or_binary_column_gets_two_bins_and_nan_is_missing() -> None:
    reference = pd.Series([0.0] * 80 + [1.0] * 20)
    actual = pd.Series([0.0] * 50 + [1.0] * 40 + [np.nan] * 10)
    table = psi_table(reference, actual).set_index("bin")
    assert list(table.index) == ["<= 0", "(0, 1]", MISSING_BIN]  # "> 1" empty on both sides
    assert table["training_share"].tolist() == [0.8, 0.2, 0.0]
    assert table["latest_share"].tolist() == [0.5, 0.4, 0.1]
    expected = (
        (0.5 - 0.8) * math.log(0.5 / 0.8)
        + (0.4 - 0.2) * math.log(2)
        + (0.1 - PSI_FLOOR) * math.log(0.1 / PSI_FLOOR)
    )
    assert table["psi"].sum() == pytest.approx(expected, rel=1e-12)


def test_verdicts_follow_the_documented_bounds() -> None:
    assert [shift_verdict(v) for v in (0.0, 0.099, 0.1, 0.249, 0.25, 3.0)] == [
        "stable",
        "stable",
        "moderate shift",
        "moderate shift",
        "major shift",
        "major shift",
    ]


def test_drift_report_ranks_features_by_psi() -> None:
    rng = np.random.default_rng(0)
    training = pd.DataFrame(
        {
            "steady": rng.normal(size=2000),
            "moved": rng.normal(size=2000),
            "plan": rng.choice(["x", "y"], 2000),
        }
    )
    latest = pd.DataFrame(
        {
            "steady": rng.normal(size=500),
            "moved": rng.normal(1.0, 1, 500),
            "plan": rng.choice(["x", "y"], 500),
        }
    )
    report = drift_report(
        training,
        latest,
        ["steady", "moved", "plan"],
        ["plan"],
        rng.uniform(size=2000),
        rng.uniform(size=500),
        {},
    )
    assert [f["feature"] for f in report["features"]][0] == "moved"
    by_name = {f["feature"]: f for f in report["features"]}
    assert by_name["moved"]["verdict"] == "major shift"
    assert by_name["steady"]["verdict"] == "stable"
    assert by_name["plan"]["kind"] == "categorical"
    assert by_name["moved"]["psi"] == pytest.approx(psi(training["moved"], latest["moved"]))
    assert report["score"]["verdict"] == "stable"


def stored_scores() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scores of three dates (one still open) and the mart labels of the closed ones."""
    rng = np.random.default_rng(3)
    rows, labels = [], []
    for date, version in (
        (dt.date(2024, 1, 1), "churn/v0001"),
        (dt.date(2024, 2, 1), "churn/v0002"),
        (dt.date(2024, 5, 1), "churn/v0003"),
    ):
        for i in range(200):
            p = float(rng.uniform(0, 0.6))
            band = "high" if p > 0.45 else "medium" if p > 0.3 else "low"
            rows.append(
                {
                    "customer_id": f"C{i:03d}",
                    "score_date": date,
                    "model_version": version,
                    "churn_probability": p,
                    "risk_band": band,
                }
            )
            label = float(rng.uniform() < p) if date < dt.date(2024, 5, 1) else None
            if i != 7:  # one scored customer missing from the mart: no label
                labels.append(
                    {
                        "customer_id": f"C{i:03d}",
                        "snapshot_date": pd.Timestamp(date),
                        "churned_within_90d": label,
                    }
                )
    return pd.DataFrame(rows), pd.DataFrame(labels)


def test_backtest_matches_pandas_and_sklearn() -> None:
    scores, labels = stored_scores()
    result = backtest(scores, labels, as_of=dt.date(2024, 6, 15))
    assert [d["score_date"] for d in result["dates"]] == ["2024-01-01", "2024-02-01"]
    assert result["pending"] == [
        {
            "score_date": "2024-05-01",
            "model_version": "churn/v0003",
            "customers": 200,
            "labels_mature_on": "2024-07-30",
        }
    ]
    merged = scores.assign(snapshot_date=pd.to_datetime(scores["score_date"])).merge(
        labels, on=["customer_id", "snapshot_date"]
    )
    for row in result["dates"]:
        part = merged[
            (merged["score_date"].astype(str) == row["score_date"])
            & merged["churned_within_90d"].notna()
        ]
        assert row["customers"] == 200 and row["labelled"] == len(part) == 199
        assert row["churners"] == part["churned_within_90d"].sum()
        assert row["roc_auc"] == pytest.approx(
            roc_auc_score(part["churned_within_90d"], part["churn_probability"])
        )
        assert row["mean_predicted"] == pytest.approx(part["churn_probability"].mean())
        assert row["observed_rate"] == pytest.approx(part["churned_within_90d"].mean())
        assert row["brier"] == pytest.approx(
            ((part["churn_probability"] - part["churned_within_90d"]) ** 2).mean()
        )
        expected_bands = part.groupby("risk_band").agg(
            customers=("customer_id", "size"),
            predicted=("churn_probability", "mean"),
            observed=("churned_within_90d", "mean"),
        )
        got = [b for b in result["bands"] if b["score_date"] == row["score_date"]]
        assert [b["band"] for b in got] == ["high", "medium", "low"]
        for band in got:
            expected = expected_bands.loc[band["band"]]
            assert band["customers"] == expected["customers"]
            assert band["mean_predicted"] == pytest.approx(expected["predicted"])
            assert band["observed_rate"] == pytest.approx(expected["observed"])


def test_a_window_closes_exactly_90_days_after_the_score_date() -> None:
    scores, labels = stored_scores()
    day_before = backtest(scores, labels, as_of=dt.date(2024, 3, 31))  # 2024-01-01 + 90 days
    assert [d["score_date"] for d in day_before["dates"]] == ["2024-01-01"]
    assert backtest(scores, labels, as_of=dt.date(2024, 3, 30))["dates"] == []
