"""`custintel bench`: the whole job at a chosen scale, each step against a baseline in the same run.

Speed and memory targets live here, never in unit tests. Each figure is reported with a baseline
measured in the same run on the same machine, so the ratios travel between machines:
- load: validating and copying the landing files vs a plain DuckDB copy of the same files;
- warehouse: the SQLMesh build (per layer, peak memory of the process tree: Spark's JVM included)
  vs the plain-DuckDB floor, the same rendered SQL run as `create table as` with the same audits
  in one connection (custintel/app/bench_floor.py), on each gateway asked for (`--gateway duckdb
  --gateway spark`: both engines in one run, on the same landing files);
- semantic: median latency of a governed segment-level query vs the same hand-written SQL;
- ml and site: wall time and peak memory;
- atomicity and content hashing: the snapshot a build takes before changing anything (copy of
  warehouse, SQLMesh state and model registry), its restore, and the SHA-256 of every landing
  file, each against the build without them (load + SQLMesh) measured in the same run.

Besides the timings, `figures`: the churn model's test ROC-AUC against the ceiling of the
generated sample (its test rows ranked by the generator's own churn hazard, ml/hazard_ceiling.py,
stored by the ML step in the version's metrics.json under `hazard_ceiling`).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import psutil

from custintel.app.bench_floor import FloorResult
from custintel.core.model_registry import METRICS_FILE, stored_versions
from custintel.core.settings import DEFAULT_CONFIG_PATH, Settings

#: the governed query timed by the semantic step, and the SQL an analyst would write for it
SEGMENT_QUERY: dict[str, Any] = {
    "measures": ["customer_health.customers", "customer_health.revenue"],
    "dimensions": ["customer_health.segment"],
}
SEGMENT_SQL = """
with customers_by_segment as (
    select customer_segment, count(*) filter (where customer_status = 'Active') as customers
    from marts.customer_360_view
    group by 1
),

revenue_by_segment as (
    select c.customer_segment, sum(i.gross_amount - i.credit_amount - i.discount_amount) as revenue
    from warehouse.fact_invoice as i
    join marts.customer_360_view as c on c.customer_id = i.customer_id
    group by 1
)

select customers_by_segment.customer_segment, customers, revenue
from customers_by_segment
left join revenue_by_segment using (customer_segment)
"""


@dataclass
class StepResult:
    name: str
    seconds: float
    peak_rss_mb: float
    baseline_name: str | None = None
    baseline_seconds: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if not self.baseline_seconds:
            return None
        return self.seconds / self.baseline_seconds


@dataclass
class FigureResult:
    """A quality figure of the run against its reference (not a timing)."""

    name: str
    value: float
    baseline_name: str
    baseline_value: float
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.value / self.baseline_value


#: the ML step's model (ml/pipeline.py MODEL_NAME) whose ceiling figure the bench reports
CHURN_MODEL = "churn"


#: metrics.json `hazard_ceiling` key -> the ceiling's title
CEILING_TITLES = {
    "snapshot_month": "generator hazard w/o frailty, snapshot month",
    "label_months": "generator hazard w/o frailty, 3 label months",
}


def hazard_ceiling_figures(registry_path: Path) -> list[FigureResult]:
    """The latest churn model version's test ROC-AUC against the generator's hazard ceilings
    (the snapshot month's hazard; the 90-day probability over the 3 label months), none when
    the version has no ceiling (no generator manifest in the landing, rows not covered)."""
    versions = stored_versions(registry_path / CHURN_MODEL)
    if not versions:
        return []
    metrics = json.loads((registry_path / CHURN_MODEL / versions[-1] / METRICS_FILE).read_text())
    ceiling = metrics.get("hazard_ceiling")
    if not ceiling or "model" not in ceiling:
        return []
    return [
        FigureResult(
            "churn model test ROC-AUC vs the generator's hazard ceiling",
            ceiling["model"]["roc_auc"],
            title,
            ceiling[key]["roc_auc"],
            {
                "version": versions[-1],
                "test_rows": ceiling["rows"],
                "model_pr_auc": ceiling["model"]["pr_auc"],
                "ceiling_pr_auc": ceiling[key]["pr_auc"],
                **ceiling["model_vs_ceiling"][key],
                "with_frailty_roc_auc": ceiling["with_frailty"]["roc_auc"],
            },
        )
        for key, title in CEILING_TITLES.items()
    ]


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (DuckDB, CatBoost run in-process)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_isolated(*cli_args: str) -> tuple[float, float]:
    """Run `custintel <cli_args>` in a child process: wall seconds and the child's own peak
    resident memory in MB (this process's peak is monotonic, so a step run in-process after the
    SQLMesh build would report the build's peak instead of its own; see custintel/__main__.py
    for why the child reports it itself)."""
    with tempfile.TemporaryDirectory() as scratch:
        peak_file = Path(scratch) / "peak_kb"
        environment = {**os.environ, "CUSTINTEL_PEAK_MEMORY_FILE": str(peak_file)}
        started = time.perf_counter()
        completed = subprocess.run([sys.executable, "-m", "custintel", *cli_args], env=environment)
        seconds = time.perf_counter() - started
        if completed.returncode != 0:
            raise subprocess.CalledProcessError(completed.returncode, ["custintel", *cli_args])
        return seconds, int(peak_file.read_text()) / 1024


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = function()
    return time.perf_counter() - started, value


def median_seconds(function: Callable[[], Any], repeats: int) -> float:
    function()  # warm-up: model parsing, connection, file cache
    return statistics.median(timed(function)[0] for _ in range(repeats))


def bare_copy_seconds(landing_dir: Path, scratch: Path) -> float:
    """Baseline for the loader: DuckDB copying every landed Parquet file, with no validation."""
    files = [str(p) for p in landing_dir.rglob("*.parquet") if "_manifest" not in p.parts]
    by_table: dict[str, list[str]] = {}
    for file in files:
        relative = Path(file).relative_to(landing_dir).parts
        by_table.setdefault("__".join(relative[:2]).removesuffix(".parquet"), []).append(file)
    scratch.unlink(missing_ok=True)
    with duckdb.connect(str(scratch)) as con:
        con.execute("set enable_progress_bar = false")
        seconds, _ = timed(
            lambda: [
                con.execute(f"create table {table} as select * from read_parquet(?)", [parts])
                for table, parts in by_table.items()
            ]
        )
    scratch.unlink(missing_ok=True)
    return seconds


def integrity_steps(settings: Settings, build_seconds: float) -> list[StepResult]:
    """What atomic builds and content fingerprints cost, against the build without them."""
    from custintel.app.build_journal import BuildJournal
    from custintel.core.landing import load_contract
    from custintel.core.landing.files import scan
    from custintel.core.landing.loader import file_sha256

    discovered = scan(settings.landing_path, load_contract()).files.values()
    files = [file.path for table_files in discovered for file in table_files]
    landed_bytes = sum(path.stat().st_size for path in files)
    hash_seconds, hash_peak, _ = timed_with_peak(lambda: [file_sha256(path) for path in files])
    journal = BuildJournal(settings)
    snapshot_seconds, snapshot_peak, _ = timed_with_peak(journal.begin)
    snapshot_bytes = sum(p.stat().st_size for p in journal.snapshot_dir.rglob("*") if p.is_file())
    restore_seconds, restore_peak, _ = timed_with_peak(journal.rollback)
    baseline = "build without it (load + SQLMesh)"
    return [
        StepResult(
            "content hash: SHA-256 of every landing file",
            hash_seconds,
            hash_peak,
            baseline,
            build_seconds - hash_seconds,
            {"files": len(files), "megabytes": round(landed_bytes / 1e6, 1)},
        ),
        StepResult(
            "atomic build: snapshot before the build",
            snapshot_seconds,
            snapshot_peak,
            baseline,
            build_seconds,
            {"megabytes": round(snapshot_bytes / 1e6, 1)},
        ),
        StepResult(
            "atomic build: restore after a failure or kill",
            restore_seconds,
            restore_peak,
            baseline,
            build_seconds,
            {"megabytes": round(snapshot_bytes / 1e6, 1)},
        ),
    ]


def semantic_step(settings: Settings, repeats: int) -> StepResult:
    from semantic import load

    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        direct = median_seconds(lambda: con.execute(SEGMENT_SQL).fetchall(), repeats)
    governed = median_seconds(
        lambda: load(SEGMENT_QUERY, role="executive", settings=settings), repeats
    )
    return StepResult(
        "semantic segment query (median)",
        governed,
        peak_rss_mb(),
        "hand-written SQL on DuckDB (median)",
        direct,
        {"repeats": repeats},
    )


def write_report(
    results: list[StepResult],
    path: Path,
    context: dict[str, Any],
    figures: list[FigureResult] | None = None,
) -> None:
    payload = {
        **context,
        "steps": [{**asdict(result), "ratio": result.ratio} for result in results],
        "figures": [{**asdict(figure), "ratio": figure.ratio} for figure in figures or []],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=str))


class BenchResults(list[StepResult]):
    """The step results (and `figures`) of a run; rewrites bench.json after every one."""

    def __init__(self, path: Path, context: dict[str, Any]) -> None:
        super().__init__()
        self.path = path
        self.context = context
        self.figures: list[FigureResult] = []

    def append(self, result: StepResult) -> None:
        super().append(result)
        write_report(list(self), self.path, self.context, self.figures)

    def add_figure(self, figure: FigureResult) -> None:
        self.figures.append(figure)
        write_report(list(self), self.path, self.context, self.figures)


class TreePeak:
    """Peak resident memory (MB) of this process and its children, sampled every 0.1 s while
    a step runs: a Spark step's memory is mostly its JVM, a child process."""

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self._stop = threading.Event()

    def _sample(self) -> None:
        root = psutil.Process()
        while True:
            total = 0
            for process in [root, *root.children(recursive=True)]:
                try:
                    total += process.memory_info().rss
                except psutil.Error:
                    continue  # a child that ended between the listing and the reading
            self.peak_mb = max(self.peak_mb, total / 2**20)
            if self._stop.wait(0.1):
                return

    @contextmanager
    def watching(self) -> Iterator[TreePeak]:
        sampler = threading.Thread(target=self._sample, daemon=True)
        sampler.start()
        try:
            yield self
        finally:
            self._stop.set()
            sampler.join()


def timed_with_peak(function: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall seconds, peak MB of the process tree during the call, and the call's value."""
    with TreePeak().watching() as peak:
        seconds, value = timed(function)
    return seconds, peak.peak_mb, value


#: the SQLMesh step's name in a run (prefixed with its gateway), the row `engine_rows` reads
SQLMESH_STEP = "sqlmesh warehouse + marts (unit tests, models, audits)"
LOAD_STEPS = ("load landing", "landing to Spark tables")


def engine_rows(results: BenchResults) -> list[dict[str, Any]]:
    """One row per gateway of a run: landing load, the SQLMesh step (seconds, peak memory of
    the process tree, seconds per layer) and its ratio to the plain-DuckDB floor."""
    rows = []
    for gateway in results.context["gateways"]:
        steps = {
            r.name.removeprefix(f"[{gateway}] "): r
            for r in results
            if r.name.startswith(f"[{gateway}] ")
        }
        sqlmesh = steps[SQLMESH_STEP]
        rows.append(
            {
                "customers": results.context["customers"],
                "months": results.context["months"],
                "landed_rows": results.context["landed_rows"],
                "gateway": gateway,
                "load_seconds": round(sum(steps[s].seconds for s in LOAD_STEPS if s in steps), 1),
                "sqlmesh_seconds": round(sqlmesh.seconds, 1),
                "sqlmesh_peak_rss_mb": round(sqlmesh.peak_rss_mb),
                "floor_seconds": round(sqlmesh.baseline_seconds, 1)
                if sqlmesh.baseline_seconds
                else None,
                "floor_ratio": round(sqlmesh.ratio, 2) if sqlmesh.ratio else None,
                **{
                    k: v
                    for k, v in sqlmesh.details.items()
                    if k.endswith("_seconds") and not k.startswith("floor_")
                },
            }
        )
    return rows


def run_bench_sizes(out: Path, sizes: list[int], months: int, **options: Any) -> list[BenchResults]:
    """`run_bench` at each size (customers) in its own folder under `out`, one after the
    other, then `out/bench.json`: the engines-by-size table and every run's own report."""
    runs: list[BenchResults] = []
    for customers in sizes:
        runs.append(run_bench(out / f"{customers}x{months}", customers, months, **options))
        write_sizes_report(out / "bench.json", runs)
    return runs


def write_sizes_report(path: Path, runs: list[BenchResults]) -> None:
    payload = {
        "engines": [row for run in runs for row in engine_rows(run)],
        "runs": [str(run.path) for run in runs],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2))


def run_bench(
    build_dir: Path,
    customers: int,
    months: int,
    *,
    gateways: tuple[str, ...] = ("duckdb",),
    with_ml: bool = True,
    with_reports: bool = True,
    with_floor: bool = True,
    repeats: int = 20,
    config: Path = DEFAULT_CONFIG_PATH,
) -> BenchResults:
    """Generate one landing folder at the given scale under build_dir, then build everything on
    each gateway in its own folder (build_dir/<gateway>), timing each step (the ML step and the
    site in child processes, so their peak memory is their own).

    `config` is the config file the build folders' configs are made from (output paths moved
    under build_dir). build_dir is emptied first: a warehouse and SQLMesh state left by an
    earlier run would turn the build into a no-op (nothing new to load or backfill) and the
    figures into nonsense.
    """
    from custintel.core.settings import load_settings, write_relocated_config
    from custintel.generate import generate_landing

    shutil.rmtree(build_dir, ignore_errors=True)
    sample_overrides = {"sample": {"customers": customers, "months": months}}
    landing_config = load_settings(
        write_relocated_config(build_dir, config, overrides=sample_overrides)
    )
    results = BenchResults(
        build_dir / "bench.json",
        {"customers": customers, "months": months, "gateways": list(gateways)},
    )
    sample = landing_config.sample
    seconds, generated = timed(
        lambda: generate_landing(
            landing_config.landing_path,
            customers=customers,
            months=months,
            start_date=sample.start_date,
            seed=sample.seed,
            defect_rate=sample.defect_rate,
        )
    )
    landed_rows = sum(generated.rows.values())
    results.context["landed_rows"] = landed_rows
    results.append(StepResult("generate", seconds, peak_rss_mb(), details={"rows": landed_rows}))
    floor: FloorResult | None = None
    for gateway in gateways:
        overrides: dict[str, dict[str, Any]] = {
            **sample_overrides,
            "landing": {"path": str(landing_config.landing_path)},
            "sqlmesh": {"gateway": gateway},
        }
        gateway_config = write_relocated_config(build_dir / gateway, config, overrides=overrides)
        floor = _bench_gateway(
            load_settings(gateway_config),
            gateway_config,
            results,
            landed_rows,
            floor,
            with_ml=with_ml,
            with_reports=with_reports,
            with_floor=with_floor,
            repeats=repeats,
        )
    return results


class _StepPeaks:
    """The pipeline's step hook: the peak memory of the process tree during each step, and a
    copy of the warehouse as the loader left it (the floor's input) after the load."""

    def __init__(self, loaded_copy: Path | None, warehouse: Path) -> None:
        self.peaks_mb: dict[str, float] = {}
        self.loaded_copy = loaded_copy
        self.warehouse = warehouse

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        with TreePeak().watching() as peak:
            yield
        self.peaks_mb[name] = peak.peak_mb
        if name == "load landing" and self.loaded_copy is not None:
            self.loaded_copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(self.warehouse, self.loaded_copy)


def _bench_gateway(
    settings: Settings,
    config: Path,
    results: BenchResults,
    landed_rows: int,
    floor: FloorResult | None,
    *,
    with_ml: bool,
    with_reports: bool,
    with_floor: bool,
    repeats: int,
) -> FloorResult | None:
    """One build on `settings.sqlmesh.gateway` by the pipeline (`run_build`: load, Spark tables,
    SQLMesh), each step's time and peak memory taken through its step hook; the churn model
    and the site as their own commands in child processes. Each result is named with the
    gateway. The DuckDB floor of the SQLMesh step is measured on the duckdb gateway (a Spark
    build is compared with the floor of the DuckDB build of the same run, when there is one)."""
    from custintel.app import transform
    from custintel.app.pipeline import BuildOptions, run_build

    gateway = settings.sqlmesh.gateway
    build_dir = settings.warehouse_path.parent.parent

    def record(result: StepResult) -> None:
        result.name = f"[{gateway}] {result.name}"
        result.details["gateway"] = gateway
        results.append(result)

    measure_floor = with_floor and gateway == "duckdb"
    loaded_copy = build_dir / "floor" / "loaded" / settings.warehouse_path.name
    hook = _StepPeaks(loaded_copy if measure_floor else None, settings.warehouse_path)
    options = BuildOptions(
        landing_path=settings.landing_path, with_ml=False, with_reports=False, step_hook=hook
    )
    built = run_build(settings, options)
    seconds, peaks = built.timings_seconds, hook.peaks_mb
    assert built.transform is not None and built.load is not None
    sqlmesh_step = "sqlmesh (prod)"
    record(
        StepResult(
            "load landing",
            seconds["load landing"],
            peaks["load landing"],
            "plain DuckDB copy, no validation",
            bare_copy_seconds(settings.landing_path, build_dir / "baseline_copy.duckdb"),
        )
    )
    load_seconds = seconds["load landing"]
    if "landing to Spark tables" in seconds:
        load_seconds += seconds["landing to Spark tables"]
        record(
            StepResult(
                "landing to Spark tables",
                seconds["landing to Spark tables"],
                peaks["landing to Spark tables"],
            )
        )
    as_of = built.transform.as_of
    layers = {
        f"{schema}_seconds": round(value, 1)
        for schema, value in sorted(built.transform.seconds_by_schema().items())
    }
    if measure_floor:
        floor = _floor(settings, as_of, loaded_copy)
    record(
        StepResult(
            SQLMESH_STEP,
            seconds[sqlmesh_step],
            peaks[sqlmesh_step],
            "plain DuckDB floor: the rendered SQL as create table as + the same audits"
            if floor
            else None,
            floor.seconds if floor else None,
            details={
                "landed_rows_per_second": round(landed_rows / seconds[sqlmesh_step]),
                **layers,
                **(floor.details() if floor else {}),
            },
        )
    )
    if gateway == "duckdb":
        for result in integrity_steps(settings, load_seconds + seconds[sqlmesh_step]):
            record(result)
    if with_ml:
        ml_seconds, peak = run_isolated("--config", str(config), "ml", "pipeline")
        record(StepResult("churn model train + score (child process)", ml_seconds, peak))
        refresh_seconds, peak, _ = timed_with_peak(
            lambda: transform.refresh_score_consumers(settings, as_of=as_of)
        )
        record(StepResult("refresh marts with scores", refresh_seconds, peak))
        for figure in hazard_ceiling_figures(settings.registry_path):
            figure.name = f"[{gateway}] {figure.name}"
            figure.details["gateway"] = gateway
            results.add_figure(figure)
    if gateway == "duckdb":
        record(semantic_step(settings, repeats))
    if with_reports:
        site_seconds, peak = run_isolated("--config", str(config), "reports", "build")
        record(StepResult("report site (child process)", site_seconds, peak))
    if gateway == "spark":
        # the JVM would keep this build's warehouse for the next size and its memory in the
        # next steps' peaks
        from custintel.core.spark_gateway import stop_spark

        stop_spark()
    return floor


def _floor(settings: Settings, as_of: Any, loaded_copy: Path) -> FloorResult:
    """The floor of the SQLMesh step, always on DuckDB (it is the one-machine reference for
    both gateways), from the landing as the loader left it."""
    from custintel.app.bench_floor import render_project, run_floor

    externals, rendered = render_project(settings, as_of)
    return run_floor(
        loaded_copy,
        loaded_copy.parent.parent / "scratch",
        externals,
        rendered,
        memory_limit=settings.warehouse.memory_limit,
    )
