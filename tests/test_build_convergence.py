"""A warehouse that stays true: corrections, crashes and failed builds converge to exactly what a
clean build of the same landing gives (every table, every row, doubles to 6 decimals).

Sample: 300 customers over 2024-01..2024-06 from the generator (L1). L0 is what the systems
exported on 2024-06-01 (tests/marts_support.truncate_landing): the new-month build goes L0 -> L1.
L2 is L1 with corrections re-delivered under the same names: an invoice amount (same size,
mtime restored), a customer's segment, a campaign added to the campaigns file, and one usage
part file removed (its rows must leave the warehouse), and case 4's NaN / infinite invoice
amounts in the last month. Clean builds of L1 and L2 are the
reference. Builds run as `custintel build` in child processes, so `kill -9` is real: the
process SIGKILLs itself at a named point (CUSTINTEL_KILL_AT, custintel/app/faults.py).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from custintel.app.build_journal import BuildJournal
from custintel.core.settings import load_settings
from custintel.generate import generate_landing
from tests.build_convergence_support import (
    build_ok,
    cli_build,
    copy_build,
    differences,
    digest,
    warehouse_of,
)
from tests.conftest import write_config
from tests.marts_support import truncate_landing

pytestmark = pytest.mark.slow

CUTOFF = dt.date(2024, 6, 1)
KILL_POINTS = [
    "load",
    "sqlmesh:staging",
    "sqlmesh:warehouse",
    "sqlmesh:quarantine",
    "sqlmesh:marts",
]


@pytest.fixture(scope="module")
def landings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("landings")
    l1 = root / "l1"
    generate_landing(
        l1, customers=300, months=6, start_date=dt.date(2024, 1, 1), seed=5, defect_rate=0.01
    )
    l0 = truncate_landing(l1, root / "l0", CUTOFF)
    l2 = root / "l2"
    shutil.copytree(l1, l2)
    _correct(l2)
    return {"l0": l0, "l1": l1, "l2": l2}


def _correct(landing: Path) -> None:
    """Re-deliveries under the same names, as a source system would send them."""
    invoices = sorted((landing / "billing" / "invoices").glob("*.parquet"))[1]
    stat = invoices.stat()
    original = pq.read_table(invoices)
    frame = original.to_pandas()
    frame.loc[frame.index[0], "gross_amount"] += 17.25
    pq.write_table(
        pa.Table.from_pandas(frame, schema=original.schema, preserve_index=False), invoices
    )
    os.utime(invoices, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    customers = landing / "crm" / "customers.parquet"
    frame = pd.read_parquet(customers)
    first = frame.index[frame["customer_segment"] == "Residential"][0]
    frame.loc[first, "customer_segment"] = "SMB"
    frame.to_parquet(customers, index=False)
    campaigns = landing / "marketing" / "campaigns.parquet"
    frame = pd.read_parquet(campaigns)
    extra = frame.iloc[[0]].copy()
    extra["campaign_id"] = "CMP-LATE-ADDED"
    pd.concat([frame, extra]).to_parquet(campaigns, index=False)
    usage_parts = sorted((landing / "network" / "usage").glob("*.parquet"))
    usage_parts[1].unlink()  # February's usage withdrawn
    # case 4's defect: a NaN and an infinite invoice amount in the last month
    june = sorted((landing / "billing" / "invoices").glob("*.parquet"))[-1]
    table = pq.read_table(june)
    frame = table.to_pandas()
    # rows without a planted defect that an earlier rule would report first (null, copy)
    clean_rows = frame.index[frame.notna().all(axis=1) & ~frame.duplicated(keep=False)]
    for column, row, value in (
        ("credit_amount", clean_rows[0], float("nan")),
        ("gross_amount", clean_rows[1], float("-inf")),
    ):
        values = table.column(column).to_numpy().copy()
        values[row] = value
        index = table.schema.get_field_index(column)
        table = table.set_column(index, column, pa.array(values, from_pandas=False))
    pq.write_table(table, june)


def _fresh_root(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    root = tmp_path_factory.mktemp(name)
    write_config(root)
    return root


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory, landings: dict[str, Path]) -> dict:
    """Clean builds (empty warehouse) of L0, L1 and L2, and their digests."""
    digests = {}
    roots = {}
    for name in ("l0", "l1", "l2"):
        root = _fresh_root(tmp_path_factory, f"clean_{name}")
        build_ok(root / "config.yaml", landings[name])
        roots[name] = root
        digests[name] = digest(warehouse_of(root))
    return {"roots": roots, "digests": digests, "landings": landings}


def test_the_corrections_change_what_the_clean_builds_hold(clean: dict) -> None:
    """The scenarios are not vacuous: L0, L1 and L2 give different warehouses."""
    d0, d1, d2 = (clean["digests"][name] for name in ("l0", "l1", "l2"))
    assert differences(d1, d0) and differences(d2, d1)
    changed = set(differences(d2, d1))
    assert any(line.startswith("warehouse.fact_network_usage") for line in changed)
    assert any(line.startswith("warehouse.dim_customer") for line in changed)
    assert any(line.startswith("warehouse.fact_invoice") for line in changed)
    assert any(line.startswith("warehouse.dim_campaign") for line in changed)


@pytest.mark.parametrize(
    ("before", "after"), [("l0", "l1"), ("l1", "l2")], ids=["new-month", "correction"]
)
def test_a_build_killed_anywhere_is_rolled_back_and_the_rerun_equals_the_clean_build(
    tmp_path_factory: pytest.TempPathFactory, landings: dict, clean: dict, before: str, after: str
) -> None:
    """kill -9 at the load and in each SQLMesh layer (and, for corrections, in the
    restatement): each time the next run finds the build unfinished and restores the last
    finished state exactly. Then a build that fails in the marts layer leaves prod as it was.
    The final rerun (the incremental build) equals the clean build."""
    root = tmp_path_factory.mktemp(f"killed_{after}")
    shutil.rmtree(root)
    copy_build(clean["roots"][before], root)
    config = root / "config.yaml"
    settings = load_settings(config, environ={})
    points = KILL_POINTS + (["restate"] if after == "l2" else [])
    for point in points:
        killed = cli_build(config, landings[after], kill_at=point)
        assert killed.returncode == -9, (point, killed.stdout[-2000:], killed.stderr[-2000:])
        assert BuildJournal(settings).read().status == "running"
        assert BuildJournal(settings).recover() is not None
        assert differences(digest(settings.warehouse_path), clean["digests"][before]) == [], point
    failed = cli_build(config, landings[after], fail_at="sqlmesh:marts")
    assert failed.returncode == 1
    assert "failure injected at sqlmesh:marts" in " ".join((failed.stdout + failed.stderr).split())
    assert BuildJournal(settings).read().status == "done"
    assert differences(digest(settings.warehouse_path), clean["digests"][before]) == []
    build_ok(config, landings[after])
    assert differences(digest(settings.warehouse_path), clean["digests"][after]) == []


def test_a_non_finite_amount_is_quarantined_under_its_own_rule(clean: dict) -> None:
    """Case 4's file (a NaN and an infinite amount in the new month) builds: both rows are
    quarantined as non_finite, and every landed row is loaded or rejected."""
    with duckdb.connect(str(warehouse_of(clean["roots"]["l2"])), read_only=True) as con:
        rejected = con.execute(
            "select _source_file, _source_row_number, rejection_reason from "
            "quarantine.rejects_billing__invoices where rejection_reason like 'non_finite:%' "
            "order by 2"
        ).fetchall()
        reconciliation = con.execute(
            "select landed_rows, loaded_rows + rejected_rows from "
            "quarantine.landing_reconciliation where source_table = 'billing__invoices'"
        ).fetchone()
    june = clean["landings"]["l2"] / "billing" / "invoices" / "part-2024-06.parquet"
    frame = pq.read_table(june).to_pandas()
    expected = [
        (int(index) + 1, f"non_finite:{column}")
        for index, row in frame.iterrows()
        for column in ("gross_amount", "credit_amount", "discount_amount")
        if not math.isfinite(row[column])
    ]
    assert len(expected) == 2
    assert [row[1:] for row in rejected] == sorted(expected)
    assert {row[0] for row in rejected} == {"billing/invoices/part-2024-06.parquet"}
    assert reconciliation[0] == reconciliation[1]
