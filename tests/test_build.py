"""`custintel build` on a user's own CSV exports: it builds, re-runs idle, and refuses bad files."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from custintel.app.cli import app
from custintel.app.pipeline import BuildOptions, run_build
from custintel.core.settings import load_settings
from tests.conftest import write_config

FIXTURE = Path(__file__).parent / "fixtures" / "landing_csv"
DIMENSIONS = [
    "dim_customer",
    "dim_opportunity",
    "dim_campaign",
    "dim_support_ticket",
    "dim_service",
    "dim_kb_article",
    "dim_account_manager",
]
FACTS = [
    "fact_invoice",
    "fact_order",
    "fact_service_assignment",
    "fact_support_ticket",
    "fact_campaign_target",
    "fact_network_usage",
    "fact_kb_article_view",
    "fact_retention_offer",
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One CLI build of the hand-written CSV landing (no ML, no site) and its config."""
    tmp_path = tmp_path_factory.mktemp("build")
    landing = tmp_path / "exports"
    shutil.copytree(FIXTURE, landing)
    config = write_config(tmp_path)
    result = CliRunner().invoke(
        app,
        [
            "--config",
            str(config),
            "build",
            "--landing",
            str(landing),
            "--skip-ml",
            "--skip-reports",
        ],
    )
    assert result.exit_code == 0, result.output
    return {"config": config, "landing": landing, "settings": load_settings(config)}


def _count(warehouse: Path, table: str) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(f"select count(*) from warehouse.{table}").fetchone()[0]


def test_handwritten_csv_exports_build_every_dimension_and_fact(built: dict) -> None:
    warehouse = built["settings"].warehouse_path
    # counted by hand from tests/fixtures/landing_csv (no defects in it)
    expected = {
        "dim_customer": 8,
        "dim_opportunity": 3,
        "dim_campaign": 2,
        "dim_support_ticket": 4,
        "dim_service": 4,
        "dim_kb_article": 2,
        "dim_account_manager": 2,
        "fact_invoice": 14,
        "fact_order": 5,
        "fact_service_assignment": 8,
        "fact_support_ticket": 4,
        "fact_campaign_target": 4,
        "fact_kb_article_view": 3,
        "fact_retention_offer": 3,
    }
    for table, rows in expected.items():
        assert _count(warehouse, table) == rows, table
    # usage: 4 open assignments x 91 days, C001 TV from Feb 1 (60 days), C003 two services
    # Jan 1 - Mar 14 (74 days each), C005 mobile from Feb 10 (51 days)
    assert _count(warehouse, "fact_network_usage") == 4 * 91 + 60 + 2 * 74 + 51


def test_second_build_does_no_model_work(built: dict) -> None:
    """Nothing new, nothing done: the loader reloads nothing and SQLMesh is not even started;
    with --force SQLMesh runs and finds no interval to compute."""
    settings = load_settings(built["config"])
    options = BuildOptions(landing_path=built["landing"], with_ml=False, with_reports=False)
    again = run_build(settings, options)
    assert again.load is None and again.transform is None
    assert again.skipped == {
        "load landing": "every landing file is already loaded (same content)",
        "sqlmesh": "landing data and SQLMesh project unchanged",
    }
    assert "snapshot" not in again.timings_seconds  # nothing to protect: no copy taken
    forced = run_build(
        settings,
        BuildOptions(landing_path=built["landing"], with_ml=False, with_reports=False, force=True),
    )
    assert forced.load is not None and len(forced.load.reloaded) == 14
    assert forced.restatement is None  # reloaded, but no row changed
    assert forced.transform is not None and not forced.transform.did_work
    assert forced.transform.models_evaluated == set()


def test_too_short_a_history_skips_the_model_with_the_reason_and_leaves_scores_null(
    built: dict,
) -> None:
    """Three months of exports hold no 90-day label window that is complete enough for an
    out-of-time split: the build still ends, says why the model was skipped, and the Customer
    360 churn columns stay null."""
    options = BuildOptions(landing_path=built["landing"], with_ml=True, with_reports=False)
    result = run_build(built["settings"], options)
    assert "churn model" in result.skipped
    assert "snapshot" in result.skipped["churn model"] or "label" in result.skipped["churn model"]
    assert "refresh marts with scores" not in result.timings_seconds
    with duckdb.connect(str(built["settings"].warehouse_path), read_only=True) as con:
        scored, customers = con.execute(
            "select count(churn_probability), count(*) from marts.customer_360_view"
        ).fetchone()
    assert customers > 0 and scored == 0


def test_malformed_file_fails_with_its_name_and_leaves_prod_unchanged(built: dict) -> None:
    warehouse = built["settings"].warehouse_path
    before = {table: _count(warehouse, table) for table in DIMENSIONS + FACTS}
    bad_landing = built["landing"].parent / "bad_exports"
    shutil.copytree(built["landing"], bad_landing)
    orders = bad_landing / "billing" / "orders.csv"
    orders.write_text(
        orders.read_text()
        .replace("Completed\nO02", "Completed\nO02x,", 1)
        .replace("O02x,,C002,2024-01-12 11:00:00", "O02,C002,2024-13-45 11:00:00")
    )
    result = CliRunner().invoke(
        app,
        [
            "--config",
            str(built["config"]),
            "build",
            "--landing",
            str(bad_landing),
            "--skip-ml",
            "--skip-reports",
        ],
    )
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "billing/orders.csv" in output
    assert "column 'ordered_at'" in output
    assert "row 2" in output
    assert {table: _count(warehouse, table) for table in DIMENSIONS + FACTS} == before
