"""Versioned model registry on disk: `<registry_path>/<model_name>/<version>/`.

The file names and version numbering are `custintel.core.model_registry` (reports reads the
same files without importing ml). A version folder holds
  model.cbm       the evaluated CatBoost model (trained on the training snapshots, early
                  stopped on validation; every metric of the card is about it)
  production.cbm  the model that scores: the same settings refit on every labelled row with the
                  evaluated model's iteration count (absent when training ran without refit)
  calibration.json the calibrators mapping each model's raw scores to probabilities
  reliability.svg the reliability diagram before / after calibration (shown by the card)
  manifest.json   name, version, created_at, column roles, feature + categorical lists,
                  training-data fingerprint, parameters, library versions
  metrics.json    everything `ml.train` measured (models vs baselines, calibration, lift, ...)
  model_card.md   the card rendered from the two JSON files
Versions are `v0001`, `v0002`, ... A version is written to a temporary folder and renamed into
place in one step, so readers never see a half-written version and two concurrent trainings
cannot take the same number.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import catboost
import sklearn
from catboost import CatBoostClassifier

from custintel.core.model_registry import (
    CALIBRATION_FILE,
    CARD_FILE,
    MANIFEST_FILE,
    METRICS_FILE,
    MODEL_FILE,
    PRODUCTION_FILE,
    stored_versions,
    version_number,
)
from ml.calibration import Calibrator
from ml.dataset import DatasetSpec
from ml.model_card import render_model_card
from ml.reliability_chart import CHART_FILE as RELIABILITY_CHART_FILE
from ml.reliability_chart import reliability_svg
from ml.train import TrainResult


class RegistryError(LookupError):
    """A model name or version is not in the registry."""


@dataclass(frozen=True)
class ModelVersion:
    """One stored version; the CatBoost model is loaded on demand."""

    name: str
    version: str
    path: Path
    manifest: dict[str, Any]
    metrics: dict[str, Any]

    @property
    def features(self) -> list[str]:
        return list(self.manifest["features"])

    @property
    def categorical(self) -> list[str]:
        return list(self.manifest["categorical_features"])

    @property
    def spec(self) -> DatasetSpec:
        roles = self.manifest["columns"]
        return DatasetSpec(
            roles["id"],
            roles["target"],
            roles.get("time"),
            roles.get("churn_date"),
            tuple(roles.get("exclude", ())),
            roles.get("positive_label"),
        )

    @property
    def scored_with(self) -> str:
        """`production` (the refit model) when stored, else `evaluated`."""
        return "production" if (self.path / PRODUCTION_FILE).is_file() else "evaluated"

    def load_model(self, which: str = "evaluated") -> CatBoostClassifier:
        """The evaluated model, or `production` (the one that scores)."""
        model = CatBoostClassifier()
        filename = PRODUCTION_FILE if which == "production" else MODEL_FILE
        model.load_model(str(self.path / filename), format="cbm")
        return model

    def load_scoring_model(self) -> CatBoostClassifier:
        return self.load_model(self.scored_with)

    def calibrator(self, which: str | None = None) -> Calibrator | None:
        """The calibrator of `which` model (default: the scoring one); None if not stored."""
        path = self.path / CALIBRATION_FILE
        if not path.is_file():
            return None
        stored = json.loads(path.read_text())
        values = stored.get(which or self.scored_with)
        return Calibrator.from_json(values) if values else None


class Registry:
    """The versions of one named model."""

    def __init__(self, root: Path | str, model_name: str) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", model_name):
            raise RegistryError(f"model name {model_name!r} may hold only letters, digits, _ . -")
        self.root = Path(root)
        self.model_name = model_name
        self.folder = self.root / model_name

    def versions(self) -> list[str]:
        """Stored versions, oldest first."""
        return stored_versions(self.folder)

    def latest(self) -> ModelVersion:
        versions = self.versions()
        if not versions:
            raise RegistryError(f"no versions of model {self.model_name!r} in {self.root}")
        return self.load(versions[-1])

    def load(self, version: str) -> ModelVersion:
        path = self.folder / version
        if not (path / MANIFEST_FILE).is_file():
            raise RegistryError(
                f"model {self.model_name!r} has no version {version!r} in {self.root}; "
                f"stored: {self.versions() or 'none'}"
            )
        manifest = json.loads((path / MANIFEST_FILE).read_text())
        metrics = json.loads((path / METRICS_FILE).read_text())
        return ModelVersion(self.model_name, version, path, manifest, metrics)

    def save(self, result: TrainResult) -> ModelVersion:
        """Store a training result as the next version."""
        self.folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=self.folder))
        staging.chmod(0o755)  # mkdtemp makes it private; a version folder is shared
        try:
            while True:
                version = self._next_version()
                manifest = build_manifest(self.model_name, version, result)
                metrics = _json_safe(result.metrics)
                self._write(staging, result, manifest, metrics)
                try:
                    os.rename(staging, self.folder / version)
                except OSError:
                    if (self.folder / version).exists():
                        continue  # another process took this number; write again as the next
                    raise
                return self.load(version)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def attach(self, version: str, filename: str, text: str) -> Path:
        """Add a derived file (e.g. the segmentation report) to an existing version."""
        reserved = {
            MODEL_FILE,
            PRODUCTION_FILE,
            CALIBRATION_FILE,
            MANIFEST_FILE,
            METRICS_FILE,
            RELIABILITY_CHART_FILE,
        }
        if filename in reserved or "/" in filename:
            raise RegistryError(f"cannot attach {filename!r}: reserved or not a plain file name")
        path = self.load(version).path / filename
        path.write_text(text)
        return path

    def _next_version(self) -> str:
        versions = self.versions()
        number = (version_number(versions[-1]) or 0) + 1 if versions else 1
        return f"v{number:04d}"

    @staticmethod
    def _write(
        folder: Path, result: TrainResult, manifest: dict[str, Any], metrics: dict[str, Any]
    ) -> None:
        result.model.save_model(str(folder / MODEL_FILE), format="cbm")
        if result.production_model is not None:
            result.production_model.save_model(str(folder / PRODUCTION_FILE), format="cbm")
        calibrators = {
            "evaluated": result.calibrator.as_json() if result.calibrator else None,
            "production": (
                result.production_calibrator.as_json() if result.production_calibrator else None
            ),
        }
        (folder / CALIBRATION_FILE).write_text(json.dumps(calibrators, indent=2))
        (folder / METRICS_FILE).write_text(json.dumps(metrics, indent=2, allow_nan=False))
        chart = reliability_svg(metrics)
        if chart is not None:
            (folder / RELIABILITY_CHART_FILE).write_text(chart)
        (folder / CARD_FILE).write_text(render_model_card(manifest, metrics))
        (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, allow_nan=False))


def build_manifest(name: str, version: str, result: TrainResult) -> dict[str, Any]:
    dataset = result.dataset
    spec = dataset.spec
    return {
        "name": name,
        "version": version,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "source": dataset.source,
        "columns": {
            "id": spec.id_column,
            "target": spec.target_column,
            "time": spec.time_column,
            "churn_date": spec.churn_date_column,
            "exclude": list(spec.exclude),
            "positive_label": spec.positive_label,
        },
        "features": dataset.feature_columns,
        "categorical_features": dataset.categorical_columns,
        "training_data_fingerprint_sha256": dataset.fingerprint(),
        "parameters": {
            "catboost": result.config.catboost_params(),
            "best_iteration": int(result.model.get_best_iteration() or 0),
            "scored_with": "production" if result.production_model is not None else "evaluated",
            "training": _json_safe(result.config.as_json()),
        },
        "split": _json_safe(result.metrics["split"]),
        "libraries": {"catboost": catboost.__version__, "scikit-learn": sklearn.__version__},
    }


def _json_safe(value: Any) -> Any:
    """NaN/inf become null (JSON has no NaN); tuples become lists; numpy scalars plain numbers."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
