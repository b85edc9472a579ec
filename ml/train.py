"""Train CatBoost and its baselines in one run and evaluate all of them on the same split.

CatBoost uses native categorical features, early stopping on the validation set (best model
kept), a fixed seed and a fixed thread count, so the same data and settings give the same model
and metrics. Baselines (rule, logistic regression, random forest, prior) are fitted on the
training part; every model is evaluated on the validation and test parts.

The sklearn baselines run with BLAS/OpenMP pools limited to one thread (`threadpoolctl`): on a
shared machine a multi-threaded lbfgs or K-means spends most of its time spinning, and one
thread gives the same numbers every time. The random forest still uses `thread_count` joblib
workers for fitting.

Defaults were chosen on the validation snapshot of the default sample (never the test one);
ml/README.md ("Tuning") lists what was tried.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from catboost import CatBoostClassifier, Pool
from threadpoolctl import threadpool_limits

from ml import baselines, evaluate
from ml.calibration import Calibrator, fit_calibrator
from ml.dataset import Dataset
from ml.features import model_input
from ml.risk_bands import RiskBands, choose_bands
from ml.rules import SEED_004_RULES, Rule, RuleBaseline
from ml.split import Split, out_of_time_split, stratified_split


@dataclass(frozen=True)
class TrainConfig:
    """Training settings; everything that changes the result is here (and in the manifest)."""

    seed: int = 7
    thread_count: int = 2
    iterations: int = 1000
    learning_rate: float = 0.05
    depth: int = 6
    #: strong L2 on leaf values: the labels are noisy (a 5-6% churn rate, ~4,500 positives)
    l2_leaf_reg: float = 30.0
    #: validation metric for early stopping (and the best iteration kept). Log loss is smooth;
    #: AUC / PRAUC on ~270 validation churners are step functions that stopped training after
    #: 9-11 iterations on some snapshots
    eval_metric: str = "Logloss"
    early_stopping_rounds: int = 50
    rf_trees: int = 100
    rf_min_samples_leaf: int = 10
    #: share of the training rows each tree is grown on (None: a full-size bootstrap)
    rf_max_samples: float | None = 0.3
    embargo_days: int = 0
    #: out-of-time split: the latest `test_periods` labelled periods are the test set, the
    #: `valid_periods` before them (after the embargo) the validation set, older ones train
    valid_periods: int = 1
    test_periods: int = 1
    capacity: int | None = None
    #: watch band: calibrated probability >= watch_lift x the validation churn rate
    watch_lift: float = 2.0
    #: probability calibration fitted on the validation scores: "sigmoid" (Platt) or "isotonic"
    calibration: str = "sigmoid"
    #: refit on every labelled row (iterations from early stopping) and score with that model
    refit: bool = True
    bootstrap_resamples: int = 200
    max_false_positive_rate: float = 0.05
    rules: tuple[Rule, ...] = field(default=SEED_004_RULES)
    #: feature groups whose worth is measured: CatBoost is refit without each group on the same
    #: split and compared with the full model (paired customer bootstrap on the test set)
    ablations: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def catboost_params(self) -> dict[str, Any]:
        return {
            "iterations": self.iterations,
            "learning_rate": self.learning_rate,
            "depth": self.depth,
            "l2_leaf_reg": self.l2_leaf_reg,
            "loss_function": "Logloss",
            "eval_metric": self.eval_metric,
            "random_seed": self.seed,
            "thread_count": self.thread_count,
            "od_type": "Iter",
            "od_wait": self.early_stopping_rounds,
            "use_best_model": True,
        }

    def as_json(self) -> dict[str, Any]:
        values = asdict(self)
        values["rules"] = [f"{r.name}: {r.describe()}" for r in self.rules]
        values["ablations"] = {name: list(columns) for name, columns in self.ablations}
        return values


@dataclass
class TrainResult:
    model: CatBoostClassifier
    dataset: Dataset
    split: Split
    config: TrainConfig
    metrics: dict[str, Any]
    test_scores: pd.DataFrame
    bands: RiskBands | None = None
    #: maps the evaluated model's raw scores to probabilities (fitted on validation)
    calibrator: Calibrator | None = None
    #: the model that scores: refit on all labelled rows with the early-stopped iteration count
    production_model: CatBoostClassifier | None = None
    #: maps the production model's raw scores (fitted on the evaluated model's out-of-time
    #: validation + test scores, the held-out rows it has)
    production_calibrator: Calibrator | None = None

    @property
    def scoring_model(self) -> CatBoostClassifier:
        return self.production_model if self.production_model is not None else self.model

    @property
    def scoring_calibrator(self) -> Calibrator | None:
        if self.production_model is not None:
            return self.production_calibrator
        return self.calibrator


def make_split(dataset: Dataset, config: TrainConfig) -> Split:
    """Out-of-time when the data set has a time column, stratified random otherwise."""
    labelled = dataset.labelled
    if dataset.spec.time_column:
        return out_of_time_split(
            labelled[dataset.spec.time_column],
            n_valid_periods=config.valid_periods,
            n_test_periods=config.test_periods,
            embargo_days=config.embargo_days,
        )
    return stratified_split(labelled[dataset.spec.target_column].astype(int), seed=config.seed)


def fit_catboost(
    x: pd.DataFrame, y: pd.Series, split: Split, categorical: list[str], config: TrainConfig
) -> CatBoostClassifier:
    model = CatBoostClassifier(**config.catboost_params(), allow_writing_files=False, verbose=False)
    train = Pool(x.loc[split.train], y.loc[split.train], cat_features=categorical)
    valid = Pool(x.loc[split.valid], y.loc[split.valid], cat_features=categorical)
    model.fit(train, eval_set=valid)
    return model


def refit_catboost(
    x: pd.DataFrame, y: pd.Series, categorical: list[str], config: TrainConfig, iterations: int
) -> CatBoostClassifier:
    """The production model: the same settings on every labelled row, `iterations` trees (the
    early-stopped count of the evaluated model; nothing is left to stop on)."""
    params = config.catboost_params()
    for key in ("od_type", "od_wait", "use_best_model"):
        params.pop(key)
    params["iterations"] = iterations
    model = CatBoostClassifier(**params, allow_writing_files=False, verbose=False)
    model.fit(Pool(x, y, cat_features=categorical))
    return model


def train(dataset: Dataset, config: TrainConfig | None = None) -> TrainResult:
    """Split, fit CatBoost and every baseline, and evaluate them all."""
    config = config or TrainConfig()
    spec = dataset.spec
    labelled = dataset.labelled
    y = labelled[spec.target_column].astype(int)
    x = model_input(labelled, dataset.feature_columns, dataset.categorical_columns, dataset.source)
    split = make_split(dataset, config)
    seconds: dict[str, float] = {}
    scores: dict[str, dict[str, np.ndarray]] = {}
    notes: dict[str, list[str]] = {}

    started = time.perf_counter()
    model = fit_catboost(x, y, split, dataset.categorical_columns, config)
    seconds["catboost"] = time.perf_counter() - started
    scores["catboost"] = _predict(model.predict_proba, x, split)

    sklearn_models = {
        "logistic_regression": baselines.logistic_regression(
            dataset.categorical_columns, dataset.numeric_columns, config.seed
        ),
        "random_forest": baselines.random_forest(
            dataset.categorical_columns,
            dataset.numeric_columns,
            config.seed,
            config.rf_trees,
            config.thread_count,
            config.rf_min_samples_leaf,
            config.rf_max_samples,
        ),
        "prior": baselines.prior(),
    }
    for name, estimator in sklearn_models.items():
        with threadpool_limits(limits=1):
            started = time.perf_counter()
            estimator.fit(x.loc[split.train], y.loc[split.train])
            if name == "random_forest":
                # a parallel predict_proba adds the trees up in thread order: last-bit differences
                estimator.set_params(model__n_jobs=1)
            seconds[name] = time.perf_counter() - started
            scores[name] = _predict(estimator.predict_proba, x, split)

    rule = RuleBaseline(config.rules)
    skipped_reason = rule.applicability(list(labelled.columns))
    if skipped_reason is None:
        started = time.perf_counter()
        rule.fit(labelled.loc[split.train], y.loc[split.train].to_numpy())
        seconds["rule"] = time.perf_counter() - started
        scores["rule"] = _predict(rule.predict_proba, labelled, split)
        notes["rule"] = rule.notes()

    calibrator = fit_calibrator(
        scores["catboost"]["valid"], y.loc[split.valid].to_numpy(), config.calibration
    )
    calibrated = {part: calibrator.transform(v) for part, v in scores["catboost"].items()}
    test_scores = _test_frame(labelled, split, spec, config, scores)
    test_scores["probability_catboost"] = calibrated["test"]
    valid_scores = labelled.loc[split.valid, [spec.id_column]].assign(
        score_catboost=scores["catboost"]["valid"]
    )
    metrics = _metrics(
        dataset, split, y, model, config, scores, seconds, notes, test_scores, valid_scores
    )
    metrics["probability_calibration"] = _calibration_metrics(
        calibrator, split, y, scores["catboost"], calibrated
    )
    if skipped_reason is not None:
        metrics["models"]["rule"] = {"skipped": skipped_reason}
    bands = None
    if config.capacity is not None:
        bands = _risk_bands(split, y, calibrated, config)
        metrics["risk_bands"] = {
            **bands.as_json(),
            **{
                part: bands.summary(
                    calibrated[part],
                    y.loc[getattr(split, part)].to_numpy(),
                    max(1, len(split.periods.get(part, []))),
                )
                for part in ("valid", "test")
            },
        }
    result = TrainResult(model, dataset, split, config, metrics, test_scores, bands, calibrator)
    ablations = _ablations(dataset, x, y, split, config, scores["catboost"]["test"], test_scores)
    if ablations:
        metrics["ablations"] = ablations
    if config.refit:
        _refit(result, x, y, scores["catboost"])
    return result


def _ablations(
    dataset: Dataset,
    x: pd.DataFrame,
    y: pd.Series,
    split: Split,
    config: TrainConfig,
    full_test_scores: np.ndarray,
    test_scores: pd.DataFrame,
) -> dict[str, Any]:
    """Per feature group: CatBoost refit without it (same split, settings and early stopping),
    its test metrics, and the full model minus it with a paired customer-bootstrap interval."""
    y_test = y.loc[split.test].to_numpy()
    customers = test_scores[dataset.spec.id_column].to_numpy()
    result: dict[str, Any] = {}
    for name, group in config.ablations:
        dropped = [c for c in group if c in dataset.feature_columns]
        if not dropped:
            result[name] = {"skipped": "none of its columns is a feature"}
            continue
        kept = [c for c in dataset.feature_columns if c not in dropped]
        categorical = [c for c in dataset.categorical_columns if c in kept]
        started = time.perf_counter()
        model = fit_catboost(x[kept], y, split, categorical, config)
        without = model.predict_proba(x.loc[split.test, kept])[:, 1]
        result[name] = {
            "dropped": dropped,
            "fit_seconds": round(time.perf_counter() - started, 3),
            "test": evaluate.binary_metrics(y_test, without, config.capacity),
            "comparison": evaluate.paired_bootstrap(
                y_test,
                full_test_scores,
                {name: without},
                seed=config.seed,
                resamples=config.bootstrap_resamples,
                groups=customers,
            )[name],
        }
    return result


def _refit(result: TrainResult, x: pd.DataFrame, y: pd.Series, raw: dict[str, np.ndarray]) -> None:
    """Production model on every labelled row; its calibrator on the evaluated model's
    out-of-time scores of the validation and test rows."""
    config, split = result.config, result.split
    iterations = int(result.model.get_best_iteration() or 0) + 1
    started = time.perf_counter()
    result.production_model = refit_catboost(
        x, y, result.dataset.categorical_columns, config, iterations
    )
    held_out = np.concatenate([raw["valid"], raw["test"]])
    held_out_y = np.concatenate([y.loc[split.valid].to_numpy(), y.loc[split.test].to_numpy()])
    result.production_calibrator = fit_calibrator(held_out, held_out_y, config.calibration)
    result.metrics["production"] = {
        "scored_with": "production",
        "iterations": iterations,
        "training_rows": len(y),
        "training_periods": sorted(
            {
                *split.periods.get("train", []),
                *split.periods.get("valid", []),
                *split.periods.get("test", []),
            }
        ),
        "fit_seconds": round(time.perf_counter() - started, 3),
        "calibrator": result.production_calibrator.as_json(),
    }


def _calibration_metrics(
    calibrator: Calibrator,
    split: Split,
    y: pd.Series,
    raw: dict[str, np.ndarray],
    calibrated: dict[str, np.ndarray],
) -> dict[str, Any]:
    """ECE, Brier and mean predicted vs observed, before and after calibration, per part; the
    reliability table of the test part before and after."""
    parts: dict[str, Any] = {}
    for part in ("valid", "test"):
        labels = y.loc[getattr(split, part)].to_numpy()
        parts[part] = {
            "observed_rate": float(labels.mean()),
            **{
                stage: {
                    "ece": evaluate.expected_calibration_error(labels, values[part]),
                    "brier": float(np.mean((values[part] - labels) ** 2)),
                    "mean_predicted": float(np.mean(values[part])),
                }
                for stage, values in (("before", raw), ("after", calibrated))
            },
        }
    y_test = y.loc[split.test].to_numpy()
    return {
        "calibrator": calibrator.as_json(),
        **parts,
        "reliability_test": {
            "before": evaluate.calibration_table(y_test, raw["test"]),
            "after": evaluate.calibration_table(y_test, calibrated["test"]),
        },
    }


def _risk_bands(
    split: Split, y: pd.Series, calibrated: dict[str, np.ndarray], config: TrainConfig
) -> RiskBands:
    periods = max(1, len(split.periods.get("valid", [])))
    return choose_bands(
        calibrated["valid"],
        y.loc[split.valid].to_numpy(),
        int(config.capacity or 0),
        periods,
        config.watch_lift,
    )


def _predict(predict_proba: Any, x: pd.DataFrame, split: Split) -> dict[str, np.ndarray]:
    return {part: predict_proba(x.loc[getattr(split, part)])[:, 1] for part in ("valid", "test")}


def _test_frame(
    labelled: pd.DataFrame,
    split: Split,
    spec: Any,
    config: TrainConfig,
    scores: dict[str, dict[str, np.ndarray]],
) -> pd.DataFrame:
    keep = [spec.id_column, spec.target_column]
    keep += [c for c in (spec.time_column, spec.churn_date_column) if c]
    frame = labelled.loc[split.test, keep].copy()
    frame[spec.target_column] = frame[spec.target_column].astype(int)
    for name, parts in scores.items():
        frame[f"score_{name}"] = parts["test"]
    return frame


def _metrics(
    dataset: Dataset,
    split: Split,
    y: pd.Series,
    model: CatBoostClassifier,
    config: TrainConfig,
    scores: dict[str, dict[str, np.ndarray]],
    seconds: dict[str, float],
    notes: dict[str, list[str]],
    test_scores: pd.DataFrame,
    valid_scores: pd.DataFrame,
) -> dict[str, Any]:
    y_test = y.loc[split.test].to_numpy()
    customers = test_scores[dataset.spec.id_column].to_numpy()
    models: dict[str, Any] = {}
    for name, parts in scores.items():
        models[name] = {
            part: evaluate.binary_metrics(
                y.loc[getattr(split, part)].to_numpy(), values, config.capacity
            )
            for part, values in parts.items()
        }
        models[name]["fit_seconds"] = round(seconds[name], 3)
        if name in notes:
            models[name]["notes"] = notes[name]
    importance = model.get_feature_importance(type="PredictionValuesChange")
    ranked = sorted(
        zip(dataset.feature_columns, importance, strict=True), key=lambda item: -item[1]
    )
    return {
        "dataset": {
            "source": dataset.source,
            "id_column": dataset.spec.id_column,
            "target_column": dataset.spec.target_column,
            "time_column": dataset.spec.time_column,
            "rows": len(dataset.frame),
            "labelled_rows": len(dataset.labelled),
            "positive_rate": float(y.mean()),
            "fingerprint_sha256": dataset.fingerprint(),
            "features": dataset.feature_columns,
            "categorical_features": dataset.categorical_columns,
            "dropped_columns": dataset.dropped_columns,
        },
        "split": split.summary(y),
        "catboost": {"best_iteration": int(model.get_best_iteration() or 0)},
        "models": models,
        "calibration": {
            name: evaluate.calibration_table(y_test, parts["test"])
            for name, parts in scores.items()
            if name != "prior"
        },
        "lift": {"catboost": evaluate.lift_table(y_test, scores["catboost"]["test"])},
        "comparison": evaluate.paired_bootstrap(
            y_test,
            scores["catboost"]["test"],
            {
                name: parts["test"]
                for name, parts in scores.items()
                if name not in ("catboost", "prior")
            },
            seed=config.seed,
            resamples=config.bootstrap_resamples,
            groups=customers,
        ),
        "test_intervals": {
            "resampled": "customers",
            "customers": int(pd.Series(customers).nunique()),
            **evaluate.metric_intervals(
                y_test,
                scores["catboost"]["test"],
                customers,
                config.bootstrap_resamples,
                config.seed,
            ),
        },
        "feature_importance": [{"feature": f, "importance": round(float(v), 4)} for f, v in ranked],
        "early_warning": _early_warning(dataset, config, test_scores, valid_scores, y, split),
        "config": config.as_json(),
    }


def _early_warning(
    dataset: Dataset,
    config: TrainConfig,
    test_scores: pd.DataFrame,
    valid_scores: pd.DataFrame,
    y: pd.Series,
    split: Split,
) -> dict[str, Any]:
    """Share of test churners flagged >= 30 days ahead, at the threshold that keeps the
    false-positive rate <= max_false_positive_rate on the validation rows (never the test
    rows)."""
    spec = dataset.spec
    if not spec.time_column or not spec.churn_date_column:
        return {
            "status": "n/a",
            "reason": "needs snapshot dates (time column) and a churn date column",
        }
    threshold = evaluate.threshold_at_fpr(
        y.loc[split.valid].to_numpy(),
        valid_scores["score_catboost"].to_numpy(),
        config.max_false_positive_rate,
    )
    result = evaluate.early_warning(
        test_scores,
        spec.id_column,
        spec.time_column,
        spec.churn_date_column,
        "score_catboost",
        spec.target_column,
        max_fpr=config.max_false_positive_rate,
        threshold=threshold,
    )
    return {"status": "ok", "threshold_chosen_on": "valid", **result}
