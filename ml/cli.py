"""`custintel ml ...`: train, evaluate and score churn models (mounted by custintel.app.cli)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from custintel.core.console import console
from custintel.core.invocation import cli_settings
from custintel.core.model_registry import METRIC_SHORT_LABELS, ordered_models
from custintel.core.settings import Settings
from ml import gateway
from ml.crossval import CrossValidationError, cross_validate
from ml.dataset import (
    Dataset,
    DatasetError,
    DatasetSpec,
    build_dataset,
    load_dataset,
    read_file,
)
from ml.features import FeatureError
from ml.model_card import METRIC_COLUMNS
from ml.registry import CARD_FILE, Registry, RegistryError
from ml.rules import SEED_004_RULES, Rule, RuleError
from ml.score import evaluate_frame, score_frame
from ml.split import SplitError
from ml.train import TrainConfig, train

app = typer.Typer(
    help="Churn model: train against baselines, evaluate, score.", no_args_is_help=True
)

FileOption = Annotated[Path | None, typer.Option("--file", help="Parquet or CSV file")]
TableOption = Annotated[str | None, typer.Option("--table", help="warehouse table schema.table")]
NameOption = Annotated[str, typer.Option("--name", help="model name in the registry")]
VersionOption = Annotated[str | None, typer.Option("--version", help="version; default latest")]
RegistryOption = Annotated[
    Path | None, typer.Option("--registry", help="registry folder; default from config.yaml")
]

USER_ERRORS = (
    CrossValidationError,
    DatasetError,
    FeatureError,
    RegistryError,
    RuleError,
    SplitError,
)
#: metric columns per table: a model name plus five figures fit in 80 columns
COLUMNS_PER_TABLE = 5


def _fail(error: Exception) -> None:
    console.print(f"[red]error:[/red] {error}")
    raise typer.Exit(code=1)


def _registry(settings: Settings, root: Path | None, name: str) -> Registry:
    return Registry(root or settings.registry_path, name)


def _load(settings: Settings, spec: DatasetSpec, file: Path | None, table: str | None) -> Dataset:
    if table is not None and file is None and settings.sqlmesh.gateway == "spark":
        return build_dataset(gateway.read_table(settings, table), spec, source=table)
    return load_dataset(spec, file=file, table=table, warehouse_path=settings.warehouse_path)


def _metrics_tables(title: str, models: dict[str, Any], part: str) -> list[Table]:
    """The metrics as tables of at most COLUMNS_PER_TABLE figures, so each fits 80 columns
    (figures are never cut to "0.8..."); skipped models listed under the first table."""
    keys = [
        (k, METRIC_SHORT_LABELS[k])
        for k, _ in METRIC_COLUMNS
        if any(k in m.get(part, {}) for m in models.values())
    ]
    ordered = ordered_models(models)
    tables = []
    for start in range(0, max(len(keys), 1), COLUMNS_PER_TABLE):
        chunk = keys[start : start + COLUMNS_PER_TABLE]
        table = Table(title=title if start == 0 else None)
        table.add_column("model", no_wrap=True)
        for _, label in chunk:
            table.add_column(label, justify="right", no_wrap=True, min_width=len(label))
        for name in ordered:
            result = models[name]
            if part not in result:
                continue
            values = [result[part].get(k) for k, _ in chunk]
            table.add_row(name, *["n/a" if v is None else f"{v:.3f}" for v in values])
        tables.append(table)
    return tables


def _print_metrics(title: str, models: dict[str, Any], part: str) -> None:
    for table in _metrics_tables(title, models, part):
        console.print(table)
    for name, result in models.items():
        if part not in result and "skipped" in result:
            console.print(f"not run: {name}: {result['skipped']}")


def _print_roles(dataset: Dataset) -> None:
    spec = dataset.spec
    roles = [f"id {spec.id_column}", f"target {spec.target_column}"]
    roles += [
        f"{role} {column}"
        for role, column in (("time", spec.time_column), ("churn date", spec.churn_date_column))
        if column
    ]
    if spec.exclude:
        roles.append("excluded " + ", ".join(spec.exclude))
    console.print("roles: " + "; ".join(roles))
    numeric = [c for c in dataset.feature_columns if c not in dataset.categorical_columns]
    console.print(
        f"features: {len(numeric)} numeric, {len(dataset.categorical_columns)} "
        f"categorical ({', '.join(dataset.categorical_columns) or 'none'})"
    )
    for column, note in dataset.notes.items():
        console.print(f"note: {column}: {note}")
    for column, reason in dataset.dropped_columns.items():
        console.print(f"dropped: {column}: {reason}")


def _print_cross_validation(result: dict[str, Any]) -> None:
    table = Table(
        title=f"{result['folds']}-fold cross-validation "
        f"({result['rows']} rows, grouped by {result['grouped_by']})"
    )
    table.add_column("model", no_wrap=True)
    for label in ("ROC-AUC mean", "sd", "PR-AUC mean", "sd"):
        table.add_column(label, justify="right", no_wrap=True)
    for name, values in result["models"].items():
        table.add_row(
            name,
            *[
                f"{values[key]:.3f}"
                for key in ("roc_auc_mean", "roc_auc_sd", "pr_auc_mean", "pr_auc_sd")
            ],
        )
    console.print(table)


@app.command("train")
def train_command(
    ctx: typer.Context,
    id_column: Annotated[str, typer.Option("--id", help="customer id column")],
    target: Annotated[str, typer.Option("--target", help="churn label column (yes/no, 1/0)")],
    file: FileOption = None,
    table: TableOption = None,
    time_column: Annotated[
        str | None, typer.Option("--time", help="snapshot date column (out-of-time split)")
    ] = None,
    churn_date: Annotated[
        str | None, typer.Option("--churn-date", help="churn date column (early-warning figure)")
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="column that is not a feature; repeat")
    ] = None,
    positive_label: Annotated[
        str | None,
        typer.Option("--positive-label", help="target value meaning churn; others are 0"),
    ] = None,
    capacity: Annotated[
        int | None,
        typer.Option("--capacity", help="customers the team can contact (precision@capacity)"),
    ] = None,
    cv: Annotated[
        int | None,
        typer.Option("--cv", help="also K-fold cross-validate (mean and sd across folds)"),
    ] = None,
    name: NameOption = "churn",
    rules: Annotated[
        list[str] | None,
        typer.Option("--rule", help="rule baseline indicator [name:]column<op>value; repeat"),
    ] = None,
    embargo_days: Annotated[int, typer.Option(help="gap between split parts (label horizon)")] = 0,
    valid_periods: Annotated[
        int, typer.Option(help="time periods in the validation set (with --time)")
    ] = 1,
    test_periods: Annotated[
        int, typer.Option(help="latest time periods held out as the test set (with --time)")
    ] = 1,
    iterations: Annotated[int, typer.Option(help="max CatBoost iterations")] = 1000,
    seed: Annotated[int | None, typer.Option(help="default: ml.seed from config.yaml")] = None,
    threads: Annotated[int, typer.Option(help="thread count (fixed for determinism)")] = 2,
    registry: RegistryOption = None,
) -> None:
    """Train CatBoost and the baselines on a table, store the model as a new version."""
    settings = cli_settings(ctx)
    try:
        spec = DatasetSpec(
            id_column, target, time_column, churn_date, tuple(exclude or ()), positive_label
        )
        parsed = tuple(Rule.parse(r) for r in rules) if rules else SEED_004_RULES
        config = TrainConfig(
            seed=settings.ml.seed if seed is None else seed,
            thread_count=threads,
            iterations=iterations,
            embargo_days=embargo_days,
            valid_periods=valid_periods,
            test_periods=test_periods,
            capacity=capacity,
            rules=parsed,
        )
        started = time.perf_counter()
        dataset = _load(settings, spec, file, table)
        _print_roles(dataset)
        result = train(dataset, config)
        if cv is not None:
            result.metrics["cross_validation"] = cross_validate(dataset, cv, config)
        version = _registry(settings, registry, name).save(result)
    except USER_ERRORS as error:
        _fail(error)
    _print_metrics(f"{name} {version.version}: test set", result.metrics["models"], "test")
    if cv is not None:
        _print_cross_validation(result.metrics["cross_validation"])
    console.print(
        f"stored {version.path} ({time.perf_counter() - started:.1f} s); "
        f"card: {version.path / CARD_FILE}"
    )


@app.command("evaluate")
def evaluate_command(
    ctx: typer.Context,
    name: NameOption = "churn",
    version: VersionOption = None,
    file: FileOption = None,
    table: TableOption = None,
    registry: RegistryOption = None,
) -> None:
    """Show a version's stored metrics, or evaluate it on another labelled file/table."""
    settings = cli_settings(ctx)
    try:
        store = _registry(settings, registry, name)
        stored = store.load(version) if version else store.latest()
        if file is None and table is None:
            _print_metrics(f"{name} {stored.version}: test set", stored.metrics["models"], "test")
            return
        dataset = _load(settings, stored.spec, file, table)
        target = dataset.frame[stored.spec.target_column]
        result = evaluate_frame(stored, dataset.frame, target, settings.ml.retention_capacity)
    except USER_ERRORS as error:
        _fail(error)
    models = {"catboost": {"data": result["metrics"]}}
    _print_metrics(f"{name} {stored.version} on {dataset.source}", models, "data")
    if dataset.fingerprint() == stored.manifest["training_data_fingerprint_sha256"]:
        console.print(
            "[yellow]note: this is the data the version was trained on (same fingerprint); "
            "the figures are in-sample. The stored test-set metrics: "
            f"custintel ml evaluate --name {name} --version {stored.version}[/yellow]"
        )


@app.command("score")
def score_command(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="output file (.parquet or .csv)")],
    name: NameOption = "churn",
    version: VersionOption = None,
    file: FileOption = None,
    table: TableOption = None,
    registry: RegistryOption = None,
) -> None:
    """Score a file/table with a stored version: probability and top-3 SHAP reasons per row."""
    settings = cli_settings(ctx)
    try:
        store = _registry(settings, registry, name)
        stored = store.load(version) if version else store.latest()
        if (file is None) == (table is None):
            raise DatasetError("give exactly one of --file or --table")
        frame = read_file(file) if file is not None else gateway.read_table(settings, str(table))
        scored = score_frame(stored, frame)
    except USER_ERRORS as error:
        _fail(error)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".csv":
        scored.to_csv(out, index=False)
    else:
        scored.to_parquet(out, index=False)
    console.print(f"scored {len(scored)} rows with {stored.name}/{stored.version} -> {out}")


@app.command("pipeline")
def pipeline_command(ctx: typer.Context) -> None:
    """Train on marts.churn_prediction_features, score the latest snapshot, segment customers,
    write ml.churn_scores and ml.customer_segments (the ML step of `custintel build`)."""
    from ml.pipeline import train_and_score

    settings = cli_settings(ctx)
    try:
        result = train_and_score(settings)
    except USER_ERRORS as error:
        _fail(error)
    bands = result.scores["risk_band"].value_counts().to_dict()
    _print_metrics(
        f"churn {result.version.version}: test set", result.version.metrics["models"], "test"
    )
    console.print(
        f"scored {len(result.scores)} customers at {result.score_date} (bands {bands}); "
        f"{result.segments['segment_name'].nunique()} segments; card: "
        f"{result.version.path / CARD_FILE}"
    )
