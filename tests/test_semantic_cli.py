"""`custintel metrics` commands (semantic.cli.app) on the fixture model and warehouse."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from semantic.cli import _cell, app
from tests.conftest import write_config
from tests.semantic_support import METRIC_TESTS_PATH, MODEL_PATH, build_warehouse, fixture_frames

runner = CliRunner()
V = "customer_360"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    config = write_config(tmp_path, semantic={"model_path": str(MODEL_PATH)})
    frames = fixture_frames()
    build_warehouse(tmp_path / "warehouse" / "novacom.duckdb", frames)
    monkeypatch.setenv("CUSTINTEL_CONFIG", str(config))
    return frames


def test_list_shows_catalogue_with_owner_and_sql(project):
    result = runner.invoke(app, ["list", "--format", "json", "--view", V])
    assert result.exit_code == 0, result.output
    entries = {row["name"]: row for row in json.loads(result.output)}
    assert entries[f"{V}.revenue"]["owner"] == "finance"
    assert entries[f"{V}.revenue"]["certified"] is True
    assert entries[f"{V}.revenue"]["format"] == "currency"
    assert entries[f"{V}.revenue"]["sql"] == "SUM(orders.amount - orders.discount_amount)"
    assert "COUNT(CASE WHEN customers.status = 'Active'" in entries[f"{V}.active_count"]["sql"]
    assert "rolling window: trailing 30 day" in entries[f"{V}.active_customers"]["sql"]
    assert f"{V}.segment" not in entries  # measures only by default


def test_query_csv_matches_pandas(project):
    result = runner.invoke(
        app,
        [
            "query",
            "-m",
            f"{V}.count",
            "-d",
            f"{V}.segment",
            "--filter",
            f"{V}.status equals Active",
            "--role",
            "analyst",
            "--format",
            "csv",
        ],
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(io.StringIO(result.output))
    customers = project["customers"]
    expected = customers[customers.status == "Active"].groupby("segment").size().to_dict()
    assert dict(zip(frame[f"{V}.segment"], frame[f"{V}.count"], strict=True)) == expected


def test_table_cells_show_floats_without_binary_noise():
    assert 0.1 + 0.2 != 0.3
    assert _cell(0.1 + 0.2) == "0.3"
    assert _cell(288541.82000000094) == "288541.82"
    assert _cell(float("nan")) == "" and _cell(None) == ""
    assert _cell(7) == "7" and _cell("SMB") == "SMB"


def test_query_time_dimension_and_sql_flag(project):
    result = runner.invoke(
        app,
        [
            "query",
            "-m",
            f"{V}.order_count",
            "-t",
            f"{V}.ordered_at:month:2024-01-01,2024-03-31",
            "--sql",
            "--role",
            "executive",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "DATE_TRUNC('MONTH'" in result.output
    assert "-- $1 = datetime.datetime(2024, 1, 1, 0, 0)" in result.output
    table = runner.invoke(
        app,
        [
            "query",
            "-m",
            f"{V}.order_count",
            "-t",
            f"{V}.ordered_at:month:2024-01-01,2024-03-31",
            "--role",
            "executive",
            "--format",
            "json",
        ],
    )
    rows = json.loads(table.output)
    orders = project["orders"]
    first_quarter = orders[orders.ordered_at < "2024-04-01"]
    assert [row[f"{V}.order_count"] for row in rows] == first_quarter.groupby(
        first_quarter.ordered_at.dt.month
    ).size().tolist()


def test_query_errors_exit_1_with_message(project):
    result = runner.invoke(app, ["query", "-m", f"{V}.revenu", "--role", "executive"])
    assert result.exit_code == 1
    assert "unknown member 'customer_360.revenu'" in result.output
    denied = runner.invoke(app, ["query", "-d", f"{V}.email", "--role", "marketing"])
    assert denied.exit_code == 1 and "may not query" in denied.output


def test_test_and_validate_commands(project):
    result = runner.invoke(app, ["test", str(METRIC_TESTS_PATH)])
    assert result.exit_code == 0, result.output
    assert "2 passed, 0 failed" in result.output
    valid = runner.invoke(app, ["validate"])
    assert valid.exit_code == 0 and "4 cube(s), 2 view(s)" in valid.output


def test_diff_with_unknown_ref_exits_1(project):
    result = runner.invoke(app, ["diff", "definitely-not-a-ref"])
    assert result.exit_code == 1
    assert "unknown git ref 'definitely-not-a-ref'" in result.output


def test_diff_accepts_base_option_and_needs_exactly_one_ref(project):
    both = runner.invoke(app, ["diff", "HEAD", "--base", "HEAD"])
    assert both.exit_code != 0 and "once" in both.output
    result = runner.invoke(app, ["diff", "--base", "no-such-ref-xyz"])
    assert result.exit_code == 1 and "no-such-ref-xyz" in result.output
