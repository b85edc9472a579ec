"""The import path on real data: CDNOW's 69,659 CD purchases (lifetimes package) as own exports.

CDNOW (Fader, Hardie & Lee) is a public transaction log of 23,570 customers who first bought in
the first quarter of 1997, followed to June 1998. Each purchase becomes a completed one-off order
in billing/orders.csv, each customer a CRM row that signs up on the day of the first purchase;
the other contract tables are exported empty (headers only), as a business that only has a
transaction system would export them. Expected figures are computed with pandas from the raw
file, never read back from the warehouse.
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import lifetimes
import pandas as pd
import pytest
from typer.testing import CliRunner

from custintel.app.cli import app
from custintel.core.landing import load_contract
from custintel.core.settings import Settings, load_settings
from semantic import load
from tests.conftest import write_config

CDNOW_FILE = Path(lifetimes.__file__).parent / "datasets" / "CDNOW_master.txt"


def _transactions() -> pd.DataFrame:
    raw = pd.read_csv(CDNOW_FILE, sep=r"\s+", dtype={"customer_id": str, "date": str})
    raw["ordered_at"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    raw["customer_id"] = "CD" + raw["customer_id"]
    raw["order_id"] = [f"CDNOW{row:06d}" for row in range(1, len(raw) + 1)]
    return raw


def _write_csv(path: Path, columns: list[str], frame: pd.DataFrame | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if frame is None:
        with path.open("w", newline="") as handle:
            csv.writer(handle).writerow(columns)
        return
    frame[columns].to_csv(path, index=False)


def _write_exports(landing: Path, transactions: pd.DataFrame) -> None:
    orders = transactions.assign(
        ordered_at=transactions["ordered_at"].dt.strftime("%Y-%m-%d 12:00:00"),
        order_type="Add-on",
        product_name="CD",
        quantity=transactions["number_of_cds"],
        gross_amount=transactions["dollar_value"],
        discount_amount=0.0,
        order_status="Completed",
    )
    first_purchase = transactions.groupby("customer_id")["ordered_at"].min().reset_index()
    customers = first_purchase.assign(
        customer_name="CDNOW customer " + first_purchase["customer_id"].str[2:],
        email=None,
        phone=None,
        customer_segment="Residential",
        customer_tier="Bronze",
        status="Active",
        city=None,
        state=None,
        country="US",
        region="Central",
        account_manager_id=None,
        signup_date=first_purchase["ordered_at"].dt.strftime("%Y-%m-%d"),
        contract_end_date=None,
        has_marketing_consent=False,
        updated_at=first_purchase["ordered_at"].dt.strftime("%Y-%m-%d 00:00:00"),
    )
    for table in load_contract().tables:
        path = landing / table.system / f"{table.name}.csv"
        columns = [column.name for column in table.columns]
        rows = {"billing__orders": orders, "crm__customers": customers}.get(table.qualified_name)
        _write_csv(path, columns, rows)


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, pd.DataFrame]:
    """One `custintel build --landing` of the CDNOW exports (no ML, no site)."""
    tmp_path = tmp_path_factory.mktemp("cdnow")
    transactions = _transactions()
    landing = tmp_path / "exports"
    _write_exports(landing, transactions)
    config = write_config(tmp_path, sqlmesh={"start": "1997-01-01"})
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
    return load_settings(config), transactions


def _query(settings: Settings, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(sql).df()


def test_every_landed_row_is_loaded_or_quarantined(cdnow) -> None:
    settings, transactions = cdnow
    reconciliation = _query(
        settings,
        "select source_table, landed_rows, loaded_rows, rejected_rows "
        "from quarantine.landing_reconciliation",
    ).set_index("source_table")
    assert (
        reconciliation["landed_rows"]
        == reconciliation["loaded_rows"] + reconciliation["rejected_rows"]
    ).all()
    # CDNOW has no negative amount and no zero quantity: nothing breaks a rule
    assert reconciliation.loc["billing__orders", "landed_rows"] == len(transactions) == 69_659
    assert reconciliation.loc["billing__orders", "rejected_rows"] == 0
    customer_count = transactions["customer_id"].nunique()
    assert reconciliation.loc["crm__customers", "loaded_rows"] == customer_count == 23_570
    assert reconciliation["rejected_rows"].sum() == 0


def test_order_fact_keeps_every_purchase_to_the_cent(cdnow) -> None:
    settings, transactions = cdnow
    fact = _query(
        settings,
        "select count(*) as orders, sum(quantity) as units, "
        "sum(gross_amount - discount_amount) as revenue, "
        "min(cast(ordered_at as date)) as first_day, max(cast(ordered_at as date)) as last_day "
        "from warehouse.fact_order",
    ).iloc[0]
    assert fact["orders"] == len(transactions)
    assert fact["units"] == transactions["number_of_cds"].sum()
    assert fact["revenue"] == pytest.approx(transactions["dollar_value"].sum(), abs=0.005)
    assert str(fact["first_day"])[:10] == "1997-01-01"
    assert str(fact["last_day"])[:10] == "1998-06-30"


def test_customer_360_orders_and_revenue_match_pandas_for_every_customer(cdnow) -> None:
    settings, transactions = cdnow
    mart = (
        _query(
            settings,
            "select customer_id, lifetime_orders_count, lifetime_order_revenue_amount, "
            "avg_order_value_amount from marts.customer_360_view",
        )
        .set_index("customer_id")
        .sort_index()
    )
    expected = (
        transactions.groupby("customer_id")
        .agg(orders=("order_id", "size"), revenue=("dollar_value", "sum"))
        .sort_index()
    )
    assert list(mart.index) == list(expected.index)
    assert (mart["lifetime_orders_count"] == expected["orders"]).all()
    assert (mart["lifetime_order_revenue_amount"] - expected["revenue"]).abs().max() < 0.005
    aov = expected["revenue"] / expected["orders"]
    assert (mart["avg_order_value_amount"] - aov).abs().max() < 0.005


def test_governed_order_metrics_by_month_match_pandas(cdnow) -> None:
    settings, transactions = cdnow
    result = load(
        {
            "measures": ["revenue.orders", "revenue.order_revenue", "revenue.aov"],
            "timeDimensions": [{"dimension": "revenue.ordered_at", "granularity": "month"}],
            "order": {"revenue.ordered_at": "asc"},
        },
        settings=settings,
    )
    months = transactions["ordered_at"].dt.to_period("M").dt.to_timestamp()
    expected = transactions.groupby(months).agg(
        orders=("order_id", "size"), revenue=("dollar_value", "sum")
    )
    assert len(result) == len(expected) == 18
    got_months = pd.to_datetime(result["revenue.ordered_at.month"]).dt.tz_localize(None)
    assert list(got_months) == list(expected.index)
    assert list(result["revenue.orders"]) == list(expected["orders"])
    revenue_gap = result["revenue.order_revenue"].to_numpy() - expected["revenue"].to_numpy()
    assert abs(revenue_gap).max() < 0.005
    expected_aov = (expected["revenue"] / expected["orders"]).to_numpy()
    assert abs(result["revenue.aov"].to_numpy() - expected_aov).max() < 0.005
