"""The main job: sample data -> landing -> SQLMesh warehouse -> churn scores -> report site."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
from rich.table import Table

from custintel.app.build_journal import BuildJournal
from custintel.app.faults import checkpoint
from custintel.app.step_inputs import combine, step_inputs
from custintel.core.console import console, progress_bar
from custintel.core.landing.as_of import landing_as_of_date
from custintel.core.landing.files import is_empty
from custintel.core.landing.loader import LoadReport, landing_state, load_landing
from custintel.core.settings import SampleSettings, Settings

if TYPE_CHECKING:
    from custintel.app.transform import ApplySummary
    from custintel.generate import GenerationReport


#: wraps each step of a build: called with the step's name, its context manager is entered
#: before the step starts and left after its timing is taken (`custintel bench` measures each
#: step's peak memory and copies the loaded warehouse for its floor this way)
StepHook = Callable[[str], AbstractContextManager[object]]


def _no_hook(_name: str) -> AbstractContextManager[object]:
    return nullcontext()


@dataclass(frozen=True)
class BuildOptions:
    landing_path: Path
    environment: str = "prod"
    with_ml: bool = True
    with_reports: bool = True
    #: run every step even when its inputs are unchanged
    force: bool = False
    #: around every step (name, then the step); the default does nothing
    step_hook: StepHook = _no_hook


@dataclass
class BuildResult:
    load: LoadReport | None = None
    transform: ApplySummary | None = None
    timings_seconds: dict[str, float] = field(default_factory=dict)
    #: steps that could not run on this data, with the reason (e.g. too short a history)
    skipped: dict[str, str] = field(default_factory=dict)
    site_path: Path | None = None
    #: the restatement of corrected landing tables, when there was one
    restatement: ApplySummary | None = None
    #: what the journal restored before this build (a killed build), if anything
    recovered: str | None = None


def generate_sample(sample: SampleSettings, out_dir: Path) -> GenerationReport:
    """Write the sample landing data with a progress bar."""
    from custintel.generate import generate_landing

    with progress_bar("generating sample data") as progress:
        return generate_landing(
            out_dir,
            customers=sample.customers,
            months=sample.months,
            start_date=sample.start_date,
            seed=sample.seed,
            defect_rate=sample.defect_rate,
            progress=progress,
        )


@contextmanager
def _timed_step(result: BuildResult, name: str, hook: StepHook = _no_hook) -> Iterator[None]:
    console.rule(f"[bold]{name}")
    with hook(name):
        started = time.perf_counter()
        yield
        result.timings_seconds[name] = time.perf_counter() - started


class LandingShrankError(ValueError):
    """The landing data now ends before the warehouse does (a removed file took its last days)."""


def run_build(settings: Settings, options: BuildOptions) -> BuildResult:
    """Run the whole job as one atomic build; prod builds also train, score and render the site.

    Before anything changes, the warehouse, the SQLMesh state and the model registry are
    snapshot (custintel.app.build_journal): a build that fails is rolled back before the error is
    raised, a build that was killed is rolled back by the next one, which then redoes it. Steps
    whose inputs did not change since the last finished build are skipped (`force` runs them).
    """
    result = BuildResult()
    journal = BuildJournal(settings)
    if recovered := journal.recover():
        result.recovered = recovered
        console.print(f"[yellow]{recovered}[/yellow]", soft_wrap=True)
    if is_empty(options.landing_path):
        with _timed_step(result, "generate", options.step_hook):
            generate_sample(settings.sample, options.landing_path)
    if not options.force and _nothing_new(settings, options, journal, result):
        _print_summary(result)
        return result
    previous = journal.begin()
    result.timings_seconds["snapshot"] = journal.snapshot_seconds
    try:
        steps = _run_steps(settings, options, result, dict(previous.steps))
    except BaseException:
        journal.rollback()
        console.print("[red]build failed: warehouse, SQLMesh state and registry rolled back[/red]")
        raise
    journal.commit(steps)
    _print_summary(result)
    return result


def _nothing_new(
    settings: Settings, options: BuildOptions, journal: BuildJournal, result: BuildResult
) -> bool:
    """True when the landing is what the warehouse holds and every step this build would run
    already ran on the same inputs: then nothing is loaded, copied or run (read-only check)."""
    started = time.perf_counter()
    fingerprint, loaded = landing_state(options.landing_path, settings.warehouse_path)
    inputs = step_inputs(settings, fingerprint, options.environment)
    steps = journal.read().steps
    wanted = {f"sqlmesh:{options.environment}": inputs.sqlmesh}
    if options.environment == "prod" and options.with_ml:
        wanted["ml"] = inputs.ml
    idle = loaded and all(steps.get(step) == value for step, value in wanted.items())
    if idle and options.environment == "prod" and options.with_reports:
        idle = _site_inputs(settings) == combine(inputs.site, steps.get("ml", "no scores"))
    if not idle:
        return False
    result.timings_seconds["check landing (SHA-256)"] = time.perf_counter() - started
    result.skipped["load landing"] = "every landing file is already loaded (same content)"
    result.skipped["sqlmesh"] = "landing data and SQLMesh project unchanged"
    if "ml" in wanted:
        result.skipped["churn model"] = "marts and model code unchanged since the last scores"
    if options.environment == "prod" and options.with_reports:
        result.skipped["report site"] = "warehouse, scores and pages unchanged"
        result.site_path = settings.site_path
    return True


def _previous_as_of(settings: Settings) -> dt.date | None:
    """The as-of date of the warehouse before this build (None: nothing landed yet)."""
    if not settings.warehouse_path.exists():
        return None
    try:
        return landing_as_of_date(settings.warehouse_path)
    except duckdb.Error:
        return None


def _run_steps(
    settings: Settings, options: BuildOptions, result: BuildResult, steps: dict[str, str]
) -> dict[str, str]:
    """Load, SQLMesh (with restatements), churn model, site; the steps' new fingerprints."""
    from custintel.app import transform

    old_as_of = _previous_as_of(settings)
    with (
        _timed_step(result, "load landing", options.step_hook),
        progress_bar("validating landing files") as progress,
    ):
        result.load = load_landing(
            options.landing_path, settings.warehouse_path, progress=progress, force=options.force
        )
    checkpoint("load")
    if settings.sqlmesh.gateway == "spark":
        from custintel.core.landing.spark_tables import publish_landing

        with _timed_step(result, "landing to Spark tables", options.step_hook):
            publish_landing(settings)
    as_of = landing_as_of_date(settings.warehouse_path)
    if as_of is None:
        raise LandingShrankError(f"no landed event data in {options.landing_path}")
    if old_as_of is not None and as_of < old_as_of:
        raise LandingShrankError(
            f"the landing data now ends on {as_of}, the warehouse on {old_as_of}: a removed file "
            "took the latest days away. To rebuild from the landing as it is, delete "
            f"{settings.warehouse_path} and {settings.state_path} and build again"
        )
    inputs = step_inputs(settings, result.load.fingerprint, options.environment)
    sqlmesh_key = f"sqlmesh:{options.environment}"
    if options.force or steps.get(sqlmesh_key) != inputs.sqlmesh:
        _restate_corrections(settings, options, result, old_as_of, as_of)
        with _timed_step(result, f"sqlmesh ({options.environment})", options.step_hook):
            result.transform = transform.apply(
                settings, environment=options.environment, as_of=as_of, show_progress=True
            )
        steps[sqlmesh_key] = inputs.sqlmesh
    else:
        result.skipped["sqlmesh"] = "landing data and SQLMesh project unchanged"
    if options.environment != "prod":
        return steps
    if options.with_ml:
        if options.force or steps.get("ml") != inputs.ml:
            _train_and_score(settings, result, as_of, options.step_hook)
            steps["ml"] = inputs.ml
        else:
            result.skipped["churn model"] = "marts and model code unchanged since the last scores"
    if options.with_reports:
        site_inputs = combine(inputs.site, steps.get("ml", "no scores"))
        if options.force or _site_inputs(settings) != site_inputs:
            with _timed_step(result, "report site", options.step_hook):
                result.site_path = _build_site_atomically(settings, site_inputs)
        else:
            result.skipped["report site"] = "warehouse, scores and pages unchanged"
            result.site_path = settings.site_path
    return steps


def restatements(
    load: LoadReport, old_as_of: dt.date | None, as_of: dt.date
) -> tuple[list[str], dt.date] | None:
    """The landing tables to restate and the date to restate from; None when new intervals
    alone cover every change (or nothing was built yet).

    A change dated after the previous as-of date is new data the plan processes anyway when the
    as-of date moved on; anything else (a correction, a removed file, a late row, a new
    dimension row that turns old facts valid) must restate every model downstream of its table
    from the earliest date it touches. A change of lineage only (rows moved between files)
    restates from the as-of date: FULL models are rebuilt, the incremental ones re-process one
    day. When anything is restated, every changed table is restated in the same plan (from the
    same start), so that the reconciliation audit sees all tables' new rows at once."""
    if old_as_of is None:
        return None
    changed: list[str] = []
    start: dt.date | None = None
    for table in load.tables:
        if not table.reloaded:
            continue
        if table.restate_from is None and not (table.added or table.removed or table.changed):
            continue  # reloaded (--force) but identical, files and rows
        changed.append(table.qualified_name)
        touched = table.restate_from or as_of
        if as_of > old_as_of and touched > old_as_of:
            continue
        start = touched if start is None else min(start, touched)
    return (changed, min(start, as_of)) if start is not None else None


def _restate_corrections(
    settings: Settings,
    options: BuildOptions,
    result: BuildResult,
    old_as_of: dt.date | None,
    as_of: dt.date,
) -> None:
    from custintel.app import transform

    assert result.load is not None
    plan = restatements(result.load, old_as_of, as_of)
    if plan is None or options.environment != "prod":
        return
    tables, start = plan
    with _timed_step(result, "restate corrections (sqlmesh)", options.step_hook):
        console.print(f"restating from {start} the models downstream of {', '.join(tables)}")
        result.restatement = transform.restate(
            settings, [f"landing.{table}" for table in tables], as_of=as_of, start=start
        )
    checkpoint("restate")


SITE_INPUTS_FILE = ".custintel-inputs"


def _site_inputs(settings: Settings) -> str | None:
    marker = settings.site_path / SITE_INPUTS_FILE
    return marker.read_text() if marker.is_file() else None


def _build_site_atomically(settings: Settings, inputs: str) -> Path:
    """Render into a sibling folder, then swap it in: readers never see half a site."""
    from reports.site import build_site

    target = settings.site_path
    building = target.with_name(target.name + ".building")
    retired = target.with_name(target.name + ".old")
    for leftover in (building, retired):
        if leftover.exists():
            shutil.rmtree(leftover)
    build_site(settings, site_dir=building)
    (building / SITE_INPUTS_FILE).write_text(inputs)
    checkpoint("site")
    if target.exists():
        os.replace(target, retired)
    os.replace(building, target)
    shutil.rmtree(retired, ignore_errors=True)
    return target


def _train_and_score(
    settings: Settings, result: BuildResult, as_of: dt.date, hook: StepHook = _no_hook
) -> None:
    """Train, score and refresh the score consumers; a history too short for an out-of-time
    split (a few months of a user's exports) skips the model with the reason instead of failing
    the build: the churn columns stay null, never a made-up value."""
    from custintel.app import transform
    from ml.dataset import DatasetError
    from ml.pipeline import train_and_score
    from ml.split import SplitError

    try:
        with _timed_step(result, "churn model", hook):
            train_and_score(settings)
    except (SplitError, DatasetError) as error:
        result.timings_seconds.pop("churn model", None)
        result.skipped["churn model"] = str(error)
        console.print(f"[yellow]churn model skipped: {error}[/yellow]")
        return
    checkpoint("ml")
    with _timed_step(result, "refresh marts with scores", hook):
        transform.refresh_score_consumers(settings, as_of=as_of)


def _print_summary(result: BuildResult) -> None:
    table = Table(title="build summary")
    table.add_column("step")
    table.add_column("seconds", justify="right")
    table.add_column("note")
    for name, seconds in result.timings_seconds.items():
        table.add_row(name, f"{seconds:.1f}", "")
    for name, reason in result.skipped.items():
        table.add_row(name, "skipped", reason)
    console.print(table)
    if result.load and result.load.ignored:
        names = ", ".join(item.relative_path for item in result.load.ignored)
        console.print(f"not data (names starting with '_' or '.', top-level files): {names}")
    if result.site_path:
        console.print(f"[green]report site: {result.site_path / 'index.html'}[/green]")


def show_plan(settings: Settings, environment: str) -> None:
    """Print the models a change would rebuild, with their change categories."""
    from custintel.app import transform

    changes = transform.preview(settings, environment)
    table = Table(title=f"plan against {environment}")
    for column in ("model", "change", "category"):
        table.add_column(column)
    for change in changes:
        table.add_row(change.model, change.change, change.category)
    console.print(table if changes else f"no changes against {environment}")
