"""Apply a registered model to new data: probabilities with reasons, or metrics if labelled."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ml import evaluate
from ml.explain import shap_values, top_reasons
from ml.features import model_input
from ml.reasons import Playbook, family_reasons
from ml.registry import ModelVersion


def score_frame(
    version: ModelVersion,
    frame: pd.DataFrame,
    reasons: int = 3,
    playbook: Playbook | None = None,
) -> pd.DataFrame:
    """One row per input row: id (and time), churn_probability (calibrated when the version has
    a calibrator; the raw model output in churn_probability_raw), top reasons, model_version.
    The version's scoring model is used: the production refit when stored. With a `playbook`,
    reasons are driver families in the team's words (ml/reasons.py); without, the features
    with the largest risk-raising SHAP contributions (ml/explain.py)."""
    spec = version.spec
    model = version.load_scoring_model()
    x = model_input(frame, version.features, version.categorical)
    keys = [c for c in (spec.id_column, spec.time_column) if c and c in frame.columns]
    scored = frame[keys].copy()
    raw = model.predict_proba(x)[:, 1]
    calibrator = version.calibrator()
    scored["churn_probability_raw"] = raw
    scored["churn_probability"] = calibrator.transform(raw) if calibrator else raw
    if reasons and playbook is not None:
        contributions, _ = shap_values(model, x, version.categorical)
        scored = scored.join(
            family_reasons(contributions, frame, version.features, playbook, reasons)
        )
    elif reasons:
        explained = top_reasons(model, frame, version.features, version.categorical, reasons)
        scored = scored.join(explained)
    scored["model_version"] = f"{version.name}/{version.version}"
    return scored.reset_index(drop=True)


def evaluate_frame(
    version: ModelVersion, frame: pd.DataFrame, target: pd.Series, capacity: int | None = None
) -> dict[str, Any]:
    """Metrics of the stored model on labelled rows (target already mapped to 0/1)."""
    labelled = target.notna()
    x = model_input(frame[labelled], version.features, version.categorical)
    y = target[labelled].astype(int).to_numpy()
    probabilities = version.load_model().predict_proba(x)[:, 1]
    return {
        "metrics": evaluate.binary_metrics(y, probabilities, capacity),
        "calibration": evaluate.calibration_table(y, probabilities),
        "lift": evaluate.lift_table(y, probabilities),
    }
