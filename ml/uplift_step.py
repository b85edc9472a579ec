"""The build's uplift step: the retention-offer experiment of the warehouse, modelled on the
churn mart's features (ml/uplift.py), as a metrics entry of the churn model version, and the
learner refit on every labelled offer that predicts each scored customer's uplift."""

from __future__ import annotations

from typing import Any

import pandas as pd

from custintel.core.settings import Settings
from ml import gateway
from ml.dataset import Dataset, DatasetError
from ml.uplift import (
    OFFERS_TABLE,
    PLANTED_MANIFEST,
    UpliftConfig,
    UpliftError,
    UpliftLearner,
    production_learner,
    uplift_analysis,
)


def read_planted(settings: Settings) -> pd.DataFrame | None:
    """The sample generator's planted effect per offer, when the landing folder has it."""
    path = settings.landing_path / PLANTED_MANIFEST
    return pd.read_parquet(path) if path.is_file() else None


def retention_uplift(settings: Settings, dataset: Dataset) -> dict[str, Any]:
    """Uplift metrics of the retention offers, or {"skipped": why} when there is nothing to
    model (no offers table, too few labelled offer months, one arm only)."""
    return retention_uplift_model(settings, dataset, production=False)[0]


def retention_uplift_model(
    settings: Settings, dataset: Dataset, production: bool = True
) -> tuple[dict[str, Any], UpliftLearner | None]:
    """The uplift metrics (out of time) and, when they could be computed and `production`, the
    learner refit on every labelled offer; (`{"skipped": why}`, None) otherwise."""
    try:
        offers = gateway.read_table(settings, OFFERS_TABLE)
    except (DatasetError, OSError) as exc:
        return {"skipped": f"{OFFERS_TABLE} not readable: {exc}"}, None
    config = UpliftConfig(seed=settings.ml.seed, test_months=settings.ml.test_snapshots)
    features, categorical = dataset.feature_columns, dataset.categorical_columns
    try:
        _, metrics = uplift_analysis(
            dataset.frame, offers, features, categorical, config, read_planted(settings)
        )
    except UpliftError as exc:
        return {"skipped": str(exc)}, None
    if not production:
        return metrics, None
    learner = production_learner(dataset.frame, offers, features, categorical, config)
    metrics["production"] = {
        "scored_with": "refit on every labelled offer",
        "offers": metrics["offers"]["labelled"],
    }
    return metrics, learner
