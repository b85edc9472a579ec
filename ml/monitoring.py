"""Monitoring of the churn model: drift (PSI) and a backtest of stored scores.

Drift: the Population Stability Index of the score and of every model feature between the
training window (the rows the scoring model was fitted on: every labelled snapshot for the
production refit) and the latest snapshot (the rows just scored).

    PSI = sum over bins of (latest share - training share) x ln(latest share / training share)

Binning (documented, so a reader can recompute it):
- numeric columns: the edges are the training window's deciles (`np.quantile` at 0.1 .. 0.9,
  method "lower": each edge is a value the window holds), duplicates removed; bins are
  right-closed, (-inf, q1], (q1, q2], ..., (q9, +inf), so a 0/1 column has the bins <= 0,
  (0, 1] and > 1 (empty in training), and a constant column <= c and > c;
- categorical and boolean columns: one bin per value seen in the training window, plus one
  `(other)` bin for values it never held;
- missing values (null / NaN) are a bin of their own in both cases;
- a share of 0 is replaced by PSI_FLOOR (1e-4) before the logarithm (a bin empty on one side
  would otherwise give an infinite PSI); shares are not renormalised.
Reading (the usual rule of thumb): < 0.10 stable, 0.10 - 0.25 moderate shift, >= 0.25 major
shift.

Backtest: every stored score date (`ml.churn_scores`, one per build, history kept) whose 90-day
label window has closed (score_date + 90 days <= the warehouse's as-of date) is compared with
what happened: the realised label is the mart's `churned_within_90d` of the same customer and
snapshot date (the label the model is trained on). Per score date and model version: scored
and labelled customers, churners, ROC-AUC, mean predicted (calibrated) probability against the
observed churn rate, Brier score; and per risk band the same rates. Score dates whose window is
still open are listed as pending with the date their labels mature.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

PSI_FLOOR = 1e-4
DECILES = np.linspace(0.1, 0.9, 9)
MISSING_BIN = "(missing)"
OTHER_BIN = "(other)"
#: PSI below the first bound: stable; below the second: moderate shift; else major shift
PSI_BOUNDS = (0.10, 0.25)
BAND_ORDER = ("high", "medium", "low")


def shift_verdict(psi: float) -> str:
    if psi < PSI_BOUNDS[0]:
        return "stable"
    if psi < PSI_BOUNDS[1]:
        return "moderate shift"
    return "major shift"


def quantile_edges(reference: pd.Series) -> np.ndarray:
    """The training window's deciles (duplicates removed): the inner edges of the bins."""
    values = pd.to_numeric(reference, errors="coerce").dropna().to_numpy(dtype=float)
    if len(values) == 0:
        return np.array([], dtype=float)
    return np.unique(np.quantile(values, DECILES, method="lower"))


def _numeric_labels(edges: np.ndarray) -> list[str]:
    if not len(edges):
        return ["all values"]
    labels = [f"<= {edges[0]:.6g}"]
    labels += [f"({low:.6g}, {high:.6g}]" for low, high in zip(edges[:-1], edges[1:], strict=True)]
    return [*labels, f"> {edges[-1]:.6g}"]


def _numeric_codes(values: pd.Series, edges: np.ndarray) -> np.ndarray:
    """Bin number of each value: 0 for <= e1, i for (e_i, e_i+1], len(edges) for > e_last;
    len(edges) + 1 for a missing value."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    codes = np.searchsorted(edges, numbers, side="left")
    return np.where(np.isnan(numbers), len(edges) + 1, codes)


def _categorical_codes(values: pd.Series, known: list[str]) -> np.ndarray:
    """Bin number of each value: its position in `known`, len(known) for a value the training
    window never held, len(known) + 1 for a missing value."""
    position = {value: i for i, value in enumerate(known)}
    return np.array(
        [
            len(known) + 1 if pd.isna(v) else position.get(str(v), len(known))
            for v in values.to_numpy(dtype=object)
        ],
        dtype=int,
    )


def psi_table(reference: pd.Series, actual: pd.Series, categorical: bool = False) -> pd.DataFrame:
    """Per bin: its label, the training share, the latest share and the bin's PSI term (bins
    empty on both sides left out)."""
    if categorical:
        known = sorted({str(v) for v in reference.dropna().to_numpy(dtype=object)})
        labels = [*known, OTHER_BIN, MISSING_BIN]
        ref_codes = _categorical_codes(reference, known)
        act_codes = _categorical_codes(actual, known)
    else:
        edges = quantile_edges(reference)
        labels = [*_numeric_labels(edges), MISSING_BIN]
        ref_codes = _numeric_codes(reference, edges)
        act_codes = _numeric_codes(actual, edges)
    expected = np.bincount(ref_codes, minlength=len(labels)) / len(ref_codes)
    observed = np.bincount(act_codes, minlength=len(labels)) / len(act_codes)
    table = pd.DataFrame({"bin": labels, "training_share": expected, "latest_share": observed})
    table = table[(table["training_share"] > 0) | (table["latest_share"] > 0)]
    e = table["training_share"].clip(lower=PSI_FLOOR)
    a = table["latest_share"].clip(lower=PSI_FLOOR)
    table["psi"] = (a - e) * np.log(a / e)
    return table.reset_index(drop=True)


def psi(reference: pd.Series, actual: pd.Series, categorical: bool = False) -> float:
    """PSI of `actual` against `reference` with the binning described in the module doc."""
    return float(psi_table(reference, actual, categorical)["psi"].sum())


def drift_report(
    training: pd.DataFrame,
    latest: pd.DataFrame,
    features: list[str],
    categorical: list[str],
    training_scores: np.ndarray,
    latest_scores: np.ndarray,
    window: dict[str, Any],
) -> dict[str, Any]:
    """Score and feature PSI between the training window and the latest snapshot; features
    sorted by PSI, largest first (ties by name)."""
    score_bins = psi_table(pd.Series(training_scores), pd.Series(latest_scores))
    score_psi = float(score_bins["psi"].sum())
    rows: list[dict[str, Any]] = []
    for feature in features:
        is_categorical = feature in categorical
        value = psi(training[feature], latest[feature], is_categorical)
        rows.append(
            {
                "feature": feature,
                "kind": "categorical" if is_categorical else "numeric",
                "psi": value,
                "verdict": shift_verdict(value),
            }
        )
    rows.sort(key=lambda row: (-row["psi"], row["feature"]))
    return {
        **window,
        "binning": "training-window deciles (numeric), values (categorical); missing own bin; "
        f"empty share floored at {PSI_FLOOR}",
        "bounds": {"moderate": PSI_BOUNDS[0], "major": PSI_BOUNDS[1]},
        "score": {
            "psi": score_psi,
            "verdict": shift_verdict(score_psi),
            "training_mean": float(np.mean(training_scores)),
            "latest_mean": float(np.mean(latest_scores)),
            "bins": score_bins.to_dict("records"),
        },
        "features": rows,
    }


def backtest(
    scores: pd.DataFrame,
    labels: pd.DataFrame,
    as_of: dt.date,
    horizon_days: int = 90,
) -> dict[str, Any]:
    """Stored scores against realised churn for every score date whose label window closed.

    `scores`: ml.churn_scores rows (customer_id, score_date, model_version, churn_probability,
    risk_band); `labels`: the mart's (customer_id, snapshot_date, churned_within_90d)."""
    columns = ["customer_id", "score_date", "model_version", "churn_probability", "risk_band"]
    scores = scores[columns].copy()
    scores["score_date"] = pd.to_datetime(scores["score_date"]).dt.date
    known = labels[["customer_id", "snapshot_date", "churned_within_90d"]].copy()
    known["snapshot_date"] = pd.to_datetime(known["snapshot_date"]).dt.date
    known = known.rename(columns={"snapshot_date": "score_date", "churned_within_90d": "churned"})
    joined = scores.merge(known, on=["customer_id", "score_date"], how="left")
    horizon = dt.timedelta(days=horizon_days)
    dates: list[dict[str, Any]] = []
    bands: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    for (score_date, version), group in joined.groupby(["score_date", "model_version"], sort=True):
        matures = score_date + horizon
        if matures > as_of:
            pending.append(
                {
                    "score_date": str(score_date),
                    "model_version": version,
                    "customers": len(group),
                    "labels_mature_on": str(matures),
                }
            )
            continue
        labelled = group[group["churned"].notna()]
        y = labelled["churned"].astype(int).to_numpy()
        p = labelled["churn_probability"].to_numpy(dtype=float)
        both = 0 < y.sum() < len(y)
        dates.append(
            {
                "score_date": str(score_date),
                "model_version": version,
                "customers": len(group),
                "labelled": len(labelled),
                "churners": int(y.sum()),
                "roc_auc": float(roc_auc_score(y, p)) if both else None,
                "mean_predicted": float(p.mean()) if len(p) else None,
                "observed_rate": float(y.mean()) if len(y) else None,
                "brier": float(np.mean((p - y) ** 2)) if len(y) else None,
            }
        )
        for band in BAND_ORDER:
            part = labelled[labelled["risk_band"] == band]
            if part.empty:
                continue
            bands.append(
                {
                    "score_date": str(score_date),
                    "model_version": version,
                    "band": band,
                    "customers": len(part),
                    "churners": int(part["churned"].astype(int).sum()),
                    "mean_predicted": float(part["churn_probability"].mean()),
                    "observed_rate": float(part["churned"].astype(float).mean()),
                }
            )
    return {
        "as_of": str(as_of),
        "horizon_days": horizon_days,
        "dates": dates,
        "bands": bands,
        "pending": pending,
    }
