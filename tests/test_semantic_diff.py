"""Metric diff on a throw-away git repository holding the fixture model."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from semantic.diff import diff
from semantic.errors import DiffError
from tests.semantic_support import MODEL_PATH, build_warehouse, fixture_frames, write_tables


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=test", "-c",
                    "user.email=test@example.com", *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(MODEL_PATH, root / "semantic" / "model")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "model")
    return root


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return fixture_frames()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory, frames) -> Path:
    return build_warehouse(tmp_path_factory.mktemp("diff") / "w.duckdb", frames)


def edit_orders(repo: Path, change) -> None:
    path = repo / "semantic" / "model" / "cubes" / "orders.yml"
    document = yaml.safe_load(path.read_text())
    change(document["cubes"][0])
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def revenue_to_gross(cube: dict) -> None:
    next(m for m in cube["measures"] if m["name"] == "revenue")["sql"] = "{CUBE}.amount"


def by_segment(frames, value) -> dict[str, float]:
    orders = frames["orders"].merge(frames["customers"][["customer_id", "segment"]])
    return orders.assign(value=value(orders)).groupby("segment").value.sum().to_dict()


def test_changed_measure_shows_definition_diff_and_value_delta(repo, warehouse, frames):
    edit_orders(repo, revenue_to_gross)
    report = diff("HEAD", model_path=repo / "semantic" / "model", warehouse=warehouse)
    assert [(c.label, c.change) for c in report.changes] == [
        ("cube orders measure revenue", "changed")]
    assert "-sql: '{net_amount}'" in report.changes[0].diff
    assert "+sql: '{CUBE}.amount'" in report.changes[0].diff
    impacts = {impact.measure: impact for impact in report.impacts}
    assert set(impacts) == {"orders.revenue", "orders.aov", "orders.revenue_per_customer"}
    assert impacts["orders.aov"].reason == "depends on changed orders.revenue"
    revenue = impacts["orders.revenue"]
    assert revenue.by == "customers.segment"
    net = by_segment(frames, lambda o: o.amount - o.discount_amount)
    gross = by_segment(frames, lambda o: o.amount)
    rows = {row.key: row for row in revenue.rows}
    assert set(rows) == set(net)  # rooted at orders: segments without orders do not appear
    for segment, before in net.items():
        assert rows[segment].before == pytest.approx(before)
        assert rows[segment].after == pytest.approx(gross[segment])
        assert rows[segment].change == pytest.approx(gross[segment] - before)
        assert rows[segment].change_pct == pytest.approx(100 * (gross[segment] - before) / before)
    orders = frames["orders"]
    months = orders.groupby(orders.ordered_at.dt.strftime("%Y-%m"))
    assert revenue.time_dimension == "orders.ordered_at"
    assert {row.key: row.change for row in revenue.months} == pytest.approx(
        months.discount_amount.sum().to_dict())
    markdown = report.to_markdown()
    assert "## Metric diff: `HEAD` → working tree" in markdown
    assert "```diff" in markdown and "#### `orders.revenue` (changed)" in markdown
    smb = rows["SMB"]

    def shown(value: float) -> str:  # whole numbers without decimals, others with two
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"

    assert f"| SMB | {shown(smb.before)} | {shown(smb.after)} | +{shown(smb.change)} |" \
        in markdown


def test_added_measure_has_no_before_value(repo, warehouse, frames):
    edit_orders(repo, lambda cube: cube["measures"].append(
        {"name": "discount", "type": "sum", "sql": "{CUBE}.discount_amount",
         "description": "Discounts granted.", "meta": {"owner": "finance"}}))
    report = diff("HEAD", model_path=repo / "semantic" / "model", warehouse=warehouse)
    assert [(c.label, c.change) for c in report.changes] == [
        ("cube orders measure discount", "added")]
    impact = report.impacts[0]
    expected = by_segment(frames, lambda o: o.discount_amount)
    assert {row.key: row.after for row in impact.rows if row.key in expected} == \
        pytest.approx(expected)
    assert all(row.before is None and row.change is None for row in impact.rows)
    assert '"change": "added"' in report.to_json()


def test_new_side_reads_the_sqlmesh_environment_schemas(repo, tmp_path, frames):
    path = build_warehouse(tmp_path / "w.duckdb", frames)
    doubled = {**frames, "orders": frames["orders"].assign(amount=frames["orders"].amount * 2)}
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA warehouse__pr_7")
    write_tables(con, doubled)  # rewrites prod tables with doubled amounts ...
    write_tables(con, frames)  # ... then restores prod; copy the doubled orders to the env
    con.register("doubled", doubled["orders"])
    con.execute("CREATE TABLE warehouse__pr_7.fact_order AS SELECT order_id, customer_id, "
                "CAST(ordered_at AS DATE) AS ordered_at, amount, discount_amount, status "
                "FROM doubled")
    con.close()
    edit_orders(repo, revenue_to_gross)
    report = diff("HEAD", model_path=repo / "semantic" / "model", warehouse=path, env="pr_7")
    rows = {row.key: row for row in report.impacts[0].rows}
    net = by_segment(frames, lambda o: o.amount - o.discount_amount)
    env_gross = by_segment(frames, lambda o: 2 * o.amount)
    assert report.impacts[0].measure == "orders.revenue"
    for segment in net:
        assert rows[segment].before == pytest.approx(net[segment])
        assert rows[segment].after == pytest.approx(env_gross[segment])
    with pytest.raises(DiffError, match="no SQLMesh environment 'pr_8'"):
        diff("HEAD", model_path=repo / "semantic" / "model", warehouse=path, env="pr_8")


def test_invalid_ref_is_a_clear_error(repo, warehouse):
    with pytest.raises(DiffError, match="unknown git ref 'no-such-branch'"):
        diff("no-such-branch", model_path=repo / "semantic" / "model", warehouse=warehouse)


def test_unchanged_model_reports_no_changes(repo, warehouse):
    report = diff("HEAD", model_path=repo / "semantic" / "model", warehouse=warehouse)
    assert report.changes == [] and report.impacts == []
    assert "No changes to the semantic model." in report.to_markdown()
