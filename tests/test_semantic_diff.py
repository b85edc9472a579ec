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
    subprocess.run(
        [
            "git",
            "-C",
            str(repo),
            "-c",
            "user.name=test",
            "-c",
            "user.email=test@example.com",
            *args,
        ],
        check=True,
        capture_output=True,
    )


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


def add_to_view(repo: Path, view: str, cube: str, member: str) -> None:
    path = repo / "semantic" / "model" / "views" / f"{view}.yml"
    document = yaml.safe_load(path.read_text())
    entry = next(c for c in document["views"][0]["cubes"] if c["join_path"].endswith(cube))
    entry["includes"].append(member)
    path.write_text(yaml.safe_dump(document, sort_keys=False))


SEGMENT = "customer_360.segment"


def test_changed_measure_shows_definition_diff_and_value_delta(repo, warehouse, frames):
    edit_orders(repo, revenue_to_gross)
    report = diff(
        "HEAD",
        model_path=repo / "semantic" / "model",
        warehouse=warehouse,
        segment_dimension=SEGMENT,
    )
    assert [(c.label, c.change) for c in report.changes] == [
        ("cube orders measure revenue", "changed")
    ]
    assert "-sql: '{net_amount}'" in report.changes[0].diff
    assert "+sql: '{CUBE}.amount'" in report.changes[0].diff
    impacts = {impact.measure: impact for impact in report.impacts}
    assert set(impacts) == {"orders.revenue", "orders.aov", "orders.revenue_per_customer"}
    assert impacts["orders.aov"].reason == "depends on changed orders.revenue"
    revenue = impacts["orders.revenue"]
    assert revenue.view_member == "customer_360.revenue"  # the first public view exposing it
    assert revenue.by == SEGMENT
    net = by_segment(frames, lambda o: o.amount - o.discount_amount)
    gross = by_segment(frames, lambda o: o.amount)
    rows = {row.key: row for row in revenue.rows}
    # the view is rooted at customers: a segment without orders shows with no value
    assert set(rows) == set(frames["customers"].segment)
    for segment in set(rows) - set(net):
        assert rows[segment].before is None and rows[segment].after is None
    for segment, before in net.items():
        assert rows[segment].before == pytest.approx(before)
        assert rows[segment].after == pytest.approx(gross[segment])
        assert rows[segment].change == pytest.approx(gross[segment] - before)
        assert rows[segment].change_pct == pytest.approx(100 * (gross[segment] - before) / before)
    orders = frames["orders"]
    months = orders.groupby(orders.ordered_at.dt.strftime("%Y-%m"))
    assert revenue.time_dimension == "customer_360.ordered_at"
    assert {row.key: row.change for row in revenue.months} == pytest.approx(
        months.discount_amount.sum().to_dict()
    )
    markdown = report.to_markdown()
    assert "## Metric diff: `HEAD` → working tree" in markdown
    assert "Values as role `analyst` sees them." in markdown
    assert "```diff" in markdown
    assert "#### `orders.revenue` as `customer_360.revenue` (changed)" in markdown
    smb = rows["SMB"]

    def shown(value: float) -> str:  # whole numbers without decimals, others with two
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"

    assert f"| SMB | {shown(smb.before)} | {shown(smb.after)} | +{shown(smb.change)} |" in markdown


def test_added_measure_has_no_before_value(repo, warehouse, frames):
    edit_orders(
        repo,
        lambda cube: cube["measures"].append(
            {
                "name": "discount",
                "type": "sum",
                "sql": "{CUBE}.discount_amount",
                "description": "Discounts granted.",
                "meta": {"owner": "finance"},
            }
        ),
    )
    add_to_view(repo, "customer_360", "orders", "discount")
    report = diff(
        "HEAD",
        model_path=repo / "semantic" / "model",
        warehouse=warehouse,
        segment_dimension=SEGMENT,
    )
    assert [(c.label, c.change) for c in report.changes] == [
        ("cube orders measure discount", "added"),
        ("view customer_360", "changed"),
    ]
    impact = report.impacts[0]
    expected = by_segment(frames, lambda o: o.discount_amount)
    assert {row.key: row.after for row in impact.rows if row.key in expected} == pytest.approx(
        expected
    )
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
    con.execute(
        "CREATE TABLE warehouse__pr_7.fact_order AS SELECT order_id, customer_id, "
        "CAST(ordered_at AS DATE) AS ordered_at, amount, discount_amount, status "
        "FROM doubled"
    )
    con.close()
    edit_orders(repo, revenue_to_gross)
    report = diff(
        "HEAD",
        model_path=repo / "semantic" / "model",
        warehouse=path,
        env="pr_7",
        segment_dimension=SEGMENT,
    )
    rows = {row.key: row for row in report.impacts[0].rows}
    net = by_segment(frames, lambda o: o.amount - o.discount_amount)
    env_gross = by_segment(frames, lambda o: 2 * o.amount)
    assert report.impacts[0].measure == "orders.revenue"
    for segment in net:
        assert rows[segment].before == pytest.approx(net[segment])
        assert rows[segment].after == pytest.approx(env_gross[segment])
    with pytest.raises(DiffError, match="no SQLMesh environment 'pr_8'"):
        diff(
            "HEAD",
            model_path=repo / "semantic" / "model",
            warehouse=path,
            env="pr_8",
            segment_dimension=SEGMENT,
        )


def test_invalid_ref_is_a_clear_error(repo, warehouse):
    with pytest.raises(DiffError, match="unknown git ref 'no-such-branch'"):
        diff("no-such-branch", model_path=repo / "semantic" / "model", warehouse=warehouse)


def test_unchanged_model_reports_no_changes(repo, warehouse):
    report = diff("HEAD", model_path=repo / "semantic" / "model", warehouse=warehouse)
    assert report.changes == [] and report.impacts == []
    assert "No changes to the semantic model." in report.to_markdown()


# -- governance: the diff shows what the reviewer role may see, never PII -------------------


def all_text(report) -> str:
    return report.to_markdown() + report.to_json()


@pytest.mark.parametrize(
    "dimension, reason",
    [
        ("customer_360.email", "may not see it unmasked"),  # masked for analysts
        ("customer_360.full_name", "may not see it unmasked"),
        ("customers.segment", "not a dimension of a view"),  # a (private) cube, not a view
        ("customer_360.revenue", "not a dimension of a view"),  # a measure
    ],
)
def test_segment_dimension_must_be_a_public_unmasked_view_dimension(
    repo, warehouse, dimension, reason
):
    edit_orders(repo, revenue_to_gross)
    with pytest.raises(DiffError, match=reason):
        diff(
            "HEAD",
            model_path=repo / "semantic" / "model",
            warehouse=warehouse,
            segment_dimension=dimension,
        )


def test_executive_reviewer_may_group_by_what_executives_see(repo, warehouse, frames):
    edit_orders(repo, revenue_to_gross)
    report = diff(
        "HEAD",
        model_path=repo / "semantic" / "model",
        warehouse=warehouse,
        segment_dimension="customer_360.email",
        reviewer_role="executive",
    )
    revenue = next(i for i in report.impacts if i.measure == "orders.revenue")
    assert {row.key for row in revenue.rows} == set(frames["customers"].email)


def test_pull_request_cannot_unmask_its_segment_dimension(repo, warehouse, frames):
    """The PR drops analysts' masking of email: the base model still masks it."""
    path = repo / "semantic" / "model" / "views" / "customer_360.yml"
    document = yaml.safe_load(path.read_text())
    analyst = next(p for p in document["views"][0]["access_policy"] if p.get("role") == "analyst")
    analyst["member_level"] = {"includes": "*"}
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    edit_orders(repo, revenue_to_gross)
    with pytest.raises(DiffError, match="may not see it unmasked in the base model"):
        diff(
            "HEAD",
            model_path=repo / "semantic" / "model",
            warehouse=warehouse,
            segment_dimension="customer_360.email",
        )


def test_pull_request_redefining_the_segment_loses_the_breakdown(repo, warehouse, frames):
    path = repo / "semantic" / "model" / "cubes" / "customers.yml"
    document = yaml.safe_load(path.read_text())
    segment = next(d for d in document["cubes"][0]["dimensions"] if d["name"] == "segment")
    segment["sql"] = "{CUBE}.email"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    edit_orders(repo, revenue_to_gross)
    report = diff(
        "HEAD",
        model_path=repo / "semantic" / "model",
        warehouse=warehouse,
        segment_dimension=SEGMENT,
    )
    assert report.impacts and all(impact.by is None for impact in report.impacts)
    assert "without a segment breakdown" in report.to_markdown()
    assert not any(email in all_text(report) for email in frames["customers"].email)
    net = (frames["orders"].amount - frames["orders"].discount_amount).sum()
    revenue = next(i for i in report.impacts if i.measure == "orders.revenue")
    assert [(r.key, r.before) for r in revenue.rows] == [("total", pytest.approx(net))]


@pytest.mark.parametrize(
    "sql",
    [
        "max({customers.email})",  # a text value: only numbers are shown
        "sum(cast({customers.email} as double))",  # DuckDB's conversion error quotes the e-mail
    ],
)
def test_measures_that_would_print_pii_show_no_pii(repo, warehouse, frames, sql):
    edit_orders(
        repo, lambda cube: cube["measures"].append({"name": "leak", "type": "number", "sql": sql})
    )
    add_to_view(repo, "customer_360", "orders", "leak")
    report = diff(
        "HEAD",
        model_path=repo / "semantic" / "model",
        warehouse=warehouse,
        segment_dimension=SEGMENT,
    )
    leak = next(i for i in report.impacts if i.measure == "orders.leak")
    assert not any(row.after is not None for row in leak.rows)  # no value, no text
    text = all_text(report)
    assert not any(email in text for email in frames["customers"].email)
    assert "@example" not in text


def test_measures_cannot_read_files_from_the_diff(repo, warehouse, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("x" * 4321)
    edit_orders(
        repo,
        lambda cube: cube["measures"].append(
            {
                "name": "peek",
                "type": "number",
                "sql": f"(select max(length(content)) from read_text('{secret}'))",
            }
        ),
    )
    add_to_view(repo, "customer_360", "orders", "peek")
    report = diff(
        "HEAD",
        model_path=repo / "semantic" / "model",
        warehouse=warehouse,
        segment_dimension=SEGMENT,
    )
    peek = next(i for i in report.impacts if i.measure == "orders.peek")
    assert any("withheld" in error for error in peek.errors)
    assert "4321" not in all_text(report) and "4,321" not in all_text(report)


def test_measures_in_no_public_view_are_listed_not_evaluated(repo, warehouse):
    edit_orders(
        repo,
        lambda cube: cube["measures"].append(
            {"name": "hidden_total", "type": "sum", "sql": "{CUBE}.amount"}
        ),
    )
    report = diff(
        "HEAD",
        model_path=repo / "semantic" / "model",
        warehouse=warehouse,
        segment_dimension=SEGMENT,
    )
    impact = next(i for i in report.impacts if i.measure == "orders.hidden_total")
    assert impact.rows == [] and impact.view_member is None
    assert "no public view exposes it" in impact.errors[0]


def test_reviewer_row_filters_apply(repo, warehouse, frames):
    """An account-manager reviewer sees only their customers' revenue (plain pandas)."""
    edit_orders(repo, revenue_to_gross)
    report = diff(
        "HEAD",
        model_path=repo / "semantic" / "model",
        warehouse=warehouse,
        segment_dimension=SEGMENT,
        reviewer_role="account_manager",
    )
    revenue = next(i for i in report.impacts if i.measure == "orders.revenue")
    # no account_manager_id claim: the row filter fails closed, nothing is shown
    assert revenue.rows == [] and any("account_manager_id" in e for e in revenue.errors)
