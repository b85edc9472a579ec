"""ml.calibration and the calibration / bootstrap metrics, against values worked out
independently."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import roc_auc_score

from ml.calibration import CalibrationError, Calibrator, fit_calibrator
from ml.evaluate import bootstrap_weights, expected_calibration_error, metric_intervals, verdict


def overconfident(n: int = 20_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Scores whose log-odds are twice the true log-odds, shifted up by 1."""
    rng = np.random.default_rng(seed)
    true_logit = rng.normal(-3.0, 1.0, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-true_logit))).astype(int)
    raw = 1 / (1 + np.exp(-(2 * true_logit + 1)))
    return raw, y


def test_platt_recovers_the_planted_distortion_and_lowers_ece() -> None:
    raw, y = overconfident()
    calibrator = fit_calibrator(raw, y, "sigmoid")
    # raw logit = 2 t + 1, so the calibrated logit t = 0.5 raw - 0.5
    assert calibrator.parameters["slope"] == pytest.approx(0.5, abs=0.05)
    assert calibrator.parameters["intercept"] == pytest.approx(-0.5, abs=0.2)
    calibrated = calibrator.transform(raw)
    assert expected_calibration_error(y, calibrated) < expected_calibration_error(y, raw) / 3
    assert np.mean((calibrated - y) ** 2) < np.mean((raw - y) ** 2)
    assert calibrated.mean() == pytest.approx(y.mean(), abs=0.005)


def test_isotonic_equals_sklearn_and_survives_a_json_round_trip() -> None:
    raw, y = overconfident(5_000, seed=1)
    calibrator = fit_calibrator(raw, y, "isotonic")
    reference = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(raw, y)
    probe = np.linspace(0, 1, 101)
    np.testing.assert_allclose(calibrator.transform(probe), reference.predict(probe))
    assert Calibrator.from_json(calibrator.as_json()) == calibrator


def test_unknown_method_and_one_class_data_are_refused() -> None:
    with pytest.raises(CalibrationError, match="ml.calibration: unknown method 'beta'"):
        fit_calibrator(np.array([0.1, 0.2]), np.array([0, 1]), "beta")
    with pytest.raises(CalibrationError, match="both classes"):
        fit_calibrator(np.array([0.1, 0.2]), np.array([0, 0]))


def test_ece_by_hand() -> None:
    y = np.array([0, 0, 1, 1])
    scores = np.array([0.1, 0.3, 0.6, 0.8])
    # two equal-count bins: {0.8, 0.6} predicted 0.7 observed 1; {0.3, 0.1} predicted 0.2, 0
    assert expected_calibration_error(y, scores, n_bins=2) == pytest.approx((0.3 + 0.2) / 2)


def test_customer_bootstrap_moves_all_rows_of_a_customer_together() -> None:
    groups = np.array(["A", "A", "A", "B", "C", "C"])
    for weights in bootstrap_weights(6, groups, resamples=50, seed=3):
        assert weights[0] == weights[1] == weights[2]
        assert weights[4] == weights[5]
        # three customers drawn: the weights of the first row of each add up to 3
        assert weights[0] + weights[3] + weights[4] == 3


def test_metric_intervals_hold_the_full_sample_value() -> None:
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(300), 3)
    y = (rng.random(900) < 0.2).astype(int)
    scores = y * 0.3 + rng.random(900)
    result = metric_intervals(y, scores, groups, resamples=100, seed=0)
    assert result["roc_auc"]["value"] == pytest.approx(roc_auc_score(y, scores))
    assert result["roc_auc"]["ci_low"] < result["roc_auc"]["value"] < result["roc_auc"]["ci_high"]
    assert result["roc_auc"]["resamples"] == 100


def test_verdict_follows_the_interval() -> None:
    assert verdict(0.001, 0.02) == "beats"
    assert verdict(-0.01, 0.02) == "ties"
    assert verdict(-0.03, -0.001) == "loses"
