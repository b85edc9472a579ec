"""A warehouse that stays true: corrections, crashes and failed builds converge to exactly what a
clean build of the same landing gives (every table, every row, doubles to 6 decimals).

Sample: 300 customers over 2024-01..2024-06 from the generator (L1). L0 is what the systems
exported on 2024-06-01 (tests/marts_support.truncate_landing): the new-month build goes L0 -> L1.
L2 is L1 with corrections re-delivered under the same names: an invoice amount (same size,
mtime restored), a customer's segment, a campaign added to the campaigns file, and one usage
part file removed (its rows must leave the warehouse), and case 4's NaN / infinite invoice
amounts in the last month. Clean builds of L1 and L2 are the
reference. Builds run as `custintel build` in child processes, so `kill -9` is real: the
process SIGKILLs itself at a named point (CUSTINTEL_KILL_AT, custintel/faults.py).
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

from custintel.build_journal import BuildJournal
from custintel.generate import generate_landing
from custintel.settings import load_settings
from tests.build_convergence_support import cli_build, copy_build, differences, digest
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


def _build_ok(config: Path, landing: Path, **kwargs: object) -> None:
    result = cli_build(config, landing, **kwargs)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def _warehouse(root: Path) -> Path:
    return load_settings(root / "config.yaml", environ={}).warehouse_path


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
        _build_ok(root / "config.yaml", landings[name])
        roots[name] = root
        digests[name] = digest(_warehouse(root))
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
    _build_ok(config, landings[after])
    assert differences(digest(settings.warehouse_path), clean["digests"][after]) == []


def test_a_non_finite_amount_is_quarantined_under_its_own_rule(clean: dict) -> None:
    """Case 4's file (a NaN and an infinite amount in the new month) builds: both rows are
    quarantined as non_finite, and every landed row is loaded or rejected."""
    with duckdb.connect(str(_warehouse(clean["roots"]["l2"])), read_only=True) as con:
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


# --- ML write-back and site: a longer history, so the churn model trains ----------------------

ML_MONTHS = 12
ML_SETTINGS = {"test_snapshots": 1, "valid_snapshots": 1}


@pytest.fixture(scope="module")
def ml_builds(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """300 customers x 12 months with the model and site: a clean build of M1 and a build of M0
    (exported on the first day of the last month) to start the new-month build from."""
    root = tmp_path_factory.mktemp("ml_landings")
    m1 = root / "m1"
    generate_landing(m1, customers=300, months=ML_MONTHS, start_date=dt.date(2024, 1, 1),
                     seed=11, defect_rate=0.01)
    m0 = truncate_landing(m1, root / "m0", dt.date(2024, ML_MONTHS, 1))
    builds: dict = {"landing": {"m0": m0, "m1": m1}, "roots": {}}
    for name in ("m0", "m1"):
        build_root = tmp_path_factory.mktemp(f"ml_clean_{name}")
        write_config(build_root, ml=ML_SETTINGS)
        _build_ok(build_root / "config.yaml", builds["landing"][name], with_ml=True,
                  with_reports=True)
        builds["roots"][name] = build_root
    builds["digests"] = {name: digest(_warehouse(root)) for name, root in builds["roots"].items()}
    return builds


@pytest.mark.xfail(strict=False, reason=(
    "open: since the churn-model changes of issue 15 (survival / purchase CLV, reasons by driver "
    "family) a rerun after a kill in the ML write-back scores differently from the clean build "
    "(customer_churn_reasons 500 vs 480 rows in the fresh-clone CI of 2026-12-03); the ML step "
    "is not yet reproducible across processes"))
def test_a_build_killed_in_the_ml_write_back_or_the_site_step_converges(
    tmp_path_factory: pytest.TempPathFactory, ml_builds: dict
) -> None:
    root = tmp_path_factory.mktemp("ml_killed")
    shutil.rmtree(root)
    copy_build(ml_builds["roots"]["m0"], root)
    config = root / "config.yaml"
    settings = load_settings(config, environ={})
    site_before = (settings.site_path / "index.html").read_text()
    scores_before = ml_builds["digests"]["m0"]["ml.churn_scores"]
    assert scores_before[0] > 0  # the model trained and scored
    for point in ("ml", "site"):
        killed = cli_build(config, ml_builds["landing"]["m1"], kill_at=point, with_ml=True,
                           with_reports=True)
        assert killed.returncode == -9, (point, killed.stdout[-2000:], killed.stderr[-2000:])
        assert BuildJournal(settings).recover() is not None
        assert differences(digest(settings.warehouse_path), ml_builds["digests"]["m0"]) == []
        assert (settings.site_path / "index.html").read_text() == site_before, point
    _build_ok(config, ml_builds["landing"]["m1"], with_ml=True, with_reports=True)
    # the model version is registry history (the killed builds' versions were rolled back,
    # the m0 build's version 1 stays): compare everything else
    assert differences(digest(settings.warehouse_path), ml_builds["digests"]["m1"]) == []

    # nothing new, nothing done: the next build skips SQLMesh, the model and the site
    idle = cli_build(config, ml_builds["landing"]["m1"], with_ml=True, with_reports=True)
    assert idle.returncode == 0, idle.stderr[-2000:]
    output = " ".join(idle.stdout.split())
    for step in ("sqlmesh", "churn model", "report site"):
        assert f"{step} │ skipped" in output, step
