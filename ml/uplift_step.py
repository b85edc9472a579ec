"""The build's uplift step: the retention-offer experiment of the warehouse, modelled on the
churn mart's features (ml/uplift.py), as a metrics entry of the churn model version."""

from __future__ import annotations

from typing import Any

import pandas as pd

from custintel.core.settings import Settings
from ml import gateway
from ml.dataset import Dataset, DatasetError
from ml.uplift import OFFERS_TABLE, PLANTED_MANIFEST, UpliftConfig, UpliftError, uplift_analysis


def read_planted(settings: Settings) -> pd.DataFrame | None:
    """The sample generator's planted effect per offer, when the landing folder has it."""
    path = settings.landing_path / PLANTED_MANIFEST
    return pd.read_parquet(path) if path.is_file() else None


def retention_uplift(settings: Settings, dataset: Dataset) -> dict[str, Any]:
    """Uplift metrics of the retention offers, or {"skipped": why} when there is nothing to
    model (no offers table, too few labelled offer months, one arm only)."""
    try:
        offers = gateway.read_table(settings, OFFERS_TABLE)
    except (DatasetError, OSError) as exc:
        return {"skipped": f"{OFFERS_TABLE} not readable: {exc}"}
    config = UpliftConfig(seed=settings.ml.seed, test_months=settings.ml.test_snapshots)
    try:
        _, metrics = uplift_analysis(dataset.frame, offers, dataset.feature_columns,
                                     dataset.categorical_columns, config, read_planted(settings))
    except UpliftError as exc:
        return {"skipped": str(exc)}
    return metrics
