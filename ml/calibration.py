"""Probability calibration of a classifier's scores, fitted on held-out (validation) data.

Two of scikit-learn's methods:
- `sigmoid` (Platt): a logistic regression on the log-odds of the raw score, two parameters;
  stable with few positives;
- `isotonic`: `IsotonicRegression`, a monotone step function; more flexible, needs more data.
A fitted calibrator is stored as plain JSON (the two Platt parameters or the isotonic steps), so
the registry holds no pickles and the mapping can be read and checked by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

Method = Literal["sigmoid", "isotonic"]
METHODS: tuple[str, ...] = ("sigmoid", "isotonic")
_EPSILON = 1e-6


class CalibrationError(ValueError):
    """Unknown method or data a calibrator cannot be fitted on."""


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), _EPSILON, 1 - _EPSILON)
    return np.log(p / (1 - p))


@dataclass(frozen=True)
class Calibrator:
    """A monotone map from raw scores to calibrated probabilities."""

    method: str
    #: sigmoid: {"slope", "intercept"} on the raw log-odds; isotonic: {"x", "y"} steps
    parameters: dict[str, Any] = field(default_factory=dict)
    fitted_rows: int = 0
    fitted_positives: int = 0

    def transform(self, scores: np.ndarray) -> np.ndarray:
        scores = np.asarray(scores, dtype=float)
        if self.method == "sigmoid":
            z = self.parameters["slope"] * logit(scores) + self.parameters["intercept"]
            return 1.0 / (1.0 + np.exp(-z))
        return np.interp(scores, self.parameters["x"], self.parameters["y"])

    def as_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "parameters": self.parameters,
            "fitted_rows": self.fitted_rows,
            "fitted_positives": self.fitted_positives,
        }

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> Calibrator:
        return cls(
            values["method"],
            values["parameters"],
            values["fitted_rows"],
            values["fitted_positives"],
        )


def fit_calibrator(scores: np.ndarray, y: np.ndarray, method: str = "sigmoid") -> Calibrator:
    """Fit `method` on held-out raw scores and their 0/1 labels."""
    if method not in METHODS:
        raise CalibrationError(f"ml.calibration: unknown method {method!r}; use one of {METHODS}")
    scores = np.asarray(scores, dtype=float)
    y = np.asarray(y, dtype=int)
    if not 0 < y.sum() < len(y):
        raise CalibrationError("calibration needs held-out rows of both classes")
    parameters: dict[str, Any]
    if method == "sigmoid":
        model = LogisticRegression(C=1e6, max_iter=1000)
        model.fit(logit(scores).reshape(-1, 1), y)
        parameters = {"slope": float(model.coef_[0, 0]), "intercept": float(model.intercept_[0])}
    else:
        model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        model.fit(scores, y)
        parameters = {
            "x": [float(v) for v in model.X_thresholds_],
            "y": [float(v) for v in model.y_thresholds_],
        }
    return Calibrator(method, parameters, len(y), int(y.sum()))
