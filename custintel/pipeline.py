"""The main job: sample data -> landing -> SQLMesh warehouse -> churn scores -> report site."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table

from custintel.console import console, progress_bar
from custintel.landing.as_of import landing_as_of_date
from custintel.landing.files import is_empty
from custintel.landing.loader import LoadReport, load_landing
from custintel.settings import SampleSettings, Settings

if TYPE_CHECKING:
    from custintel.generate import GenerationReport
    from custintel.transform import ApplySummary


@dataclass(frozen=True)
class BuildOptions:
    landing_path: Path
    environment: str = "prod"
    with_ml: bool = True
    with_reports: bool = True


@dataclass
class BuildResult:
    load: LoadReport | None = None
    transform: ApplySummary | None = None
    timings_seconds: dict[str, float] = field(default_factory=dict)
    #: steps that could not run on this data, with the reason (e.g. too short a history)
    skipped: dict[str, str] = field(default_factory=dict)
    site_path: Path | None = None


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
def _timed_step(result: BuildResult, name: str) -> Iterator[None]:
    console.rule(f"[bold]{name}")
    started = time.perf_counter()
    yield
    result.timings_seconds[name] = time.perf_counter() - started


def run_build(settings: Settings, options: BuildOptions) -> BuildResult:
    """Run the whole job; prod builds also train, score and render the site."""
    from custintel import transform

    result = BuildResult()
    if is_empty(options.landing_path):
        with _timed_step(result, "generate"):
            generate_sample(settings.sample, options.landing_path)
    with _timed_step(result, "load landing"), progress_bar("validating landing files") as progress:
        result.load = load_landing(options.landing_path, settings.warehouse_path, progress=progress)
    if settings.sqlmesh.gateway == "spark":
        from custintel.landing.spark_tables import publish_landing

        with _timed_step(result, "landing to Spark tables"):
            publish_landing(settings)
    as_of = landing_as_of_date(settings.warehouse_path)
    with _timed_step(result, f"sqlmesh ({options.environment})"):
        result.transform = transform.apply(
            settings, environment=options.environment, as_of=as_of, show_progress=True
        )
    if options.environment == "prod" and options.with_ml:
        _train_and_score(settings, result, as_of)
    if options.environment == "prod" and options.with_reports:
        from reports.site import build_site

        with _timed_step(result, "report site"):
            result.site_path = build_site(settings)
    _print_summary(result)
    return result


def _train_and_score(settings: Settings, result: BuildResult, as_of: dt.date) -> None:
    """Train, score and refresh the score consumers; a history too short for an out-of-time
    split (a few months of a user's exports) skips the model with the reason instead of failing
    the build: the churn columns stay null, never a made-up value."""
    from custintel import transform
    from ml.dataset import DatasetError
    from ml.pipeline import train_and_score
    from ml.split import SplitError

    try:
        with _timed_step(result, "churn model"):
            train_and_score(settings)
    except (SplitError, DatasetError) as error:
        result.timings_seconds.pop("churn model", None)
        result.skipped["churn model"] = str(error)
        console.print(f"[yellow]churn model skipped: {error}[/yellow]")
        return
    with _timed_step(result, "refresh marts with scores"):
        transform.refresh_score_consumers(settings, as_of=as_of)


def _print_summary(result: BuildResult) -> None:
    table = Table(title="build summary")
    table.add_column("step")
    table.add_column("seconds", justify="right")
    for name, seconds in result.timings_seconds.items():
        table.add_row(name, f"{seconds:.1f}")
    for name in result.skipped:
        table.add_row(name, "skipped")
    console.print(table)
    if result.site_path:
        console.print(f"[green]report site: {result.site_path / 'index.html'}[/green]")


def show_plan(settings: Settings, environment: str) -> None:
    """Print the models a change would rebuild, with their change categories."""
    from custintel import transform

    changes = transform.preview(settings, environment)
    table = Table(title=f"plan against {environment}")
    for column in ("model", "change", "category"):
        table.add_column(column)
    for change in changes:
        table.add_row(change.model, change.change, change.category)
    console.print(table if changes else f"no changes against {environment}")
