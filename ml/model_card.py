"""Markdown model card rendered from a version's manifest and metrics JSON (nothing else)."""

from __future__ import annotations

from typing import Any

from custintel.core.model_registry import METRIC_LABELS, ordered_models
from ml.reliability_chart import CHART_FILE as RELIABILITY_CHART_FILE
from ml.uplift import uplift_markdown

METRIC_COLUMNS = tuple(METRIC_LABELS.items())
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
    return ordered_models(models)


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
        f"{label} ({first[part]['capacity']})" if key == "precision_at_capacity" else label
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
    verdicts = {
        name: {metric: values[metric]["verdict"] for metric in ("roc_auc", "pr_auc")}
        for name, values in comparison.items()
    }
    sentences = []
    for outcome in ("beats", "ties", "loses"):
        names = [
            f"`{name}` ("
            + ", ".join(m.replace("_", "-").upper() for m, v in by.items() if v == outcome)
            + ")"
            for name, by in verdicts.items()
            if outcome in by.values()
        ]
        if names:
            word = {"beats": "beats", "ties": "ties with", "loses": "loses to"}[outcome]
            sentences.append(f"CatBoost {word} {', '.join(names)}")
    beats_all = all(v == "beats" for by in verdicts.values() for v in by.values())
    verdict = (
        "CatBoost beats every baseline on test ROC-AUC and PR-AUC beyond the bootstrap noise."
        if beats_all
        else "; ".join(sentences) + "."
    )
    rows = [
        [
            f"`{name}`",
            _interval(values["roc_auc"]),
            values["roc_auc"]["verdict"],
            _interval(values["pr_auc"]),
            values["pr_auc"]["verdict"],
        ]
        for name, values in comparison.items()
    ]
    resamples = next(iter(comparison.values()))["roc_auc"]["resamples"]
    return [
        "## CatBoost vs the baselines (test set)",
        "",
        f"{verdict} Differences are CatBoost minus the baseline, with a 95% interval from "
        f"{resamples} paired bootstrap resamples of the test customers (all snapshots of a "
        "drawn customer together) and the share of resamples in which CatBoost is ahead. The "
        "verdict is `beats` / `loses` only when the interval excludes 0, `ties` otherwise.",
        "",
        *_table(
            ["baseline", "ROC-AUC difference", "verdict", "PR-AUC difference", "verdict"], rows
        ),
    ]


def ablation_section(metrics: dict[str, Any]) -> list[str]:
    """What each measured feature group adds: the full model minus CatBoost refit without it."""
    ablations = metrics.get("ablations")
    if not ablations:
        return []
    rows = []
    for name, values in ablations.items():
        if "skipped" in values:
            rows.append([f"`{name}`", values["skipped"], "", "", ""])
            continue
        gain = {m: values["comparison"][m] for m in ("roc_auc", "pr_auc")}
        rows.append(
            [
                f"`{name}` ({', '.join(f'`{c}`' for c in values['dropped'])})",
                _number(values["test"]["roc_auc"]),
                f"{_interval(gain['roc_auc'])} {gain['roc_auc']['verdict']}",
                _number(values["test"]["pr_auc"]),
                f"{_interval(gain['pr_auc'])} {gain['pr_auc']['verdict']}",
            ]
        )
    return [
        "## Feature groups (test set)",
        "",
        "CatBoost refit without each group on the same split and settings; the gain is the full "
        "model minus that model, with a 95% paired bootstrap interval over the test customers "
        "(`beats` only when the interval excludes 0).",
        "",
        *_table(
            ["group left out", "ROC-AUC without", "ROC-AUC gain", "PR-AUC without", "PR-AUC gain"],
            rows,
        ),
    ]


def intervals_section(metrics: dict[str, Any]) -> list[str]:
    intervals = metrics.get("test_intervals")
    if not intervals:
        return []
    rows = [
        [
            label,
            _number(intervals[key]["value"]),
            f"[{_number(intervals[key]['ci_low'])}, {_number(intervals[key]['ci_high'])}]",
        ]
        for key, label in (("roc_auc", "ROC-AUC"), ("pr_auc", "PR-AUC"))
    ]
    return [
        "## CatBoost test metrics with 95% intervals",
        "",
        f"Bootstrap over the {intervals['customers']} test customers "
        f"({intervals['roc_auc']['resamples']} resamples; a customer's snapshots move together).",
        "",
        *_table(["metric", "test", "95% interval"], rows),
    ]


def hazard_ceiling_section(metrics: dict[str, Any]) -> list[str]:
    found = metrics.get("hazard_ceiling")
    if not found:
        return []
    title = "## Ceiling: the sample generator's churn hazard (test set)"
    if "skipped" in found:
        return [title, "", f"Not evaluated: {found['skipped']}"]
    share = found.get("model_vs_ceiling", {})

    def row(label: str, figures: dict[str, float], key: str | None) -> list[str]:
        ratios = (
            [
                _number(share[key]["roc_auc_ratio"]),
                _number(share[key]["roc_auc_gain_over_chance_ratio"]),
            ]
            if key in share
            else ["-", "-"]
        )
        return [label, _number(figures["roc_auc"]), _number(figures["pr_auc"]), *ratios]

    rows = [
        row(
            "generator hazard without frailty, snapshot month",
            found["snapshot_month"],
            "snapshot_month",
        ),
        row(
            "generator hazard without frailty, the 3 label months",
            found["label_months"],
            "label_months",
        ),
        row(
            "generator hazard with frailty (unobservable), snapshot month",
            found["with_frailty"],
            None,
        ),
    ]
    if "model" in found:
        rows.insert(0, row("CatBoost (this version)", found["model"], None))
    return [
        title,
        "",
        f"The same {found['rows']} test rows ({found['positives']} churners) ranked by the "
        "monthly churn hazard the sample generator drew against (`" + found["manifest"] + "`): "
        "every planted cause and the retention offer's effect, without the per-customer "
        "frailty no column reveals. The snapshot month's hazard is the ceiling: what a perfect "
        "model could know at the snapshot. The 90-day probability over the 3 label months also "
        "uses hazards of months still to come and, after a churn, the churn month's hazard "
        "carried forward; it depends on that filling, so it is no firm bound.",
        "",
        *_table(
            [
                "ranking",
                "ROC-AUC",
                "PR-AUC",
                "CatBoost ROC-AUC / it",
                "CatBoost (ROC-AUC - 0.5) / its",
            ],
            rows,
        ),
    ]


def probability_section(metrics: dict[str, Any], manifest: dict[str, Any]) -> list[str]:
    calibration = metrics.get("probability_calibration")
    if not calibration:
        return []
    calibrator = calibration["calibrator"]
    rows = [
        [
            part,
            stage,
            _number(calibration[part][stage]["ece"], 4),
            _number(calibration[part][stage]["brier"], 4),
            _number(calibration[part][stage]["mean_predicted"], 4),
            _number(calibration[part]["observed_rate"], 4),
        ]
        for part in ("valid", "test")
        for stage in ("before", "after")
    ]
    before = calibration["reliability_test"]["before"]
    after = calibration["reliability_test"]["after"]
    reliability = [
        [
            str(i),
            _number(b["mean_predicted"]),
            _number(b["observed_rate"]),
            _number(a["mean_predicted"]),
            _number(a["observed_rate"]),
        ]
        for i, (b, a) in enumerate(zip(before, after, strict=False), start=1)
    ]
    production = metrics.get("production")
    periods = production["training_periods"] if production else []
    through = (
        f" ({len(periods)} snapshots, through {periods[-1]})" if periods else " (random split)"
    )
    scored = (
        f"Scores come from the **production** model: the same settings refit on all "
        f"{production['training_rows']} labelled rows{through} with "
        f"{production['iterations']} trees (the evaluated model's early-stopped count), its "
        f"probabilities calibrated ({production['calibrator']['method']}) on the evaluated "
        "model's out-of-time validation and test scores. The metrics above are the evaluated "
        "model's; the registry keeps both (model.cbm, production.cbm)."
        if production
        else "Scores come from the evaluated model (no production refit)."
    )
    return [
        "## Probability calibration",
        "",
        f"{calibrator['method']} calibration fitted on the validation scores "
        f"({calibrator['fitted_rows']} rows, {calibrator['fitted_positives']} churners). ECE = "
        "row-weighted mean |observed - predicted| over 10 equal-count bins. Risk bands and "
        "CLV use calibrated probabilities.",
        "",
        *_table(["data", "probabilities", "ECE", "Brier", "mean predicted", "observed rate"], rows),
        "",
        "Reliability on the test set (quantile bins):",
        "",
        f"![Reliability diagram: observed against predicted churn, before and after "
        f"calibration]({RELIABILITY_CHART_FILE})",
        "",
        *_table(
            ["bin", "predicted (raw)", "observed", "predicted (calibrated)", "observed"],
            reliability,
        ),
        "",
        scored,
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
        f"least {warning['lead_days']} days before churning (seed target: 95%). The threshold "
        f"was chosen on the {warning.get('threshold_chosen_on', 'test')} rows.",
    ]


def lifetime_value_section(metrics: dict[str, Any]) -> list[str]:
    """The models CLV stands on: subscription survival and one-off orders."""
    value = metrics.get("lifetime_value")
    if not value:
        return []
    sub = value["subscription"]
    test = sub["test"]
    auc = ", ".join(f"{h} {_number(v)}" for h, v in test["time_dependent_auc"].items())
    lines = [
        "## Lifetime value models",
        "",
        f"- Subscription: {sub['model']} on {len(sub['features'])} features, fitted on the "
        f"training snapshots with lifetimes censored at {sub['train_censored_at']}; on the "
        f"test snapshots ({test['rows']} rows, {test['events']} churns observed) concordance "
        f"{_number(test['concordance'])}, time-dependent AUC {auc}. The scoring model is refit "
        f"on all {sub['production_rows']} snapshot rows; expected remaining months and the "
        "subscription CLV are sums of its S(t) over 36 months.",
    ]
    orders = value.get("orders")
    if orders:
        params = orders["parameters"]
        lines.append(
            f"- One-off orders: BG/NBD (r {params['r']}, alpha {params['alpha']}, a "
            f"{params['a']}, b {params['b']}) + Gamma-Gamma on {orders['customers']} buyers "
            f"before the test period; it predicts {_number(orders['predicted_orders'], 0)} "
            f"orders in the next {orders['holdout_weeks']} weeks, {orders['actual_orders']} "
            f"happened (per-customer correlation {_number(orders['correlation'])})."
        )
    return lines


def action_list_section(metrics: dict[str, Any]) -> list[str]:
    action = metrics.get("action_list")
    if not action:
        return []
    economics = action["economics"]
    rows = [
        [
            f"by {name}",
            _number(action[name]["expected_retained_value"], 0),
            _number(action[name]["realised_retained_value"], 0),
            str(action[name]["churners_reached"]),
        ]
        for name in ("risk", "value")
    ]
    return [
        "## Action list: value ranking vs risk ranking (test set)",
        "",
        f"Two call lists of {action['list_size']} test rows (the capacity x the test months): "
        "the highest calibrated churn probabilities, and the highest expected retained value "
        f"(probability x CLV x save rate {economics['save_rate']} - contact cost "
        f"{economics['contact_cost_amount']}). Realised = churners in the list x CLV x save "
        f"rate - contact cost of everyone called. The lists share {action['overlap']} rows.",
        "",
        *_table(
            ["list", "expected retained value", "realised retained value", "churners reached"], rows
        ),
        "",
        f"Value ranking gains {_number(action['value_gain_expected_retained_value'], 0)} "
        f"expected and {_number(action['value_gain_realised_retained_value'], 0)} realised.",
    ]


def uplift_section(metrics: dict[str, Any]) -> list[str]:
    found = metrics.get("uplift")
    if not found:
        return []
    if "skipped" in found:
        return ["## Uplift of retention offers", "", f"Not evaluated: {found['skipped']}"]
    return uplift_markdown(found).rstrip("\n").split("\n")


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
                    _number(values.get("mean_predicted")),
                    _number(values["churn_rate"]),
                    _number(values["share_of_churners"]),
                ]
            )
    return [
        "## Risk bands (calibrated probabilities)",
        "",
        f"`high` (call) = churn probability >= {_number(bands['high_threshold'], 4)}: the "
        f"{bands['capacity']} highest-scored customers per month on the validation data (the "
        "retention team's capacity). `medium` (watch) = probability >= "
        f"{_number(bands['medium_threshold'], 4)}: {bands['watch_lift']}x the validation churn "
        f"rate {_number(bands['base_rate'], 4)}, beyond the team's capacity. `low` = the rest. "
        "Realised churn rates per band:",
        "",
        *_table(
            [
                "data",
                "band",
                "rows",
                "rows per month",
                "mean predicted",
                "realised churn rate",
                "share of churners",
            ],
            rows,
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
    calibration = metrics.get("probability_calibration")
    if calibration:
        test = calibration["test"]
        notes.append(
            f"Calibrated on the validation snapshot, whose churn rate "
            f"({_number(calibration['valid']['observed_rate'])}) differs from the test one "
            f"({_number(test['observed_rate'])}): calibration fixes the shape, not a base-rate "
            f"drift between months (test ECE {_number(test['before']['ece'], 4)} -> "
            f"{_number(test['after']['ece'], 4)})."
        )
    else:
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
        *_with_gap(intervals_section(metrics)),
        *_with_gap(hazard_ceiling_section(metrics)),
        *_with_gap(comparison_section(metrics)),
        *_with_gap(ablation_section(metrics)),
        *metrics_section(metrics, "valid"),
        "",
        *calibration_section(metrics),
        "",
        *_with_gap(probability_section(metrics, manifest)),
        *lift_section(metrics),
        "",
        *importance_section(metrics),
        "",
        *early_warning_section(metrics),
        "",
        *_with_gap(risk_band_section(metrics)),
        *_with_gap(lifetime_value_section(metrics)),
        *_with_gap(action_list_section(metrics)),
        *_with_gap(uplift_section(metrics)),
        *_with_gap(health_section(metrics)),
        *caveats(manifest, metrics),
        "",
    ]
    return "\n".join(lines)
