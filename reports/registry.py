"""Tables from the ML model registry (read-only), for ```registry``` query blocks and the
```model_card``` component.

The registry's file format is `custintel.core.model_registry`, the module `ml` writes it with:
`<registry_path>/<model>/<version>/` holding `manifest.json`, `metrics.json`, `model_card.md`
and, after segmentation, `segmentation.json`. Versions are `v0001`, `v0002`, ...; `latest` is
the highest number. Only the files are read: `reports` does not import `ml`. Before any model
is trained (`custintel build --skip-ml`) a `latest` read gives an empty table with the table's
columns, so pages still build and their components say "no data"; a named version that does
not exist is an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from custintel.core.model_registry import (
    MANIFEST_FILE,
    METRIC_LABELS,
    METRICS_FILE,
    MONITORING_FILE,
    SEGMENTATION_FILE,
    ordered_models,
    stored_versions,
)
from reports.specs import RegistrySpec, SpecError

#: metrics.json key -> column name of the `metrics` table (the metrics' titles)
METRIC_COLUMNS = METRIC_LABELS

#: the columns of each table (an empty table before any model is trained has these)
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "version": (
        "model",
        "version",
        "created at",
        "training data",
        "rows",
        "labelled rows",
        "churn rate",
        "split",
        "features",
        "best iteration",
    ),
    "metrics": ("model", "rows", "churners", *METRIC_COLUMNS.values()),
    "calibration": ("model", "bin", "mean predicted", "observed churn rate"),
    "lift": ("decile", "rows", "churners", "churn rate", "lift", "cumulative recall"),
    "importance": ("feature", "importance"),
    "risk_bands": (
        "data",
        "band",
        "threshold",
        "rows",
        "rows per month",
        "churn rate",
        "share of churners",
    ),
    "segments": ("segment", "customers"),
    "migration": ("from segment", "to segment", "moves"),
    "action_list": (
        "ranking",
        "customers called",
        "expected retained value",
        "realised retained value",
        "churners reached",
    ),
    "uplift": (
        "ranking",
        "Qini per 1,000 offers",
        "low",
        "high",
        "AUUC per 1,000 offers",
        "effect in the top 30%",
    ),
    "uplift_effects": (
        "group",
        "offers",
        "treated",
        "planted effect",
        "observed effect",
        "observed low",
        "observed high",
        "predicted effect",
    ),
    "reliability": ("probabilities", "bin", "mean predicted", "observed churn rate"),
    "calibration_summary": (
        "data",
        "probabilities",
        "ECE",
        "Brier",
        "mean predicted",
        "observed churn rate",
    ),
    "drift_summary": (
        "training window",
        "latest snapshot",
        "score PSI",
        "shift",
        "mean probability (training)",
        "mean probability (latest)",
    ),
    "score_drift": (
        "probability bin",
        "share of training window",
        "share of latest snapshot",
        "PSI",
    ),
    "feature_drift": ("feature", "kind", "PSI", "shift"),
    "backtest": (
        "score date",
        "model version",
        "customers",
        "churners",
        "ROC-AUC",
        "predicted churn rate",
        "observed churn rate",
        "Brier",
    ),
    "backtest_bands": (
        "score date",
        "model version",
        "band",
        "customers",
        "churners",
        "predicted churn rate",
        "observed churn rate",
    ),
}
#: the reliability diagram's series, in the order drawn
RELIABILITY_SERIES = {"before": "before calibration (raw)", "after": "after calibration"}
PERFECT_SERIES = "perfectly calibrated"


class NoModelYet(SpecError):
    """The registry holds no version of the model (nothing trained yet)."""


@dataclass(frozen=True)
class RegistryVersion:
    """One stored model version's folder."""

    model: str
    version: str
    path: Path

    @property
    def label(self) -> str:
        return f"{self.model}/{self.version}"

    def json(self, name: str) -> dict[str, Any]:
        path = self.path / name
        if not path.is_file():
            raise SpecError(f"model registry: {self.label} has no {name} ({path})")
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise SpecError(f"model registry: {path} is not valid JSON: {exc}") from exc

    def text(self, name: str) -> str:
        path = self.path / name
        if not path.is_file():
            raise SpecError(f"model registry: {self.label} has no {name} ({path})")
        return path.read_text(encoding="utf-8")


def find_version(root: Path | None, model: str, version: str = "latest") -> RegistryVersion:
    """The folder of `model`'s `version` (`latest`: the highest vNNNN) under `root`."""
    if root is None:
        raise SpecError("model registry: this site has no registry path (ml.registry_path)")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", model):
        raise SpecError(f"model registry: invalid model name {model!r}")
    folder = Path(root) / model
    found = stored_versions(folder)
    if not found:
        raise NoModelYet(
            f"model registry: no versions of model {model!r} in {root} "
            "(run `custintel build` or `custintel ml pipeline` first)"
        )
    chosen = found[-1] if version == "latest" else version
    if chosen not in found:
        raise SpecError(
            f"model registry: model {model!r} has no version {version!r} "
            f"(stored: {', '.join(found)})"
        )
    return RegistryVersion(model, chosen, folder / chosen)


def _ordered(models: dict[str, Any]) -> list[str]:
    return ordered_models(models)


def version_table(found: RegistryVersion) -> pd.DataFrame:
    manifest, metrics = found.json(MANIFEST_FILE), found.json(METRICS_FILE)
    dataset, split = metrics["dataset"], metrics["split"]
    return pd.DataFrame(
        [
            {
                "model": found.model,
                "version": found.version,
                "created at": manifest.get("created_at"),
                "training data": dataset.get("source"),
                "rows": dataset.get("rows"),
                "labelled rows": dataset.get("labelled_rows"),
                "churn rate": dataset.get("positive_rate"),
                "split": split.get("strategy"),
                "features": len(manifest.get("features", [])),
                "best iteration": manifest.get("parameters", {}).get("best_iteration"),
            }
        ]
    )


def metrics_table(found: RegistryVersion, part: str) -> pd.DataFrame:
    models = found.json(METRICS_FILE)["models"]
    rows = []
    for name in _ordered(models):
        result = models[name].get(part)
        if result is None:  # a skipped baseline
            continue
        row: dict[str, Any] = {
            "model": name,
            "rows": result.get("rows"),
            "churners": result.get("positives"),
        }
        row.update(
            {
                label: result.get(key)
                for key, label in METRIC_COLUMNS.items()
                if any(key in models[m].get(part, {}) for m in models)
            }
        )
        rows.append(row)
    return pd.DataFrame(rows)


def calibration_table(found: RegistryVersion) -> pd.DataFrame:
    calibration = found.json(METRICS_FILE)["calibration"]
    rows = [
        {
            "model": name,
            "bin": number,
            "mean predicted": point["mean_predicted"],
            "observed churn rate": point["observed_rate"],
        }
        for name in _ordered(calibration)
        for number, point in enumerate(calibration[name], start=1)
    ]
    return pd.DataFrame(rows)


def lift_table(found: RegistryVersion) -> pd.DataFrame:
    lift = found.json(METRICS_FILE)["lift"]["catboost"]
    return pd.DataFrame(
        [
            {
                "decile": d["decile"],
                "rows": d["rows"],
                "churners": d["positives"],
                "churn rate": d["positive_rate"],
                "lift": d["lift"],
                "cumulative recall": d["cumulative_recall"],
            }
            for d in lift
        ]
    )


def importance_table(found: RegistryVersion) -> pd.DataFrame:
    ranked = found.json(METRICS_FILE)["feature_importance"]
    return pd.DataFrame(
        [{"feature": feature_title(f["feature"]), "importance": f["importance"]} for f in ranked]
    )


def risk_band_table(found: RegistryVersion) -> pd.DataFrame:
    bands = found.json(METRICS_FILE).get("risk_bands")
    if not bands:
        return pd.DataFrame(columns=list(TABLE_COLUMNS["risk_bands"]))
    thresholds = {
        "high": bands.get("high_threshold"),
        "medium": bands.get("medium_threshold"),
        "low": 0.0,
    }
    return pd.DataFrame(
        [
            {
                "data": part,
                "band": band,
                "threshold": thresholds[band],
                "rows": bands[part][band]["rows"],
                "rows per month": bands[part][band]["rows_per_period"],
                "churn rate": bands[part][band]["churn_rate"],
                "share of churners": bands[part][band]["share_of_churners"],
            }
            for part in ("valid", "test")
            for band in ("high", "medium", "low")
        ]
    )


#: the behaviour features of the segmentation report (ml.pipeline.MART.behaviour) as column
#: headings; a feature not listed keeps its name with spaces
BEHAVIOUR_TITLES: dict[str, str] = {
    "usage_days_30d": "days used (of 30)",
    "data_volume_mb_30d": "data, MB (30 days)",
    "voice_minutes_30d": "call minutes (30 days)",
    "sessions_30d": "sessions (30 days)",
    "kb_views_90d": "help-centre views (90 days)",
    "orders_90d": "orders (90 days)",
    "campaign_responses_90d": "campaign responses (90 days)",
    "tickets_90d": "support tickets (90 days)",
    "services_used_30d": "services used (30 days)",
    "revenue_3m_amount": "revenue, last 3 months",
    "discount_share_12m": "discount share (12 months)",
}


def segments_table(found: RegistryVersion) -> pd.DataFrame:
    segments = found.json(SEGMENTATION_FILE)["segments"]
    frame = pd.DataFrame(segments).drop(columns=["segment_id"], errors="ignore")
    titles = {
        c: BEHAVIOUR_TITLES.get(c, c.replace("_", " "))
        for c in frame.columns
        if c not in ("segment_name", "rows")
    }
    return frame.rename(columns={"segment_name": "segment", "rows": "customers", **titles})


def migration_table(found: RegistryVersion) -> pd.DataFrame:
    counts = found.json(SEGMENTATION_FILE)["migration_counts"]
    return pd.DataFrame(
        [
            {"from segment": source, "to segment": target, "moves": int(n)}
            for source, row in sorted(counts.items())
            for target, n in sorted(row.items())
        ]
    )


def _uplift(found: RegistryVersion) -> dict[str, Any] | None:
    """The version's uplift metrics, or None when it has none or skipped them."""
    found_uplift = found.json(METRICS_FILE).get("uplift")
    return None if not found_uplift or "skipped" in found_uplift else found_uplift


def action_list_table(found: RegistryVersion) -> pd.DataFrame:
    """The value-ranked and the risk-ranked call lists on the out-of-time test rows (ml's
    `action_list_comparison`): retained value expected and realised, churners reached; a last
    row gives what ranking by value gains over ranking by risk."""
    action = found.json(METRICS_FILE).get("action_list")
    if not action:
        return pd.DataFrame(columns=list(TABLE_COLUMNS["action_list"]))
    titles = {"value": "by expected retained value", "risk": "by churn risk"}
    rows: list[dict[str, Any]] = [
        {
            "ranking": titles[name],
            "customers called": action["list_size"],
            "expected retained value": action[name]["expected_retained_value"],
            "realised retained value": action[name]["realised_retained_value"],
            "churners reached": action[name]["churners_reached"],
        }
        for name in ("value", "risk")
    ]
    rows.append(
        {
            "ranking": "value ranking gains",
            "customers called": None,
            "expected retained value": action["value_gain_expected_retained_value"],
            "realised retained value": action["value_gain_realised_retained_value"],
            "churners reached": (
                action["value"]["churners_reached"] - action["risk"]["churners_reached"]
            ),
        }
    )
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS["action_list"]))


def uplift_table(found: RegistryVersion) -> pd.DataFrame:
    """Qini and AUUC of ranking the test offers by predicted uplift and by churn risk, per
    1,000 offers (as on the model card, ml/uplift.py `PER_OFFERS`)."""
    uplift = _uplift(found)
    if uplift is None:
        return pd.DataFrame(columns=list(TABLE_COLUMNS["uplift"]))
    ranking = uplift["ranking"]
    qini, auuc, top = ranking["qini"], ranking["auuc"], ranking["top"]
    titles = {"uplift": "by predicted uplift", "risk": "by churn risk"}
    per = 1000
    return pd.DataFrame(
        [
            {
                "ranking": titles[name],
                "Qini per 1,000 offers": qini[name] * per,
                "low": qini[f"{name}_interval"][0] * per,
                "high": qini[f"{name}_interval"][1] * per,
                "AUUC per 1,000 offers": auuc[name] * per,
                "effect in the top 30%": top[name],
            }
            for name in ("uplift", "risk")
        ]
    )


def uplift_effects_table(found: RegistryVersion) -> pd.DataFrame:
    """Observed and predicted churn prevented per offer on the test offers, by planted group."""
    uplift = _uplift(found)
    if uplift is None:
        return pd.DataFrame(columns=list(TABLE_COLUMNS["uplift_effects"]))
    return pd.DataFrame(
        [
            {
                "group": row["group_title"],
                "offers": row["offers"],
                "treated": row["treated"],
                "planted effect": row["planted"],
                "observed effect": row["observed"],
                "observed low": row["observed_interval"][0],
                "observed high": row["observed_interval"][1],
                "predicted effect": row["predicted"],
            }
            for row in uplift["effects"]
        ]
    )


def reliability_table(found: RegistryVersion) -> pd.DataFrame:
    """The reliability diagram of the test set: observed churn rate against mean predicted
    probability per quantile bin, before and after calibration, and the diagonal (two points
    spanning the bins) a calibrated model follows."""
    calibration = found.json(METRICS_FILE).get("probability_calibration")
    if not calibration:
        return pd.DataFrame(columns=list(TABLE_COLUMNS["reliability"]))
    rows = [
        {
            "probabilities": RELIABILITY_SERIES[stage],
            "bin": number,
            "mean predicted": point["mean_predicted"],
            "observed churn rate": point["observed_rate"],
        }
        for stage in RELIABILITY_SERIES
        for number, point in enumerate(calibration["reliability_test"][stage], start=1)
    ]
    predicted = [row["mean predicted"] for row in rows]
    low, high = min(predicted), max(predicted)
    rows += [
        {
            "probabilities": PERFECT_SERIES,
            "bin": None,
            "mean predicted": value,
            "observed churn rate": value,
        }
        for value in (low, high)
    ]
    return pd.DataFrame(rows)


def calibration_summary_table(found: RegistryVersion) -> pd.DataFrame:
    """ECE, Brier and mean predicted vs observed churn, before and after calibration, on the
    validation snapshot the calibrator was fitted on and on the test snapshots."""
    calibration = found.json(METRICS_FILE).get("probability_calibration")
    if not calibration:
        return pd.DataFrame(columns=list(TABLE_COLUMNS["calibration_summary"]))
    names = {"valid": "validation", "test": "test"}
    return pd.DataFrame(
        [
            {
                "data": names[part],
                "probabilities": RELIABILITY_SERIES[stage],
                "ECE": calibration[part][stage]["ece"],
                "Brier": calibration[part][stage]["brier"],
                "mean predicted": calibration[part][stage]["mean_predicted"],
                "observed churn rate": calibration[part]["observed_rate"],
            }
            for part in ("valid", "test")
            for stage in RELIABILITY_SERIES
        ]
    )


#: words for the parts of a feature name (a feature without a title in BEHAVIOUR_TITLES)
NAME_WORDS = {
    "30d": "(30 days)",
    "90d": "(90 days)",
    "12m": "(12 months)",
    "3m": "(3 months)",
    "pct": "%",
    "mb": "MB",
    "kb": "help-centre",
    "csat": "CSAT",
    "amount": "",
    "avg": "average",
    "vs": "vs",
    "is": "",
    "has": "has",
}


def feature_title(name: str) -> str:
    """A feature's column heading: its BEHAVIOUR_TITLES entry, else its name in words
    (`escalated_tickets_weighted_12m` -> `escalated tickets weighted (12 months)`)."""
    if name in BEHAVIOUR_TITLES:
        return BEHAVIOUR_TITLES[name]
    words = [NAME_WORDS.get(part, part) for part in name.split("_")]
    text = " ".join(word for word in words if word)
    return text[:1].upper() + text[1:] if text else name


def _monitoring_frame(
    found: RegistryVersion, table: str, part: str, rows: Callable[[dict[str, Any]], list[dict]]
) -> pd.DataFrame:
    """A table from monitoring.json's `part` (drift / backtest); empty for a version trained
    before monitoring existed."""
    columns = list(TABLE_COLUMNS[table])
    if not (found.path / MONITORING_FILE).is_file():
        return pd.DataFrame(columns=columns)
    return pd.DataFrame(rows(found.json(MONITORING_FILE)[part]), columns=columns)


def _drift_summary_rows(drift: dict[str, Any]) -> list[dict]:
    window, latest, score = drift["training_window"], drift["latest_snapshot"], drift["score"]
    return [
        {
            "training window": f"{window['first']} to {window['last']} ({window['snapshots']} "
            f"snapshots, {window['rows']} rows)",
            "latest snapshot": f"{latest['date']} ({latest['rows']} rows)",
            "score PSI": score["psi"],
            "shift": score["verdict"],
            "mean probability (training)": score["training_mean"],
            "mean probability (latest)": score["latest_mean"],
        }
    ]


def _score_drift_rows(drift: dict[str, Any]) -> list[dict]:
    return [
        {
            "probability bin": b["bin"],
            "share of training window": b["training_share"],
            "share of latest snapshot": b["latest_share"],
            "PSI": b["psi"],
        }
        for b in drift["score"]["bins"]
    ]


def _feature_drift_rows(drift: dict[str, Any]) -> list[dict]:
    return [
        {
            "feature": feature_title(f["feature"]),
            "kind": f["kind"],
            "PSI": f["psi"],
            "shift": f["verdict"],
        }
        for f in drift["features"]
    ]


def _version_number(label: str) -> str:
    return label.rsplit("/", 1)[-1]


def _backtest_rows(checked: dict[str, Any]) -> list[dict]:
    return [
        {
            "score date": d["score_date"],
            "model version": _version_number(d["model_version"]),
            "customers": d["labelled"],
            "churners": d["churners"],
            "ROC-AUC": d["roc_auc"],
            "predicted churn rate": d["mean_predicted"],
            "observed churn rate": d["observed_rate"],
            "Brier": d["brier"],
        }
        for d in checked["dates"]
    ]


def _backtest_band_rows(checked: dict[str, Any]) -> list[dict]:
    return [
        {
            "score date": b["score_date"],
            "model version": _version_number(b["model_version"]),
            "band": b["band"],
            "customers": b["customers"],
            "churners": b["churners"],
            "predicted churn rate": b["mean_predicted"],
            "observed churn rate": b["observed_rate"],
        }
        for b in checked["bands"]
    ]


#: monitoring tables: (monitoring.json part, rows from it)
MONITORING_TABLES: dict[str, tuple[str, Callable[[dict[str, Any]], list[dict]]]] = {
    "drift_summary": ("drift", _drift_summary_rows),
    "score_drift": ("drift", _score_drift_rows),
    "feature_drift": ("drift", _feature_drift_rows),
    "backtest": ("backtest", _backtest_rows),
    "backtest_bands": ("backtest", _backtest_band_rows),
}


def registry_frame(spec: RegistrySpec, root: Path | None) -> tuple[str, pd.DataFrame]:
    """The table a ```registry``` block asks for, and the model/version it was read from
    (`model (no version yet)` and an empty table before the first training)."""
    try:
        found = find_version(root, spec.model, spec.version)
    except NoModelYet:
        if spec.version != "latest":
            raise
        return f"{spec.model} (no version yet)", pd.DataFrame(
            columns=list(TABLE_COLUMNS[spec.table])
        )
    try:
        if spec.table == "metrics":
            frame = metrics_table(found, spec.part)
        else:
            tables: dict[str, Callable[[RegistryVersion], pd.DataFrame]] = {
                "version": version_table,
                "calibration": calibration_table,
                "lift": lift_table,
                "importance": importance_table,
                "risk_bands": risk_band_table,
                "segments": segments_table,
                "migration": migration_table,
                "action_list": action_list_table,
                "uplift": uplift_table,
                "uplift_effects": uplift_effects_table,
                "reliability": reliability_table,
                "calibration_summary": calibration_summary_table,
                **{
                    name: partial(_monitoring_frame, table=name, part=part, rows=rows)
                    for name, (part, rows) in MONITORING_TABLES.items()
                },
            }
            frame = tables[spec.table](found)
    except KeyError as exc:  # a metrics file from another ml/ version
        raise SpecError(f"model registry: {found.label} has no {exc} in its files") from exc
    if spec.limit is not None:
        frame = frame.head(spec.limit)
    return found.label, frame.reset_index(drop=True)
