"""Every landing file is read exactly: found (or refused by name), read literally, values kept.

The landing folder is the hand-written CSV fixture; each test changes it the way a source system
or an attacker would. Expected values are written by hand; "nothing is lost" is checked by walking
the folder independently of the loader: every file is loaded, ignored by convention or refused.
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from custintel.core.landing import load_contract
from custintel.core.landing.files import LandingError
from custintel.core.landing.loader import LoadReport, load_landing
from tests.landing_support import copy_fixture


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    return copy_fixture(tmp_path)


def _rows(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def _table_load(report: LoadReport, qualified_name: str) -> Any:
    """The load of one table in a report (tables are reported in contract order)."""
    (load,) = [table for table in report.tables if table.qualified_name == qualified_name]
    return load


def _every_file(root: Path) -> set[str]:
    found = set()
    for folder, _, files in os.walk(root):
        found |= {(Path(folder) / name).relative_to(root).as_posix() for name in files}
    return found


def _assert_every_file_accounted_for(landing: Path, report: LoadReport) -> None:
    loaded = {path for table in report.tables for path in table.files}
    ignored = {item.relative_path for item in report.ignored}
    assert not loaded & ignored
    # ignored folders stand for every file inside them
    covered = {
        path
        for path in _every_file(landing)
        if path in loaded or any(path == i or path.startswith(i + "/") for i in ignored)
    }
    assert covered == _every_file(landing)


def _usage(landing: Path) -> pd.DataFrame:
    frame = pd.read_csv(landing / "network" / "usage.csv")
    frame["usage_date"] = pd.to_datetime(frame["usage_date"]).dt.date
    return frame


# --- case 2: content, not size and time stamps -------------------------------------------------


def test_a_same_size_correction_with_its_mtime_restored_is_reloaded(
    landing: Path, tmp_path: Path
) -> None:
    warehouse = tmp_path / "wh.duckdb"
    load_landing(landing, warehouse)
    invoices = landing / "billing" / "invoices.csv"
    stat = invoices.stat()
    text = invoices.read_text()
    corrected = text.replace(
        "I0101,C001,2024-01-01,2024-01-01,2024-01-31,50.00",
        "I0101,C001,2024-01-01,2024-01-01,2024-01-31,59.00",
    )
    assert corrected != text and len(corrected) == len(text)
    invoices.write_text(corrected)
    os.utime(invoices, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (
        invoices.stat().st_size == stat.st_size and invoices.stat().st_mtime_ns == stat.st_mtime_ns
    )

    report = load_landing(landing, warehouse)

    assert report.reloaded == ["billing__invoices"]
    load = _table_load(report, "billing__invoices")
    assert load.changed == ["billing/invoices.csv"] and load.added == load.removed == []
    # a corrected amount counts from its invoice's date
    assert load.restate_from == dt.date(2024, 1, 1)
    assert _rows(
        warehouse, "select gross_amount from landing.billing__invoices where invoice_id = 'I0101'"
    ) == [(59.0,)]


# --- case 5: every file under a table's folder -------------------------------------------------


def test_sub_folders_upper_case_suffixes_and_compressed_files_are_all_loaded(
    landing: Path, tmp_path: Path
) -> None:
    usage = _usage(landing)
    (landing / "network" / "usage.csv").unlink()
    parts = [usage.iloc[i::5].reset_index(drop=True) for i in range(5)]
    folder = landing / "network" / "usage"
    (folder / "2024" / "q1").mkdir(parents=True)
    pq.write_table(
        pa.Table.from_pandas(parts[0]), folder / "2024" / "q1" / "deep.PARQUET", compression="zstd"
    )
    pq.write_table(
        pa.Table.from_pandas(parts[1]), folder / "gzip-codec.parquet", compression="gzip"
    )
    with gzip.open(folder / "part.csv.gz", "wt") as handle:
        parts[2].to_csv(handle, index=False)
    parts[3].to_csv(folder / "UPPER.CSV", index=False)
    pa_csv_path = folder / "part.CSV.ZST"
    with pa.CompressedOutputStream(str(pa_csv_path), "zstd") as stream:
        stream.write(parts[4].to_csv(index=False).encode())
    (folder / "_SUCCESS").write_text("")
    (folder / ".part.crc").write_text("x")

    report = load_landing(landing, tmp_path / "wh.duckdb")

    usage_load = _table_load(report, "network__usage")
    assert usage_load.files == sorted(
        [
            "network/usage/2024/q1/deep.PARQUET",
            "network/usage/gzip-codec.parquet",
            "network/usage/part.csv.gz",
            "network/usage/UPPER.CSV",
            "network/usage/part.CSV.ZST",
        ]
    )
    assert usage_load.rows == len(usage)
    per_file = dict(
        _rows(
            tmp_path / "wh.duckdb",
            "select _source_file, count(*) from landing.network__usage group by 1",
        )
    )
    assert sorted(per_file.values()) == sorted(len(p) for p in parts)
    assert {i.relative_path for i in report.ignored} >= {
        "network/usage/_SUCCESS",
        "network/usage/.part.crc",
        "README.md",
    }
    _assert_every_file_accounted_for(landing, report)
    # the values survive every format: total data volume as in the original CSV
    total = _rows(tmp_path / "wh.duckdb", "select sum(data_volume_mb) from landing.network__usage")
    assert total[0][0] == pytest.approx(usage["data_volume_mb"].sum())


@pytest.mark.parametrize(
    ("relative", "reason"),
    [
        ("network/usage/notes.txt", "unsupported file type"),
        ("network/usage.json", "unsupported file type"),
        ("crm/leads.csv", "file of no contract table"),
        ("crm/Customers.csv", "file of no contract table"),
        ("crm/leads/part.csv", "folder of no contract table"),
        ("billing/invoices/old.xlsx", "unsupported file type"),
    ],
)
def test_any_other_file_is_refused_by_name_and_nothing_is_written(
    landing: Path, tmp_path: Path, relative: str, reason: str
) -> None:
    warehouse = tmp_path / "wh.duckdb"
    target = landing / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("customer_id\nC001\n")
    with pytest.raises(LandingError) as error:
        load_landing(landing, warehouse)
    where = relative if "leads/" not in relative else "crm/leads"
    assert where in str(error.value) and reason in str(error.value)
    assert not warehouse.exists()


def test_every_refused_file_is_counted_in_the_one_error(landing: Path, tmp_path: Path) -> None:
    for name in ("a.txt", "b.txt", "c.txt"):
        (landing / "billing" / name).write_text("x")
    with pytest.raises(
        LandingError,
        match=r"billing/a.txt: .*\(and 2 more refused: "
        r"billing/b.txt, billing/c.txt\)",
    ):
        load_landing(landing, tmp_path / "wh.duckdb")


# --- case 6: names reach DuckDB literally ------------------------------------------------------


def test_glob_characters_in_file_names_read_only_that_file(landing: Path, tmp_path: Path) -> None:
    usage = _usage(landing)
    (landing / "network" / "usage.csv").unlink()
    folder = landing / "network" / "usage"
    folder.mkdir()
    names = [
        "part1.parquet",
        "part[12].parquet",
        "part*.parquet",
        "part?.parquet",
        "it's {a,b}.parquet",
    ]
    chunks = [usage.iloc[i :: len(names)].reset_index(drop=True) for i in range(len(names))]
    for name, chunk in zip(names, chunks, strict=True):
        pq.write_table(pa.Table.from_pandas(chunk), folder / name)

    report = load_landing(landing, tmp_path / "wh.duckdb")

    assert report.rows["network__usage"] == len(usage)
    per_file = dict(
        _rows(
            tmp_path / "wh.duckdb",
            "select _source_file, count(*) from landing.network__usage group by 1",
        )
    )
    assert per_file == {f"network/usage/{n}": len(c) for n, c in zip(names, chunks, strict=True)}


# --- case 7: values are not changed on load ----------------------------------------------------


def test_utc_offsets_are_converted_to_utc(landing: Path, tmp_path: Path) -> None:
    orders = landing / "billing" / "orders.csv"
    text = orders.read_text()
    text = text.replace("O01,C001,2024-01-20 15:00:00", "O01,C001,2024-01-20T23:30:00-05:00")
    text = text.replace("O02,C002,2024-01-12 11:00:00", "O02,C002,2024-01-12 11:00:00+05:30")
    text = text.replace("O03,C002,2024-03-02 11:00:00", "O03,C002,2024-03-02T11:00:00Z")
    orders.write_text(text)
    invoices = landing / "billing" / "invoices.csv"
    invoices.write_text(
        invoices.read_text().replace(
            "I0101,C001,2024-01-01,", "I0101,C001,2023-12-31T22:00:00-03:00,"
        )
    )
    warehouse = tmp_path / "wh.duckdb"

    load_landing(landing, warehouse)

    ordered = dict(_rows(warehouse, "select order_id, ordered_at from landing.billing__orders"))
    assert ordered["O01"] == dt.datetime(2024, 1, 21, 4, 30)  # the next day in UTC
    assert ordered["O02"] == dt.datetime(2024, 1, 12, 5, 30)
    assert ordered["O03"] == dt.datetime(2024, 3, 2, 11, 0)
    assert ordered["O04"] == dt.datetime(2024, 2, 10, 14, 30)  # no offset: taken as UTC
    invoice_date = _rows(
        warehouse, "select invoice_date from landing.billing__invoices where invoice_id = 'I0101'"
    )
    assert invoice_date == [(dt.date(2024, 1, 1),)]


def test_parquet_timestamps_with_time_zone_are_converted_to_utc(
    landing: Path, tmp_path: Path
) -> None:
    orders = pd.read_csv(landing / "billing" / "orders.csv")
    (landing / "billing" / "orders.csv").unlink()
    local = pd.to_datetime(orders["ordered_at"]).dt.tz_localize("America/New_York")
    orders["ordered_at"] = local
    orders.to_parquet(landing / "billing" / "orders.parquet", index=False)
    warehouse = tmp_path / "wh.duckdb"
    load_landing(landing, warehouse)
    ordered = dict(_rows(warehouse, "select order_id, ordered_at from landing.billing__orders"))
    # 2024-01-20 15:00 in New York (EST, UTC-5) is 20:00 UTC
    assert ordered["O01"] == dt.datetime(2024, 1, 20, 20, 0)


@pytest.mark.parametrize("value", ["1.6", "2.5", "0x10", "1e3", "1_000", "1.0", "٣", "+", "2 3"])
def test_integer_columns_reject_non_integer_text(landing: Path, tmp_path: Path, value: str) -> None:
    orders = landing / "billing" / "orders.csv"
    lines = orders.read_text().splitlines()
    lines[2] = lines[2].replace(",1,60.00,", f",{value},60.00,")  # data row 2, quantity
    orders.write_text("\n".join(lines) + "\n")
    with pytest.raises(LandingError) as error:
        load_landing(landing, tmp_path / "wh.duckdb")
    assert (error.value.row, error.value.column) == (2, "quantity")
    assert f"{value!r} is not a valid integer" in str(error.value)


def test_signed_and_padded_integers_keep_their_value(landing: Path, tmp_path: Path) -> None:
    orders = landing / "billing" / "orders.csv"
    text = orders.read_text().replace(
        ",Device,Mesh Wi-Fi Extender,1,", ",Device,Mesh Wi-Fi Extender,+007,"
    )
    orders.write_text(text)
    load_landing(landing, tmp_path / "wh.duckdb")
    rows = _rows(
        tmp_path / "wh.duckdb",
        "select quantity from landing.billing__orders where order_id = 'O01'",
    )
    assert rows == [(7,)]


@pytest.mark.parametrize("value", ["0x10", "1_000.5", "12abc", "1,5"])
def test_double_columns_reject_malformed_numbers(landing: Path, tmp_path: Path, value: str) -> None:
    invoices = landing / "billing" / "invoices.csv"
    lines = invoices.read_text().splitlines()
    cells = lines[3].split(",")
    cells[5] = f'"{value}"'
    lines[3] = ",".join(cells)
    invoices.write_text("\n".join(lines) + "\n")
    with pytest.raises(LandingError) as error:
        load_landing(landing, tmp_path / "wh.duckdb")
    assert (error.value.row, error.value.column) == (3, "gross_amount")


def test_non_finite_doubles_load_as_they_are(landing: Path, tmp_path: Path) -> None:
    """NaN and infinities are doubles: they land unchanged and staging quarantines them
    (non_finite:<column>, tested in tests/test_build_convergence.py)."""
    invoices = landing / "billing" / "invoices.csv"
    lines = invoices.read_text().splitlines()
    for row, value in ((1, "NaN"), (2, "Infinity"), (3, "-inf")):
        cells = lines[row].split(",")
        cells[5] = value
        lines[row] = ",".join(cells)
    invoices.write_text("\n".join(lines) + "\n")
    load_landing(landing, tmp_path / "wh.duckdb")
    rows = _rows(
        tmp_path / "wh.duckdb",
        "select _source_row_number, gross_amount from "
        "landing.billing__invoices where not isfinite(gross_amount) "
        "order by 1",
    )
    assert [r[0] for r in rows] == [1, 2, 3]
    assert str(rows[0][1]) == "nan" and rows[1][1] == float("inf") and rows[2][1] == float("-inf")


# --- case 9: symbolic links and special files --------------------------------------------------


def test_a_symlink_out_of_the_landing_folder_is_refused_without_being_read(
    landing: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("customer_id,password\nC001,hunter2-TOP-SECRET\n")
    (landing / "crm" / "opportunities.csv").unlink()
    (landing / "crm" / "opportunities.csv").symlink_to(secret)
    before = secret.stat().st_atime_ns
    with pytest.raises(LandingError) as error:
        load_landing(landing, tmp_path / "wh.duckdb")
    message = str(error.value)
    assert "crm/opportunities.csv" in message and "outside the landing folder" in message
    assert "hunter2" not in message and "password" not in message
    assert secret.stat().st_atime_ns == before
    assert not (tmp_path / "wh.duckdb").exists()


def test_symlinked_folders_and_dangling_links_are_refused(landing: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (landing / "billing" / "orders").symlink_to(outside, target_is_directory=True)
    (landing / "billing" / "invoices").mkdir()
    (landing / "billing" / "invoices" / "gone.csv").symlink_to(landing / "nothing.csv")
    with pytest.raises(LandingError) as error:
        load_landing(landing, tmp_path / "wh.duckdb")
    message = str(error.value)
    assert "billing/invoices/gone.csv: broken symbolic link" in message
    assert "billing/orders" in message


def test_a_symlink_inside_the_landing_folder_is_read(landing: Path, tmp_path: Path) -> None:
    archive = landing / "_archive"
    archive.mkdir()
    shutil.move(landing / "crm" / "opportunities.csv", archive / "opportunities.csv")
    (landing / "crm" / "opportunities.csv").symlink_to(archive / "opportunities.csv")
    report = load_landing(landing, tmp_path / "wh.duckdb")
    assert report.rows["crm__opportunities"] == 3


def test_a_fifo_is_refused_without_being_opened(landing: Path, tmp_path: Path) -> None:
    os.mkfifo(landing / "billing" / "extra.csv")
    with pytest.raises(LandingError, match=r"billing/extra.csv: not a regular file"):
        load_landing(landing, tmp_path / "wh.duckdb")


# --- encoding and shape errors name the row ----------------------------------------------------


def test_invalid_utf8_names_the_row_and_column(landing: Path, tmp_path: Path) -> None:
    customers = landing / "crm" / "customers.csv"
    data = customers.read_bytes().split(b"\n")
    assert b",US," in data[3]
    data[3] = data[3].replace(b",US,", b",U\xff,", 1)  # latin-1 byte in data row 3
    customers.write_bytes(b"\n".join(data))
    with pytest.raises(LandingError) as error:
        load_landing(landing, tmp_path / "wh.duckdb")
    assert error.value.row == 3
    assert error.value.column == "country"
    assert "not valid UTF-8" in str(error.value)


def test_a_short_row_is_named(landing: Path, tmp_path: Path) -> None:
    orders = landing / "billing" / "orders.csv"
    lines = orders.read_text().splitlines()
    lines[4] = "O04,C005"
    orders.write_text("\n".join(lines) + "\n")
    with pytest.raises(LandingError) as error:
        load_landing(landing, tmp_path / "wh.duckdb")
    assert error.value.row == 4 and "2 fields, the header has 9" in str(error.value)


def test_an_empty_file_is_named(landing: Path, tmp_path: Path) -> None:
    (landing / "billing" / "orders.csv").write_bytes(b"")
    with pytest.raises(LandingError, match="billing/orders.csv"):
        load_landing(landing, tmp_path / "wh.duckdb")


def test_a_corrupt_gzip_is_named(landing: Path, tmp_path: Path) -> None:
    (landing / "billing" / "orders.csv").unlink()
    (landing / "billing" / "orders.csv.gz").write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(LandingError, match="billing/orders.csv.gz"):
        load_landing(landing, tmp_path / "wh.duckdb")


# --- removed, moved and added files ------------------------------------------------------------


def test_a_removed_file_takes_its_rows_out_and_a_moved_row_is_no_change(
    landing: Path, tmp_path: Path
) -> None:
    warehouse = tmp_path / "wh.duckdb"
    usage = _usage(landing)
    (landing / "network" / "usage.csv").unlink()
    folder = landing / "network" / "usage"
    folder.mkdir()
    months = {m: f for m, f in usage.groupby(pd.to_datetime(usage["usage_date"]).dt.month)}
    for month, frame in months.items():
        frame.to_csv(folder / f"2024-0{month}.csv", index=False)
    load_landing(landing, warehouse)

    # the same rows, regrouped into other files: nothing changed in time
    (folder / "2024-02.csv").unlink()
    (folder / "2024-03.csv").unlink()
    pd.concat([months[2], months[3]]).to_csv(folder / "2024-02-03.csv", index=False)
    moved = _table_load(load_landing(landing, warehouse), "network__usage")
    assert moved.reloaded and moved.restate_from is None
    assert moved.added == ["network/usage/2024-02-03.csv"]

    # March removed: its rows leave landing, the change counts from its first day
    pd.concat([months[2]]).to_csv(folder / "2024-02-03.csv", index=False)
    removed = _table_load(load_landing(landing, warehouse), "network__usage")
    assert removed.rows == len(usage) - len(months[3])
    assert removed.restate_from == min(months[3]["usage_date"])
    assert _rows(
        warehouse, "select count(*) from landing.network__usage where month(usage_date) = 3"
    ) == [(0,)]


def test_a_later_resolution_counts_from_the_resolution_and_a_new_row_from_its_date(
    landing: Path, tmp_path: Path
) -> None:
    warehouse = tmp_path / "wh.duckdb"
    load_landing(landing, warehouse)
    tickets = landing / "support" / "tickets.csv"
    tickets.write_text(
        tickets.read_text().replace(
            "TK03,C004,2024-03-05 08:00:00,,High,Open",
            "TK03,C004,2024-03-05 08:00:00,2024-03-20 10:00:00,High,Resolved",
        )
    )
    load = _table_load(load_landing(landing, warehouse), "support__tickets")
    assert load.restate_from == dt.date(2024, 3, 5)  # status (not a date) changed too

    tickets.write_text(
        tickets.read_text() + "TK09,C001,2024-03-25 12:00:00,,Low,Open,Chat,Account,false,false,,\n"
    )
    load = _table_load(load_landing(landing, warehouse), "support__tickets")
    assert load.restate_from == dt.date(2024, 3, 25)

    managers = landing / "crm" / "account_managers.csv"
    managers.write_text(managers.read_text().replace("North", "South", 1))
    load = _table_load(load_landing(landing, warehouse), "crm__account_managers")
    assert load.restate_from == dt.date(1, 1, 1)  # no effective date: all of history


def test_only_date_columns_changed_counts_from_the_earlier_value(
    landing: Path, tmp_path: Path
) -> None:
    warehouse = tmp_path / "wh.duckdb"
    load_landing(landing, warehouse)
    assignments = landing / "provisioning" / "service_assignments.csv"
    lines = assignments.read_text().splitlines()
    header = lines[0].split(",")
    end = header.index("end_date")
    for number, line in enumerate(lines[1:], start=1):
        cells = line.split(",")
        if cells[end] == "":
            cells[end] = "2024-03-28"
            lines[number] = ",".join(cells)
            break
    assignments.write_text("\n".join(lines) + "\n")
    load = _table_load(load_landing(landing, warehouse), "provisioning__service_assignments")
    assert load.restate_from == dt.date(2024, 3, 28)


def test_contract_tables_all_have_a_valid_effective_date_or_none() -> None:
    for table in load_contract().tables:
        if table.effective_date:
            assert table.column(table.effective_date).type in ("date", "timestamp")
