"""K-fold cross-validation of CatBoost and the logistic-regression baseline.

Folds are stratified by the target and grouped by the id column (scikit-learn's
`StratifiedGroupKFold`), so every row of a customer is in one fold. In each fold CatBoost is
fitted on the other folds with early stopping on a stratified 20% of them (the held-out fold is
never used to stop), then both models are scored on the held-out fold. The result is the
per-fold ROC-AUC / PR-AUC and their mean and standard deviation (ddof 1) across folds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, train_test_split
from threadpoolctl import threadpool_limits

from ml import baselines, evaluate
from ml.dataset import Dataset
from ml.features import model_input
from ml.split import Split
from ml.train import TrainConfig, fit_catboost

MODELS = ("catboost", "logistic_regression")


class CrossValidationError(ValueError):
    """K is out of range for the data."""


def cross_validate(dataset: Dataset, folds: int, config: TrainConfig) -> dict[str, Any]:
    labelled = dataset.labelled.reset_index(drop=True)
    y = labelled[dataset.spec.target_column].astype(int)
    minority = int(min(y.sum(), len(y) - y.sum()))
    if folds < 2 or folds > minority:
        raise CrossValidationError(
            f"--cv {folds}: need 2 <= K <= {minority} (rows of the rarer class)"
        )
    x = model_input(labelled, dataset.feature_columns, dataset.categorical_columns, dataset.source)
    groups = labelled[dataset.spec.id_column].astype(str).to_numpy()
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=config.seed)
    per_fold: dict[str, list[dict[str, float]]] = {name: [] for name in MODELS}
    for rest, held_out in splitter.split(x, y, groups):
        train, valid = train_test_split(
            rest, test_size=0.2, stratify=y.iloc[rest], random_state=config.seed
        )
        split = Split(
            "cross_validation", np.asarray(train), np.asarray(valid), np.asarray(held_out), {}
        )
        model = fit_catboost(x, y, split, dataset.categorical_columns, config)
        y_fold = y.iloc[held_out].to_numpy()
        per_fold["catboost"].append(_scores(y_fold, model.predict_proba(x.iloc[held_out])[:, 1]))
        with threadpool_limits(limits=1):
            logistic = baselines.logistic_regression(
                dataset.categorical_columns, dataset.numeric_columns, config.seed
            )
            logistic.fit(x.iloc[rest], y.iloc[rest])
            per_fold["logistic_regression"].append(
                _scores(y_fold, logistic.predict_proba(x.iloc[held_out])[:, 1])
            )
    return {
        "folds": folds,
        "rows": len(y),
        "positives": int(y.sum()),
        "grouped_by": dataset.spec.id_column,
        "models": {
            name: {
                "per_fold": folds_of_model,
                **{
                    f"{metric}_{stat}": float(fn([f[metric] for f in folds_of_model]))
                    for metric in ("roc_auc", "pr_auc")
                    for stat, fn in (("mean", np.mean), ("sd", lambda v: np.std(v, ddof=1)))
                },
            }
            for name, folds_of_model in per_fold.items()
        },
    }


def _scores(y: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    metrics = evaluate.binary_metrics(y, scores, None)
    roc_auc, pr_auc = metrics["roc_auc"], metrics["pr_auc"]
    if roc_auc is None or pr_auc is None:  # no AUC without both classes
        raise CrossValidationError("a held-out fold holds a single class; use a smaller --cv")
    return {"roc_auc": float(roc_auc), "pr_auc": float(pr_auc)}
