"""`custintel bench --customers A --customers B`: the engines-by-size table in bench.json."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custintel.app import bench
from custintel.app.bench import SQLMESH_STEP, BenchResults, StepResult, engine_rows
from custintel.app.cli import app


def _squashed(text: str) -> str:
    return re.sub(r"[\s│]", "", text)


def _run(path: Path, customers: int, gateways: list[str]) -> BenchResults:
    """A run's results as `run_bench` records them: per gateway, the load and SQLMesh steps."""
    run = BenchResults(
        path / f"{customers}x2" / "bench.json",
        {"customers": customers, "months": 2, "gateways": gateways, "landed_rows": customers * 9},
    )
    for number, gateway in enumerate(gateways, start=1):
        run.append(StepResult(f"[{gateway}] load landing", 2.0 * number, 100.0))
        if gateway == "spark":
            run.append(StepResult("[spark] landing to Spark tables", 3.0, 900.0))
        floor = (
            {"baseline_name": "plain DuckDB floor", "baseline_seconds": 4.0}
            if gateway == "duckdb"
            else {}
        )
        run.append(
            StepResult(
                f"[{gateway}] {SQLMESH_STEP}",
                10.0 * number,
                500.0 * number,
                **floor,
                details={
                    "staging_seconds": 1.5,
                    "marts_seconds": 6.0,
                    "landed_rows_per_second": 9,
                    "floor_model_seconds": 3.0,
                },
            )
        )
    return run


def test_one_row_per_engine_with_the_floor_ratio_of_the_duckdb_build(tmp_path: Path) -> None:
    rows = engine_rows(_run(tmp_path, 300, ["duckdb", "spark"]))
    assert [row["gateway"] for row in rows] == ["duckdb", "spark"]
    duck, spark = rows
    assert duck["sqlmesh_seconds"] == 10.0 and duck["floor_seconds"] == 4.0
    assert duck["floor_ratio"] == 2.5  # 10 / 4
    assert duck["load_seconds"] == 2.0
    # spark: its load is the loader plus the publish to Spark tables; no floor of its own
    assert spark["load_seconds"] == 4.0 + 3.0
    assert spark["sqlmesh_peak_rss_mb"] == 1000
    assert spark["floor_ratio"] is None
    # the layers are there, the floor's own details and non-second figures are not
    assert duck["staging_seconds"] == 1.5 and duck["marts_seconds"] == 6.0
    assert "floor_model_seconds" not in duck and "landed_rows_per_second" not in duck
    assert duck["landed_rows"] == 2700


def test_each_size_runs_in_turn_into_one_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Path, int]] = []

    def fake_run_bench(build_dir: Path, customers: int, months: int, **options: object):
        calls.append((build_dir, customers))
        return _run(tmp_path, customers, list(options["gateways"]))  # type: ignore[call-overload]

    monkeypatch.setattr(bench, "run_bench", fake_run_bench)
    runs = bench.run_bench_sizes(tmp_path, [300, 900], 2, gateways=("duckdb", "spark"))
    assert calls == [(tmp_path / "300x2", 300), (tmp_path / "900x2", 900)]
    report = json.loads((tmp_path / "bench.json").read_text())
    assert [(r["customers"], r["gateway"]) for r in report["engines"]] == [
        (300, "duckdb"),
        (300, "spark"),
        (900, "duckdb"),
        (900, "spark"),
    ]
    assert report["runs"] == [str(run.path) for run in runs]


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--customers", "0"], "at least 1 customer"),
        (["--customers", "-5", "--customers", "100"], "at least 1 customer"),
        (["--customers", "many"], "Invalid value for '--customers'"),
        (["--gateway", "snowflake"], "unknown gateway 'snowflake'"),
    ],
)
def test_a_bad_size_or_gateway_is_refused_before_anything_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, arguments: list[str], message: str
) -> None:
    monkeypatch.setattr(bench, "run_bench", lambda *a, **k: pytest.fail("ran a build"))
    result = CliRunner().invoke(app, ["bench", "--out", str(tmp_path), *arguments])
    assert result.exit_code == 2
    # Rich draws the error in a box folded at the terminal width: compare without either
    assert _squashed(message) in _squashed(result.output)
    assert not (tmp_path / "bench.json").exists()
