"""custintel.app.bench: steps run in a child process report the child's own time and memory."""

from __future__ import annotations

import json
import resource
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from custintel.app.bench import StepResult, run_bench, run_isolated


def test_a_child_step_reports_its_own_peak_memory() -> None:
    ballast = bytearray(1024**3)  # this process: over 1 GiB resident
    ballast[:: resource.getpagesize()] = b"\1" * len(range(0, len(ballast), resource.getpagesize()))
    seconds, peak_mb = run_isolated("--help")
    assert seconds > 0
    # the CLI's imports only: a few hundred MB, not the 1 GiB of the process that spawned it
    assert 10 < peak_mb < 700
    del ballast


def test_a_failing_child_step_raises_with_its_command() -> None:
    with pytest.raises(subprocess.CalledProcessError, match="no-such-command"):
        run_isolated("no-such-command")


def test_ratio_is_against_the_same_run_baseline() -> None:
    assert StepResult("query", 0.3, 1.0, "hand SQL", 0.1).ratio == pytest.approx(3.0)
    assert StepResult("generate", 5.0, 1.0).ratio is None


@dataclass(frozen=True)
class BenchRun:
    build_dir: Path
    stale: Path  # a file an earlier run left in the build folder
    results: list[StepResult]


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BenchRun]:
    """One bench run (60 customers x 3 months, DuckDB, with the floor, no ML, no site) over a
    build folder holding a stale warehouse, shared by the tests below."""
    build_dir = tmp_path_factory.mktemp("bench") / "60x3"
    stale = build_dir / "duckdb" / "warehouse" / "left-over.duckdb"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"an earlier run's warehouse")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("CUSTINTEL_CONFIG", raising=False)  # run_bench points it at its build
        results = run_bench(build_dir, 60, 3, with_ml=False, with_reports=False, repeats=1)
        yield BenchRun(build_dir, stale, results)


def test_a_rerun_starts_from_an_empty_build_folder_and_the_floor_builds_the_same_tables(
    bench_run: BenchRun,
) -> None:
    build_dir, results = bench_run.build_dir, bench_run.results
    assert not bench_run.stale.exists()
    recorded = json.loads((build_dir / "bench.json").read_text())
    assert [step["name"] for step in recorded["steps"]] == [r.name for r in results]
    assert recorded["gateways"] == ["duckdb"]
    warehouse = build_dir / "duckdb" / "warehouse" / "novacom.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        customers = con.execute("select count(*) from marts.customer_360_view").fetchone()[0]
        tables = {
            f"{schema}.{name}": con.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[
                0
            ]
            for schema, name in con.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_schema in ('staging', 'warehouse', 'marts', 'quarantine')"
            ).fetchall()
        }
    assert customers >= 60  # the opening base, plus customers acquired over the months
    (sqlmesh_step,) = [r for r in results if r.name.startswith("[duckdb] sqlmesh")]
    assert sqlmesh_step.baseline_name.startswith("plain DuckDB floor")
    assert sqlmesh_step.ratio == sqlmesh_step.seconds / sqlmesh_step.baseline_seconds
    details = sqlmesh_step.details
    # the floor ran every model and every audit SQLMesh runs, and the audits pass on it too
    assert details["floor_models"] == len(tables) > 40
    assert details["floor_audits"] > details["floor_models"]
    assert details["floor_rows_flagged_by_audits"] == 0
    assert details["floor_model_seconds"] + details["floor_audit_seconds"] == pytest.approx(
        sqlmesh_step.baseline_seconds, abs=0.02
    )


def test_the_floor_builds_every_table_with_the_rows_of_the_sqlmesh_build(
    bench_run: BenchRun, tmp_path: Path
) -> None:
    """The floor is the same SQL, not a cheaper imitation: each of its tables has the row count
    of the table SQLMesh built from the same landing files (the bench run's build; the floor
    run again here on a fresh load of its landing folder, to read the floor's own tables)."""
    from custintel.app.bench_floor import render_project, run_floor
    from custintel.core.landing.as_of import landing_as_of_date
    from custintel.core.landing.loader import load_landing
    from custintel.core.settings import load_settings

    settings = load_settings(bench_run.build_dir / "duckdb" / "config.yaml", environ={})
    loaded = tmp_path / "loaded" / settings.warehouse_path.name
    load_landing(settings.landing_path, loaded)
    as_of = landing_as_of_date(loaded)
    externals, rendered = render_project(settings, as_of)
    floor = run_floor(loaded, tmp_path / "scratch", externals, rendered)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        built = {
            name: con.execute(f"select count(*) from {name}").fetchone()[0]
            for name in floor.row_counts
        }
    assert floor.row_counts == built
    assert sum(built.values()) > 1000
    assert not (tmp_path / "scratch").exists()  # the floor's copy is thrown away
