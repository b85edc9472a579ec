"""The loader copies every contract table into the landing schema, or names what is wrong."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from custintel.core.landing import load_contract
from custintel.core.landing.files import LandingError
from custintel.core.landing.loader import load_landing
from tests.landing_support import copy_fixture


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    return copy_fixture(tmp_path)


def _csv_rows(path: Path) -> int:
    return len(pd.read_csv(path))


def test_every_table_lands_with_file_and_row_lineage(landing: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "wh.duckdb"
    report = load_landing(landing, warehouse)
    contract = load_contract()
    assert len(report.tables) == len(contract.tables) == 14
    for table in contract.tables:
        expected = _csv_rows(landing / table.system / f"{table.name}.csv")
        assert report.rows[table.qualified_name] == expected
    with duckdb.connect(str(warehouse)) as con:
        row = con.execute(
            "select customer_segment, _source_file, _source_row_number, updated_at "
            "from landing.crm__customers where _source_row_number = 1"
        ).fetchone()
        types = dict(
            con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = 'landing' and table_name = 'billing__invoices'"
            ).fetchall()
        )
    assert row[0] == "residential "  # the loader copies; staging standardises
    assert row[1:3] == ("crm/customers.csv", 1)
    assert str(row[3]) == "2023-06-01 09:00:00"
    assert types["gross_amount"] == "DOUBLE"
    assert types["invoice_date"] == "DATE"


def test_unchanged_files_are_not_reloaded(landing: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "wh.duckdb"
    assert len(load_landing(landing, warehouse).reloaded) == 14
    assert load_landing(landing, warehouse).reloaded == []
    orders = landing / "billing" / "orders.csv"
    orders.write_text(
        orders.read_text() + "O06,C001,2024-03-30 10:00:00,Add-on,TV Sports,1,9.99,0,Completed\n"
    )
    again = load_landing(landing, warehouse)
    assert again.reloaded == ["billing__orders"]
    assert again.rows["billing__orders"] == 6


def test_parquet_part_folders_are_unioned(landing: Path, tmp_path: Path) -> None:
    usage = pd.read_csv(landing / "network" / "usage.csv")
    (landing / "network" / "usage.csv").unlink()
    parts = landing / "network" / "usage"
    parts.mkdir()
    usage["usage_date"] = pd.to_datetime(usage["usage_date"]).dt.date
    for month, frame in usage.groupby(pd.to_datetime(usage["usage_date"]).dt.month):
        frame.to_parquet(parts / f"part-2024-{month:02d}.parquet", index=False)
    report = load_landing(landing, tmp_path / "wh.duckdb")
    assert report.rows["network__usage"] == len(usage)
    assert report.tables[-1].files == [f"network/usage/part-2024-0{m}.parquet" for m in (1, 2, 3)]


def test_bad_csv_value_names_file_row_and_column(landing: Path, tmp_path: Path) -> None:
    orders = landing / "billing" / "orders.csv"
    lines = orders.read_text().splitlines()
    lines[2] = lines[2].replace(",1,60.00,", ",one,60.00,")  # data row 2
    orders.write_text("\n".join(lines) + "\n")
    with pytest.raises(LandingError) as error:
        load_landing(landing, tmp_path / "wh.duckdb")
    assert error.value.row == 2
    assert error.value.column == "quantity"
    assert "billing/orders.csv" in str(error.value)
    assert "'one' is not a valid integer" in str(error.value)


def test_missing_column_is_named(landing: Path, tmp_path: Path) -> None:
    tickets = pd.read_csv(landing / "support" / "tickets.csv").drop(columns=["priority"])
    tickets.to_csv(landing / "support" / "tickets.csv", index=False)
    with pytest.raises(LandingError, match=r"tickets.csv, column 'priority': required column"):
        load_landing(landing, tmp_path / "wh.duckdb")


def test_wrong_parquet_type_is_named(landing: Path, tmp_path: Path) -> None:
    invoices = pd.read_csv(landing / "billing" / "invoices.csv", dtype=str)
    (landing / "billing" / "invoices.csv").unlink()
    invoices.to_parquet(landing / "billing" / "invoices.parquet", index=False)
    with pytest.raises(
        LandingError, match=r"invoices.parquet, column 'invoice_date': expected date"
    ):
        load_landing(landing, tmp_path / "wh.duckdb")


def test_corrupt_file_leaves_the_warehouse_untouched(landing: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "wh.duckdb"
    load_landing(landing, warehouse)
    (landing / "billing" / "orders.csv").unlink()
    (landing / "billing" / "orders.parquet").write_bytes(b"PAR1 this is not parquet")
    (landing / "crm" / "account_managers.csv").write_text(
        "account_manager_id,full_name,email,region\nAM09,New Person,n@x.example,East\n"
    )
    with pytest.raises(LandingError, match="orders.parquet: not a readable Parquet file"):
        load_landing(landing, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        managers = con.execute("select account_manager_id from landing.crm__account_managers")
        assert sorted(r[0] for r in managers.fetchall()) == ["AM01", "AM02"]


def test_missing_table_is_named(landing: Path, tmp_path: Path) -> None:
    (landing / "marketing" / "campaigns.csv").unlink()
    with pytest.raises(LandingError, match="no landing file for marketing/campaigns"):
        load_landing(landing, tmp_path / "wh.duckdb")
