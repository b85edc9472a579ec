"""Metrics for a churn score: discrimination, calibration, ranking and early warning.

Library functions are used wherever sklearn has them (roc_auc_score, average_precision_score,
brier_score_loss, log_loss, calibration_curve, roc_curve), and CatBoost's C++ AUC inside the
bootstrap. Ranking metrics (lift, recall and precision in the top k) order rows by score
descending; ties keep the input order (stable sort), so they are deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pandas as pd
from catboost.utils import eval_metric
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    roc_auc_score,
    roc_curve,
)

TOP_FRACTION = 0.10


def ranking_order(scores: np.ndarray) -> np.ndarray:
    """Positions sorted by score, highest first, ties in input order."""
    return np.argsort(-np.asarray(scores, dtype=float), kind="stable")


def top_k(fraction: float, n: int) -> int:
    """Rows in the top `fraction` of `n` (rounded up, at least one)."""
    return max(1, math.ceil(fraction * n))


def precision_at_k(y: np.ndarray, scores: np.ndarray, k: int) -> float:
    """Share of positives among the k highest-scored rows."""
    y = np.asarray(y)
    return float(y[ranking_order(scores)[:k]].mean())


def recall_at_k(y: np.ndarray, scores: np.ndarray, k: int) -> float:
    """Share of all positives that are among the k highest-scored rows."""
    y = np.asarray(y)
    return float(y[ranking_order(scores)[:k]].sum() / y.sum())


def lift_at_k(y: np.ndarray, scores: np.ndarray, k: int) -> float:
    """Positive rate among the k highest-scored rows divided by the overall positive rate."""
    return precision_at_k(y, scores, k) / float(np.mean(y))


def binary_metrics(
    y: np.ndarray, scores: np.ndarray, capacity: int | None = None
) -> dict[str, float | int | None]:
    """All headline metrics of one score on one labelled set."""
    y = np.asarray(y, dtype=int)
    scores = np.asarray(scores, dtype=float)
    k = top_k(TOP_FRACTION, len(y))
    both_classes = 0 < y.sum() < len(y)
    metrics: dict[str, float | int | None] = {
        "rows": len(y),
        "positives": int(y.sum()),
        "roc_auc": float(roc_auc_score(y, scores)) if both_classes else None,
        "pr_auc": float(average_precision_score(y, scores)) if both_classes else None,
        "brier": float(brier_score_loss(y, scores)),
        "log_loss": float(log_loss(y, scores, labels=[0, 1])),
        "top_decile_rows": k,
        "top_decile_lift": lift_at_k(y, scores, k) if y.sum() else None,
        "top_decile_recall": recall_at_k(y, scores, k) if y.sum() else None,
        "precision_at_top_decile": precision_at_k(y, scores, k),
    }
    if capacity is not None and capacity <= len(y):
        metrics["capacity"] = capacity
        metrics["precision_at_capacity"] = precision_at_k(y, scores, capacity)
    return metrics


def _weighted_roc_auc(y: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> float:
    """ROC-AUC with row weights, by CatBoost's C++ metric (equal to sklearn's roc_auc_score
    with sample_weight, ~10x faster: the bootstrap calls it hundreds of times)."""
    return float(eval_metric(y, scores, "AUC:use_weights=true", weight=weights)[0])


def _weighted_pr_auc(y: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> float:
    return float(average_precision_score(y, scores, sample_weight=weights))


_RESAMPLED_METRICS = {"roc_auc": _weighted_roc_auc, "pr_auc": _weighted_pr_auc}
_FULL_METRICS = {"roc_auc": roc_auc_score, "pr_auc": average_precision_score}


def bootstrap_weights(
    n_rows: int, groups: np.ndarray | None, resamples: int, seed: int
) -> Iterator[np.ndarray]:
    """Row weights of `resamples` bootstrap resamples. Without `groups` rows are drawn with
    replacement; with `groups` (e.g. customer ids) whole groups are drawn, and every row of a
    group drawn k times gets weight k: a customer's snapshots are not independent draws."""
    rng = np.random.default_rng(seed)
    if groups is None:
        for _ in range(resamples):
            yield np.bincount(rng.integers(0, n_rows, n_rows), minlength=n_rows).astype(float)
        return
    codes, _ = pd.factorize(pd.Series(groups), sort=False)
    n_groups = int(codes.max()) + 1
    for _ in range(resamples):
        drawn = np.bincount(rng.integers(0, n_groups, n_groups), minlength=n_groups)
        yield drawn[codes].astype(float)


def _interval(values: list[float]) -> tuple[float, float]:
    array = np.asarray(values, dtype=float)
    return float(np.quantile(array, 0.025)), float(np.quantile(array, 0.975))


def metric_intervals(
    y: np.ndarray,
    scores: np.ndarray,
    groups: np.ndarray | None = None,
    resamples: int = 200,
    seed: int = 0,
) -> dict[str, dict[str, float | int]]:
    """ROC-AUC and PR-AUC of one score with a 95% percentile bootstrap interval (resampling
    `groups`, e.g. customers, when given)."""
    y = np.asarray(y, dtype=int)
    scores = np.asarray(scores, dtype=float)
    samples: dict[str, list[float]] = {metric: [] for metric in _RESAMPLED_METRICS}
    for weights in bootstrap_weights(len(y), groups, resamples, seed):
        positives = float(weights @ y)
        if not 0 < positives < weights.sum():
            continue
        for metric, compute in _RESAMPLED_METRICS.items():
            samples[metric].append(compute(y, scores, weights))
    result: dict[str, dict[str, float | int]] = {}
    for metric, compute in _FULL_METRICS.items():
        low, high = _interval(samples[metric])
        result[metric] = {
            "value": float(compute(y, scores)),
            "ci_low": low,
            "ci_high": high,
            "resamples": len(samples[metric]),
        }
    return result


def verdict(ci_low: float, ci_high: float) -> str:
    """`beats` / `loses` when the 95% interval of a difference excludes 0, else `ties`."""
    if ci_low > 0:
        return "beats"
    if ci_high < 0:
        return "loses"
    return "ties"


def expected_calibration_error(y: np.ndarray, scores: np.ndarray, n_bins: int = 10) -> float:
    """ECE: the row-weighted mean |observed rate - mean predicted probability| over `n_bins`
    equal-count (quantile) bins of the predicted probability."""
    y = np.asarray(y, dtype=float)
    scores = np.asarray(scores, dtype=float)
    order = ranking_order(scores)
    total = 0.0
    for part in np.array_split(order, n_bins):
        if len(part):
            total += len(part) * abs(y[part].mean() - scores[part].mean())
    return total / len(y)


def paired_bootstrap(
    y: np.ndarray,
    challenger: np.ndarray,
    baselines: dict[str, np.ndarray],
    resamples: int = 200,
    seed: int = 0,
    groups: np.ndarray | None = None,
) -> dict[str, dict[str, dict[str, float | str]]]:
    """ROC-AUC and PR-AUC of `challenger` minus each baseline on the same rows, by baseline
    name: the observed difference, a 95% percentile interval over `resamples` bootstrap
    resamples (all scores resampled together, so each comparison is paired), the share of
    resamples in which the challenger is ahead and the verdict (`ties` when the interval holds
    0). With `groups` (customer ids) whole customers are resampled. Resamples holding a single
    class are skipped.

    A resample is its row counts used as weights (the same rows drawn with replacement, without
    copying them); the challenger is scored once per resample for all baselines."""
    y = np.asarray(y, dtype=int)
    challenger = np.asarray(challenger, dtype=float)
    baseline_scores = {name: np.asarray(s, dtype=float) for name, s in baselines.items()}
    differences: dict[str, dict[str, list[float]]] = {
        name: {metric: [] for metric in _RESAMPLED_METRICS} for name in baselines
    }
    for weights in bootstrap_weights(len(y), groups, resamples, seed):
        positives = float(weights @ y)
        if not 0 < positives < weights.sum():
            continue
        for metric, compute in _RESAMPLED_METRICS.items():
            ahead = compute(y, challenger, weights)
            for name, scores in baseline_scores.items():
                differences[name][metric].append(ahead - compute(y, scores, weights))
    result: dict[str, dict[str, dict[str, float | str]]] = {}
    for name, scores in baseline_scores.items():
        result[name] = {}
        for metric, compute in _FULL_METRICS.items():
            values = np.asarray(differences[name][metric])
            low, high = _interval(differences[name][metric])
            result[name][metric] = {
                "difference": float(compute(y, challenger) - compute(y, scores)),
                "ci_low": low,
                "ci_high": high,
                "share_ahead": float((values > 0).mean()),
                "resamples": len(values),
                "verdict": verdict(low, high),
            }
    return result


def calibration_table(y: np.ndarray, scores: np.ndarray, n_bins: int = 10) -> list[dict]:
    """Observed positive rate against mean predicted probability in quantile bins."""
    observed, predicted = calibration_curve(y, scores, n_bins=n_bins, strategy="quantile")
    return [
        {"mean_predicted": float(p), "observed_rate": float(o)}
        for p, o in zip(predicted, observed, strict=True)
    ]


def lift_table(y: np.ndarray, scores: np.ndarray, n_bins: int = 10) -> list[dict]:
    """Per score decile (1 = highest scores): rows, positives, rate, lift, cumulative recall."""
    y = np.asarray(y, dtype=int)
    ordered = y[ranking_order(scores)]
    base_rate = ordered.mean()
    rows = []
    cumulative = 0
    for number, part in enumerate(np.array_split(ordered, n_bins), start=1):
        cumulative += int(part.sum())
        rate = float(part.mean()) if len(part) else 0.0
        rows.append(
            {
                "decile": number,
                "rows": len(part),
                "positives": int(part.sum()),
                "positive_rate": rate,
                "lift": rate / base_rate if base_rate else None,
                "cumulative_recall": cumulative / ordered.sum() if ordered.sum() else None,
            }
        )
    return rows


def threshold_at_fpr(y: np.ndarray, scores: np.ndarray, max_fpr: float) -> float:
    """The lowest score threshold whose false-positive rate (score >= threshold) is <= max_fpr."""
    fpr, _, thresholds = roc_curve(y, scores, drop_intermediate=False)
    allowed = np.flatnonzero(fpr <= max_fpr)
    return float(thresholds[allowed[-1]])


def early_warning(
    frame: pd.DataFrame,
    id_column: str,
    time_column: str,
    churn_date_column: str,
    score_column: str,
    target_column: str,
    max_fpr: float = 0.05,
    lead_days: int = 30,
    threshold: float | None = None,
) -> dict[str, float | int | str]:
    """Share of churners flagged at least `lead_days` before their churn date.

    The flag threshold is `threshold` when given (chosen on validation data: `threshold_at_fpr`
    on the validation rows), else set on the given rows so that at most `max_fpr` of their
    non-churning snapshots (target 0) are flagged. A churner (a customer with a churn date and a
    positive snapshot) counts as warned if any of its positive snapshots dated `lead_days` or more
    before the churn date scores at or above the threshold; churners without such a snapshot
    are not counted.
    """
    y = frame[target_column].to_numpy(dtype=int)
    if threshold is None:
        threshold = threshold_at_fpr(y, frame[score_column].to_numpy(dtype=float), max_fpr)
    positives = frame[(frame[target_column] == 1) & frame[churn_date_column].notna()]
    lead = pd.to_datetime(positives[churn_date_column]) - pd.to_datetime(positives[time_column])
    eligible = positives[lead >= pd.Timedelta(days=lead_days)]
    warned = (eligible[score_column] >= threshold).groupby(eligible[id_column]).any()
    negatives_flagged = float((frame.loc[y == 0, score_column] >= threshold).mean())
    return {
        "max_false_positive_rate": max_fpr,
        "lead_days": lead_days,
        "threshold": threshold,
        "false_positive_rate": negatives_flagged,
        "churners": int(warned.size),
        "churners_warned": int(warned.sum()),
        "share_warned": float(warned.mean()) if warned.size else float("nan"),
    }
