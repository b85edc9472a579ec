"""The build's monitoring step: drift and backtest of the version that just scored, attached to
it in the registry as `monitoring.json` (read by reports/registry.py for the Churn Model page).

Runs after the scores are written: the backtest reads every stored score of `ml.churn_scores`
(the history the build keeps) and the realised labels of the feature mart.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from custintel.core.model_registry import MONITORING_FILE
from custintel.core.settings import Settings
from ml import gateway
from ml.dataset import Dataset, DatasetError
from ml.monitoring import backtest, drift_report
from ml.registry import ModelVersion, Registry
from ml.score import score_frame
from ml.train import TrainResult

SCORES_TABLE = "ml.churn_scores"


def training_window(dataset: Dataset, result: TrainResult) -> pd.DataFrame:
    """The rows the scoring model was fitted on: every labelled row for the production refit,
    the training part of the split otherwise."""
    if result.production_model is not None:
        return dataset.labelled
    return dataset.labelled.loc[result.split.train]


def stored_scores(settings: Settings) -> pd.DataFrame | None:
    try:
        return gateway.read_table(settings, SCORES_TABLE)
    except DatasetError:
        return None


def monitoring_report(
    settings: Settings,
    version: ModelVersion,
    result: TrainResult,
    dataset: Dataset,
    scores: pd.DataFrame,
    as_of: pd.Timestamp,
    horizon_days: int,
) -> dict[str, Any]:
    spec = dataset.spec
    window = training_window(dataset, result)
    frame = dataset.frame
    latest = frame[frame[spec.time_column] == frame[spec.time_column].max()]
    window_scores = score_frame(version, window, reasons=0)["churn_probability"].to_numpy()
    periods = sorted(pd.to_datetime(window[spec.time_column]).dt.date.unique())
    drift = drift_report(
        window,
        latest,
        version.features,
        version.categorical,
        window_scores,
        scores["churn_probability"].to_numpy(dtype=float),
        {
            "training_window": {
                "first": str(periods[0]),
                "last": str(periods[-1]),
                "snapshots": len(periods),
                "rows": len(window),
            },
            "latest_snapshot": {
                "date": str(pd.Timestamp(latest[spec.time_column].iloc[0]).date()),
                "rows": len(latest),
            },
            "scores": "calibrated churn probability of the scoring model",
        },
    )
    history = stored_scores(settings)
    labels = frame[[spec.id_column, spec.time_column, spec.target_column]].rename(
        columns={
            spec.id_column: "customer_id",
            spec.time_column: "snapshot_date",
            spec.target_column: "churned_within_90d",
        }
    )
    checked = (
        backtest(history, labels, pd.Timestamp(as_of).date(), horizon_days)
        if history is not None and len(history)
        else {
            "as_of": str(pd.Timestamp(as_of).date()),
            "horizon_days": horizon_days,
            "dates": [],
            "bands": [],
            "pending": [],
        }
    )
    return {"drift": drift, "backtest": checked}


def attach_monitoring(registry: Registry, version: ModelVersion, report: dict[str, Any]) -> None:
    """Store the report with the version (monitoring.json)."""
    registry.attach(
        version.version, MONITORING_FILE, json.dumps(report, indent=2, allow_nan=False, default=str)
    )
