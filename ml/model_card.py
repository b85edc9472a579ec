"""Markdown model card rendered from a version's manifest and metrics JSON (nothing else)."""

from __future__ import annotations

from typing import Any

MODEL_ORDER = ("catboost", "random_forest", "logistic_regression", "rule", "prior")
METRIC_COLUMNS = (
    ("roc_auc", "ROC-AUC"),
    ("pr_auc", "PR-AUC"),
    ("brier", "Brier"),
    ("log_loss", "log loss"),
    ("top_decile_lift", "top-10% lift"),
    ("top_decile_recall", "top-10% recall"),
    ("precision_at_top_decile", "precision@top-10%"),
    ("precision_at_capacity", "precision@capacity"),
)
TOP_FEATURES = 15


def _number(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _ordered_models(models: dict[str, Any]) -> list[str]:
    return [m for m in MODEL_ORDER if m in models] + [m for m in models if m not in MODEL_ORDER]


def metrics_section(metrics: dict[str, Any], part: str = "test") -> list[str]:
    models = metrics["models"]
    columns = [
        (key, label)
        for key, label in METRIC_COLUMNS
        if any(key in m.get(part, {}) for m in models.values())
    ]
    rows, skipped = [], []
    for name in _ordered_models(models):
        result = models[name]
        if "skipped" in result:
            skipped.append(f"- `{name}`: {result['skipped']}")
            continue
        rows.append([f"`{name}`"] + [_number(result[part].get(key)) for key, _ in columns])
    first = next(iter(m for m in models.values() if part in m))
    lines = [
        f"## Metrics on the {part} set ({first[part]['rows']} rows, "
        f"{first[part]['positives']} churners)",
        "",
    ]
    if part == "valid":
        lines += [
            "The validation set chose CatBoost's iteration count (early stopping), so its "
            "CatBoost figures are optimistic; compare models on the test set.",
            "",
        ]
    labels = [
        f"precision@{first[part]['capacity']}" if key == "precision_at_capacity" else label
        for key, label in columns
    ]
    lines += _table(["model", *labels], rows)
    if skipped:
        lines += ["", "Not run:"] + skipped
    notes = [n for name in models for n in models[name].get("notes", [])]
    if notes:
        lines += ["", "Rule baseline: " + "; ".join(notes)]
    return lines


def _interval(values: dict[str, float]) -> str:
    return (
        f"{values['difference']:+.3f} [{values['ci_low']:+.3f}, {values['ci_high']:+.3f}], "
        f"ahead in {values['share_ahead']:.0%}"
    )


def comparison_section(metrics: dict[str, Any]) -> list[str]:
    """Does CatBoost beat every baseline on the test set, and by how much beyond noise?"""
    comparison = metrics.get("comparison")
    if not comparison:
        return []
    models = metrics["models"]
    ahead = {
        name: all(
            models["catboost"]["test"][key] > models[name]["test"][key]
            for key in ("roc_auc", "pr_auc")
        )
        for name in comparison
    }
    beaten = [f"`{n}`" for n, yes in ahead.items() if yes]
    not_beaten = [f"`{n}`" for n, yes in ahead.items() if not yes]
    verdict = (
        "CatBoost beats every baseline on test ROC-AUC and PR-AUC in this run."
        if not not_beaten
        else f"CatBoost does not beat {', '.join(not_beaten)} on both test ROC-AUC and PR-AUC "
        f"in this run" + (f" (it does beat {', '.join(beaten)})." if beaten else ".")
    )
    rows = [
        [f"`{name}`", _interval(values["roc_auc"]), _interval(values["pr_auc"])]
        for name, values in comparison.items()
    ]
    resamples = next(iter(comparison.values()))["roc_auc"]["resamples"]
    return [
        "## CatBoost vs the baselines (test set)",
        "",
        f"{verdict} Differences are CatBoost minus the baseline, with a 95% interval from "
        f"{resamples} paired bootstrap resamples of the test rows and the share of resamples "
        "in which CatBoost is ahead: an interval that includes 0 means the test set cannot "
        "tell the two apart.",
        "",
        *_table(["baseline", "ROC-AUC difference", "PR-AUC difference"], rows),
    ]


def calibration_section(metrics: dict[str, Any]) -> list[str]:
    rows = [
        [str(i), _number(b["mean_predicted"]), _number(b["observed_rate"])]
        for i, b in enumerate(metrics["calibration"].get("catboost", []), start=1)
    ]
    return [
        "## Calibration (CatBoost, test set, quantile bins)",
        "",
        *_table(["bin", "mean predicted", "observed churn rate"], rows),
    ]


def lift_section(metrics: dict[str, Any]) -> list[str]:
    rows = [
        [
            str(d["decile"]),
            str(d["rows"]),
            str(d["positives"]),
            _number(d["positive_rate"]),
            _number(d["lift"], 2),
            _number(d["cumulative_recall"]),
        ]
        for d in metrics["lift"]["catboost"]
    ]
    header = ["decile", "rows", "churners", "churn rate", "lift", "cumulative recall"]
    return ["## Lift by score decile (CatBoost, test set)", "", *_table(header, rows)]


def importance_section(metrics: dict[str, Any]) -> list[str]:
    rows = [
        [f"`{f['feature']}`", _number(f["importance"], 2)]
        for f in metrics["feature_importance"][:TOP_FEATURES]
    ]
    return [
        "## Feature importance (CatBoost PredictionValuesChange, top 15)",
        "",
        *_table(["feature", "importance"], rows),
    ]


def early_warning_section(metrics: dict[str, Any]) -> list[str]:
    warning = metrics["early_warning"]
    if warning.get("status") != "ok":
        return ["## Early warning", "", f"n/a: {warning.get('reason', 'not computed')}"]
    return [
        "## Early warning",
        "",
        f"At a flag threshold of {_number(warning['threshold'])} (false-positive rate "
        f"{_number(warning['false_positive_rate'])}, target <= "
        f"{warning['max_false_positive_rate']}), {warning['churners_warned']} of "
        f"{warning['churners']} churners ({_number(warning['share_warned'])}) were flagged at "
        f"least {warning['lead_days']} days before churning (seed target: 95%).",
    ]


def risk_band_section(metrics: dict[str, Any]) -> list[str]:
    bands = metrics.get("risk_bands")
    if not bands:
        return []
    rows = []
    for part in ("valid", "test"):
        for band in ("high", "medium", "low"):
            values = bands[part][band]
            rows.append(
                [
                    part,
                    band,
                    str(values["rows"]),
                    _number(values["rows_per_period"], 1),
                    _number(values["churn_rate"]),
                    _number(values["share_of_churners"]),
                ]
            )
    return [
        "## Risk bands",
        "",
        f"`high` = churn probability >= {_number(bands['high_threshold'], 4)}: the "
        f"{bands['capacity']} highest-scored customers per month on the validation data (the "
        "retention team's capacity). `medium` = probability >= "
        f"{_number(bands['medium_threshold'], 4)}: the band below `high` whose own validation "
        f"churn rate is at least {bands['medium_lift']}x the overall one. `low` = the rest.",
        "",
        *_table(
            ["data", "band", "rows", "rows per month", "churn rate", "share of churners"], rows
        ),
    ]


def health_section(metrics: dict[str, Any]) -> list[str]:
    health = metrics.get("health_score")
    if not health:
        return []
    rows = [
        [
            str(d["decile"]),
            _number(d["min_health"], 1),
            _number(d["max_health"], 1),
            str(d["rows"]),
            _number(d["churn_rate"]),
        ]
        for d in health["deciles"]
    ]
    return [
        "## Health score validation",
        "",
        f"ROC-AUC of the health score (lower = riskier) for churn within 90 days: "
        f"{_number(health['roc_auc'])} on {health['rows']} labelled snapshots "
        f"(CatBoost on the test set: {_number(metrics['models']['catboost']['test']['roc_auc'])}).",
        "",
        *_table(["health decile (1 = lowest)", "min", "max", "rows", "churn rate"], rows),
    ]


def caveats(manifest: dict[str, Any], metrics: dict[str, Any]) -> list[str]:
    notes = []
    split = metrics["split"]
    if not split["strategy"].startswith("out_of_time"):
        notes.append(
            "The split is random, not out-of-time: the test figures show how well the model "
            "separates churners in this table, not how it performs on a future month."
        )
    test = metrics["models"]["catboost"]["test"]
    if test["positives"] < 200:
        notes.append(
            f"The test set holds {test['positives']} churners; differences of a few "
            "hundredths in AUC between models are within sampling noise."
        )
    best = max(
        (m for m in metrics["models"] if "test" in metrics["models"][m]),
        key=lambda m: metrics["models"][m]["test"]["roc_auc"] or 0.0,
    )
    if best != "catboost":
        notes.append(
            f"`{best}` has a higher test ROC-AUC "
            f"({_number(metrics['models'][best]['test']['roc_auc'])} vs "
            f"{_number(test['roc_auc'])}); CatBoost is kept as the production model for its "
            "native categoricals and SHAP reasons, the comparison is reported as measured."
        )
    dropped = metrics["dataset"]["dropped_columns"]
    if dropped:
        notes.append("Dropped columns: " + "; ".join(f"`{c}` ({r})" for c, r in dropped.items()))
    notes.append(
        "Probabilities are CatBoost's own (Logloss objective), not recalibrated; check the "
        "calibration table before using them as absolute churn rates."
    )
    return ["## Caveats", ""] + [f"- {n}" for n in notes]


def _with_gap(lines: list[str]) -> list[str]:
    return [*lines, ""] if lines else []


def render_model_card(manifest: dict[str, Any], metrics: dict[str, Any]) -> str:
    dataset = metrics["dataset"]
    split = metrics["split"]
    params = manifest["parameters"]
    periods = "".join(
        f"\n  - {part}: {len(split[part]['periods'])} snapshot(s) "
        f"{split[part]['periods'][0]} .. {split[part]['periods'][-1]}"
        for part in ("train", "valid", "test")
        if split[part]["periods"]
    )
    lines = [
        f"# Model card: {manifest['name']} {manifest['version']}",
        "",
        f"- created: {manifest['created_at']}",
        f"- data: `{dataset['source']}`, {dataset['rows']} rows, {dataset['labelled_rows']} "
        f"labelled, churn rate {_number(dataset['positive_rate'])}",
        f"- columns: id `{dataset['id_column']}`, target `{dataset['target_column']}`, "
        f"time `{dataset['time_column'] or '-'}`",
        f"- training data fingerprint (sha256): `{manifest['training_data_fingerprint_sha256']}`",
        f"- split: {split['strategy']}; train {split['train']['rows']}, valid "
        f"{split['valid']['rows']}, test {split['test']['rows']} rows{periods}",
        f"- CatBoost: best iteration {params['best_iteration']} of "
        f"{params['catboost']['iterations']} (early stopping on validation "
        f"{params['catboost'].get('eval_metric', 'AUC')}), depth {params['catboost']['depth']}, "
        f"L2 {params['catboost'].get('l2_leaf_reg', 3.0)}, "
        f"learning rate {params['catboost']['learning_rate']}, "
        f"seed {params['catboost']['random_seed']}, {params['catboost']['thread_count']} threads",
        f"- features: {len(manifest['features'])} "
        f"({len(manifest['categorical_features'])} categorical: "
        f"{', '.join(manifest['categorical_features']) or 'none'})",
        "",
        *metrics_section(metrics, "test"),
        "",
        *_with_gap(comparison_section(metrics)),
        *metrics_section(metrics, "valid"),
        "",
        *calibration_section(metrics),
        "",
        *lift_section(metrics),
        "",
        *importance_section(metrics),
        "",
        *early_warning_section(metrics),
        "",
        *_with_gap(risk_band_section(metrics)),
        *_with_gap(health_section(metrics)),
        *caveats(manifest, metrics),
        "",
    ]
    return "\n".join(lines)
