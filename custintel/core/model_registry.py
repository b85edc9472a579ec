"""The model registry's file format, the one contract between `ml` (which writes it) and
`reports` (which reads it without importing `ml`).

`<registry_path>/<model_name>/<version>/` with versions `v0001`, `v0002`, ... (`latest` = the
highest number), each folder holding the files named below. `METRIC_LABELS` are the metrics'
titles wherever a reader sees them (model card, `custintel ml` tables, report pages).
"""

from __future__ import annotations

import re
from pathlib import Path

VERSION_PATTERN = re.compile(r"^v(\d{4,})$")

MODEL_FILE = "model.cbm"
PRODUCTION_FILE = "production.cbm"
CALIBRATION_FILE = "calibration.json"
MANIFEST_FILE = "manifest.json"
METRICS_FILE = "metrics.json"
CARD_FILE = "model_card.md"
RELIABILITY_CHART_FILE = "reliability.svg"
SEGMENTATION_FILE = "segmentation.json"
MONITORING_FILE = "monitoring.json"

#: the models of metrics.json in the order they are shown (the model first, then baselines)
MODEL_ORDER = ("catboost", "random_forest", "logistic_regression", "rule", "prior")
#: metrics.json key -> the metric's title
METRIC_LABELS: dict[str, str] = {
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC",
    "brier": "Brier",
    "log_loss": "log loss",
    "top_decile_lift": "top-10% lift",
    "top_decile_recall": "top-10% recall",
    "precision_at_top_decile": "precision at top 10%",
    "precision_at_capacity": "precision at capacity",
}

#: the same metrics' short titles, where a table of them must fit 80 columns (`custintel ml`)
METRIC_SHORT_LABELS: dict[str, str] = {
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC",
    "brier": "Brier",
    "log_loss": "logloss",
    "top_decile_lift": "lift@10%",
    "top_decile_recall": "rec@10%",
    "precision_at_top_decile": "prec@10%",
    "precision_at_capacity": "prec@cap",
}


def version_number(name: str) -> int | None:
    """The number of a version folder's name (`v0012` -> 12), None for any other name."""
    matched = VERSION_PATTERN.match(name)
    return int(matched.group(1)) if matched else None


def stored_versions(model_folder: Path) -> list[str]:
    """The version folders of one model, oldest first (none when the folder is missing)."""
    if not model_folder.is_dir():
        return []
    found = [
        p.name for p in model_folder.iterdir() if p.is_dir() and version_number(p.name) is not None
    ]
    return sorted(found, key=lambda name: version_number(name) or 0)


def ordered_models(models: dict[str, object]) -> list[str]:
    """The model names of a metrics.json section in MODEL_ORDER, unknown names last."""
    return [m for m in MODEL_ORDER if m in models] + [m for m in models if m not in MODEL_ORDER]
