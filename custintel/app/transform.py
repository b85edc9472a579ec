"""The Python API over the SQLMesh project in `sqlmesh/`: apply, preview, unit tests, audits.

Builds are pinned to the landing data, not to the clock: the SQLMesh execution time of a build
is the day after the landing data's last date (`as_of + 1 day`, midnight). SQLMesh therefore
marks daily intervals processed exactly up to the data, `@execution_ds` (the future-date rule
of staging) means "after the as-of date", a second apply with nothing new finds no missing
interval, and a new month of landing data is a new month of intervals. Production plans cannot
take an explicit end date in SQLMesh ("The start and end dates can't be set for a production
plan without restatements"); the execution time bounds them instead, for prod and dev alike.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType

from sqlglot import exp
from sqlmesh import Context
from sqlmesh.core.console import Console, NoopConsole, TerminalConsole, get_console, set_console
from sqlmesh.core.plan import Plan
from sqlmesh.core.snapshot import Snapshot, SnapshotChangeCategory
from sqlmesh.utils.date import to_datetime
from sqlmesh.utils.errors import NodeAuditsErrors, SQLMeshError

from custintel.app.faults import checkpoint
from custintel.core.landing.as_of import landing_as_of_date
from custintel.core.settings import Settings

PROD = "prod"
#: the external model the churn scores are declared as (owned by ml/)
CHURN_SCORES_MODEL = "ml.churn_scores"

_CATEGORY_NAMES: dict[SnapshotChangeCategory, str] = {
    SnapshotChangeCategory.BREAKING: "breaking",
    SnapshotChangeCategory.NON_BREAKING: "non-breaking",
    SnapshotChangeCategory.FORWARD_ONLY: "forward-only",
    SnapshotChangeCategory.INDIRECT_BREAKING: "indirect breaking",
    SnapshotChangeCategory.INDIRECT_NON_BREAKING: "indirect non-breaking",
    SnapshotChangeCategory.METADATA: "metadata",
}


class TransformError(RuntimeError):
    """A SQLMesh build could not run or failed; the message names the models and the cause."""


@dataclass(frozen=True)
class ModelChange:
    """One model a plan would change, with SQLMesh's change category."""

    model: str
    change: str  # added | removed | directly modified | indirectly modified
    category: str  # breaking | non-breaking | indirect breaking | ... | uncategorized


@dataclass(frozen=True)
class EvaluatedBatch:
    """One batch of intervals SQLMesh evaluated for a model: [start, end), and how long it took
    (SQLMesh's own measure, audits included)."""

    model: str
    start: dt.datetime
    end: dt.datetime
    seconds: float | None = None

    @property
    def days(self) -> int:
        return (self.end - self.start).days


@dataclass
class ApplySummary:
    """What an apply changed and which model intervals it evaluated."""

    environment: str
    as_of: dt.date
    changes: list[ModelChange] = field(default_factory=list)
    evaluated: list[EvaluatedBatch] = field(default_factory=list)

    @property
    def execution_time(self) -> dt.datetime:
        return execution_time_for(self.as_of)

    @property
    def models_evaluated(self) -> set[str]:
        return {batch.model for batch in self.evaluated}

    @property
    def did_work(self) -> bool:
        return bool(self.evaluated)

    def seconds_by_schema(self) -> dict[str, float]:
        """Evaluation seconds summed per schema (staging, quarantine, warehouse, marts)."""
        totals: dict[str, float] = {}
        for batch in self.evaluated:
            schema = batch.model.split(".")[0]
            totals[schema] = totals.get(schema, 0.0) + (batch.seconds or 0.0)
        return totals

    def batches(self, model: str) -> list[EvaluatedBatch]:
        """The batches evaluated for one model (`schema.table`), in start order."""
        return sorted((b for b in self.evaluated if b.model == model), key=lambda b: b.start)


@dataclass(frozen=True)
class UnitTestSummary:
    tests_run: int
    failures: list[str]

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class AuditOutcome:
    model: str
    audit: str
    failed_rows: int

    @property
    def passed(self) -> bool:
        return self.failed_rows == 0


def execution_time_for(as_of: dt.date) -> dt.datetime:
    """The SQLMesh execution time of a build whose landing data ends on `as_of`."""
    return dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())


def short_name(fqn: str) -> str:
    """`"novacom"."warehouse"."dim_customer"` -> `warehouse.dim_customer`."""
    table = exp.to_table(fqn)
    return f"{table.db}.{table.name}"


def describe_failure(error: Exception) -> list[str]:
    """Readable lines for a failed model: each failed audit with its model and row count."""
    cause = error.__cause__ or error
    if isinstance(cause, NodeAuditsErrors):
        return [
            f"{short_name(audit.model.fqn) if audit.model else '?'}: audit {audit.audit_name} "
            f"failed on {audit.count} row(s)"
            for audit in cause.errors
        ]
    return [f"{error}: {cause}"]


class _Recording:
    """Console mix-in recording evaluated model batches and failed models."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.evaluated: list[EvaluatedBatch] = []
        self.failures: list[str] = []

    def update_snapshot_evaluation_progress(
        self, snapshot: Snapshot, interval: tuple[int, int], *args: object, **kwargs: object
    ) -> None:
        if not kwargs.get("audit_only", False):
            start, end = (to_datetime(value).replace(tzinfo=None) for value in interval)
            duration_ms = args[1] if len(args) > 1 else kwargs.get("duration_ms")
            seconds = duration_ms / 1000 if isinstance(duration_ms, int | float) else None
            self.evaluated.append(EvaluatedBatch(short_name(snapshot.name), start, end, seconds))
        super().update_snapshot_evaluation_progress(snapshot, interval, *args, **kwargs)
        checkpoint(f"sqlmesh:{short_name(snapshot.name).split('.')[0]}")

    def log_failed_models(self, errors: list) -> None:
        self.failures.extend(line for error in errors for line in describe_failure(error))
        super().log_failed_models(errors)


class RecordingConsole(_Recording, NoopConsole):
    """Quiet console that records what SQLMesh evaluated."""


class RecordingTerminalConsole(_Recording, TerminalConsole):
    """SQLMesh's terminal progress display, recording what it evaluated."""


@cache
def _project_config_module(config_path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location("custintel_sqlmesh_config", config_path)
    if spec is None or spec.loader is None:
        raise TransformError(f"cannot load the SQLMesh config {config_path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def _using_console(console: Console) -> Iterator[None]:
    previous = get_console()
    set_console(console)
    try:
        yield
    finally:
        set_console(previous)


def context(settings: Settings, gateway: str | None = None) -> Context:
    """A SQLMesh Context on the project in settings.sqlmesh_path, configured from `settings`.

    The config comes from `build_config(settings)` in the project's config.py, so SQLMesh run
    by hand in that folder and custintel use the same gateways. Close it when done (DuckDB
    allows one writer per file).
    """
    config_file = settings.sqlmesh_path / "config.py"
    if not config_file.is_file():
        raise TransformError(f"no SQLMesh project config at {config_file}")
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    settings.state_path.parent.mkdir(parents=True, exist_ok=True)
    config = _project_config_module(str(config_file)).build_config(settings)
    return Context(paths=[settings.sqlmesh_path], config=config, gateway=gateway)


def _resolve_as_of(settings: Settings, as_of: dt.date | None) -> dt.date:
    as_of = as_of or landing_as_of_date(settings.warehouse_path)
    if as_of is None:
        raise TransformError(
            f"no landing data in {settings.warehouse_path}: load the landing files first"
        )
    return as_of


def _category(snapshot: Snapshot) -> str:
    if snapshot.change_category is None:
        return "uncategorized"
    return _CATEGORY_NAMES[snapshot.change_category]


def plan_changes(plan: Plan) -> list[ModelChange]:
    """The models a plan adds, removes or modifies, with their change categories."""
    diff = plan.context_diff
    changes = [
        ModelChange(short_name(diff.snapshots[s_id].name), "added", _category(diff.snapshots[s_id]))
        for s_id in diff.added
        if diff.snapshots[s_id].is_model and not diff.snapshots[s_id].is_external
    ]
    changes += [
        ModelChange(short_name(info.name), "removed", "breaking")
        for info in diff.removed_snapshots.values()
    ]
    for name, (new, _old) in diff.modified_snapshots.items():
        kind = "directly modified" if diff.directly_modified(name) else "indirectly modified"
        changes.append(ModelChange(short_name(name), kind, _category(new)))
    return sorted(changes, key=lambda change: (change.change, change.model))


def _failure(action: str, recorder: _Recording, error: Exception | None = None) -> TransformError:
    details = "\n".join(recorder.failures) or str(error)
    return TransformError(f"SQLMesh {action} failed:\n{details}")


def apply(
    settings: Settings,
    environment: str = PROD,
    as_of: dt.date | None = None,
    *,
    gateway: str | None = None,
    run_tests: bool = True,
    show_progress: bool = False,
) -> ApplySummary:
    """Plan and apply the project to an environment without prompts (the plan backfills every
    missing interval up to the execution time).

    With `run_tests` the SQLMesh unit tests run first and a failure stops before any change.

    `as_of` is the landing data's last date (read from the warehouse when None). A non-prod
    environment is a SQLMesh virtual environment: changed models are built in `<schema>__<env>`,
    unchanged ones point at prod's tables, and prod is left untouched.
    """
    as_of = _resolve_as_of(settings, as_of)
    execution_time = execution_time_for(as_of)
    recorder = RecordingTerminalConsole() if show_progress else RecordingConsole()
    summary = ApplySummary(environment=environment, as_of=as_of)
    with _using_console(recorder):
        ctx = context(settings, gateway)
        try:
            if run_tests:
                _raise_on_failed_tests(_unit_tests(ctx))
            plan = ctx.plan(
                environment,
                execution_time=execution_time,
                no_prompts=True,
                auto_apply=True,
                no_diff=True,
                skip_tests=True,
                include_unmodified=environment != PROD,
            )
            summary.changes = plan_changes(plan)
        except SQLMeshError as exc:
            raise _failure(f"apply to '{environment}'", recorder, exc) from exc
        finally:
            ctx.close()
    if recorder.failures:
        raise _failure(f"apply to '{environment}'", recorder)
    summary.evaluated = list(recorder.evaluated)
    return summary


def preview(settings: Settings, environment: str = PROD) -> list[ModelChange]:
    """The changes applying the project to `environment` would make (nothing is applied)."""
    with _using_console(RecordingConsole()):
        ctx = context(settings)
        try:
            builder = ctx.plan_builder(
                environment, skip_tests=True, include_unmodified=environment != PROD
            )
            return plan_changes(builder.build())
        finally:
            ctx.close()


def restate(
    settings: Settings,
    models: list[str],
    as_of: dt.date | None = None,
    start: dt.date | None = None,
) -> ApplySummary:
    """Rebuild `models` and everything downstream of them in prod from `start` (default: the
    whole history) to the as-of date. FULL models (staging, dims, quarantine, small marts) are
    rebuilt whole; incremental ones re-process their intervals from `start`, widened by their
    lookback. `models` may be landing tables (`landing.<system>__<table>`, external models):
    then every model reading them is restated."""
    return _restate_if(settings, models, as_of, only_with_consumers=False, start=start)


def refresh_score_consumers(settings: Settings, as_of: dt.date | None = None) -> ApplySummary:
    """Rebuild the models reading the churn scores after ml/ has rewritten them.

    Does nothing (an empty summary) while no model of the project reads `ml.churn_scores`.
    """
    return _restate_if(settings, [CHURN_SCORES_MODEL], as_of, only_with_consumers=True)


def _has_consumers(ctx: Context, models: list[str]) -> bool:
    for name in models:
        model = ctx.get_model(name)
        if model is not None and ctx.dag.downstream(model.fqn):
            return True
    return False


def _restate_if(
    settings: Settings,
    models: list[str],
    as_of: dt.date | None,
    *,
    only_with_consumers: bool,
    start: dt.date | None = None,
) -> ApplySummary:
    """Restate `models` in one SQLMesh context (loading the project costs seconds); with
    `only_with_consumers`, only when some model reads them."""
    as_of = _resolve_as_of(settings, as_of)
    recorder = RecordingConsole()
    summary = ApplySummary(environment=PROD, as_of=as_of)
    with _using_console(recorder):
        ctx = context(settings)
        try:
            if only_with_consumers and not _has_consumers(ctx, models):
                return summary
            execution_time = execution_time_for(as_of)
            ctx.plan(
                PROD,
                restate_models=models,
                start=max(start or settings.sqlmesh.start, settings.sqlmesh.start),
                end=execution_time,
                execution_time=execution_time,
                no_prompts=True,
                auto_apply=True,
                no_diff=True,
                skip_tests=True,
            )
        except SQLMeshError as exc:
            raise _failure("restatement", recorder, exc) from exc
        finally:
            ctx.close()
    if recorder.failures:
        raise _failure("restatement", recorder)
    summary.evaluated = list(recorder.evaluated)
    return summary


def _unit_tests(ctx: Context) -> UnitTestSummary:
    result = ctx.test(stream=io.StringIO())
    failures = [f"{test}: {trace}" for test, trace in [*result.failures, *result.errors]]
    return UnitTestSummary(tests_run=result.testsRun, failures=failures)


def _raise_on_failed_tests(summary: UnitTestSummary) -> None:
    if not summary.passed:
        details = "\n".join(summary.failures)
        raise TransformError(f"SQLMesh unit tests failed, nothing was applied:\n{details}")


def run_unit_tests(settings: Settings) -> UnitTestSummary:
    """Run the SQLMesh YAML unit tests in sqlmesh/tests (on an in-memory DuckDB)."""
    with _using_console(RecordingConsole()):
        ctx = context(settings)
        try:
            return _unit_tests(ctx)
        finally:
            ctx.close()


def run_audits(
    settings: Settings, models: list[str] | None = None, as_of: dt.date | None = None
) -> list[AuditOutcome]:
    """Run the audits of the project's models against prod's tables; one outcome per audit."""
    as_of = _resolve_as_of(settings, as_of)
    execution_time = execution_time_for(as_of)
    outcomes: list[AuditOutcome] = []
    with _using_console(RecordingConsole()):
        ctx = context(settings)
        try:
            names = models or [s.name for s in ctx.snapshots.values() if s.is_model]
            for name in names:
                snapshot = ctx.get_snapshot(name, raise_if_missing=True)
                for result in ctx.snapshot_evaluator.audit(
                    snapshot=snapshot,
                    start=settings.sqlmesh.start,
                    end=execution_time,
                    execution_time=execution_time,
                    snapshots=ctx.snapshots,
                ):
                    if not result.skipped:
                        model = short_name(snapshot.name)
                        outcomes.append(AuditOutcome(model, result.audit.name, result.count or 0))
        finally:
            ctx.close()
    return outcomes
