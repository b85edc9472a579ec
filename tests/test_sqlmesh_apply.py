"""Applying the project: idempotent re-runs, a new month processes only its intervals, late data
outside them stops the build, audits catch broken tables, and a dev environment leaves prod as
it was."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from custintel.app import transform
from tests.sqlmesh_fixtures import (
    Build,
    base_build,
    copy_build,
    core_model_count,
    last_date,
    planted_rejections,
    query,
    write_landing,
)

#: incremental facts and their lookback in days (as declared in their MODEL headers)
INCREMENTAL_FACTS = {
    "warehouse.fact_network_usage": 0,
    "warehouse.fact_kb_article_view": 0,
    "warehouse.fact_invoice": 92,
    "warehouse.fact_order": 31,
    "warehouse.fact_support_ticket": 31,
    "warehouse.fact_campaign_target": 31,
}
HISTORY_START = dt.datetime(2024, 1, 1)


@pytest.fixture(scope="module")
def build(shared_root: Path) -> Build:
    return base_build(shared_root)


def test_first_apply_builds_every_model_up_to_the_data(build: Build) -> None:
    end = dt.datetime(2024, 3, 1)
    assert len(build.first_apply.models_evaluated) == core_model_count()
    assert {batch.end for batch in build.first_apply.evaluated} == {end}
    assert {change.change for change in build.first_apply.changes} == {"added"}


def test_each_evaluated_batch_carries_sqlmesh_s_duration_summed_by_layer(build: Build) -> None:
    summary = build.first_apply
    assert all(batch.seconds is not None and batch.seconds >= 0 for batch in summary.evaluated)
    by_schema = summary.seconds_by_schema()
    assert set(by_schema) == {batch.model.split(".")[0] for batch in summary.evaluated}
    assert {"staging", "warehouse"} <= set(by_schema)
    assert sum(by_schema.values()) == pytest.approx(sum(b.seconds for b in summary.evaluated))
    assert sum(by_schema.values()) > 0


def test_second_apply_with_nothing_new_does_no_model_work(build: Build) -> None:
    assert build.second_apply.changes == []
    assert build.second_apply.evaluated == []
    assert not build.second_apply.did_work


@pytest.fixture(scope="module")
def new_month(build: Build, tmp_path_factory: pytest.TempPathFactory):
    settings = copy_build(build, tmp_path_factory.mktemp("sqlmesh_new_month"))
    rows = write_landing(settings.warehouse_path, months=3)
    summary = transform.apply(settings, as_of=last_date(3), run_tests=False)
    return settings, rows, summary


def test_new_month_processes_only_its_intervals(new_month) -> None:
    _settings, _rows, summary = new_month
    march, april = dt.datetime(2024, 3, 1), dt.datetime(2024, 4, 1)
    for model, lookback_days in INCREMENTAL_FACTS.items():
        start = max(HISTORY_START, march - dt.timedelta(days=lookback_days))
        assert [(b.start, b.end) for b in summary.batches(model)] == [(start, april)], model
    assert summary.changes == []


def test_new_month_rows_are_loaded(new_month) -> None:
    settings, rows, _summary = new_month
    planted = planted_rejections(months=3)
    expected = len(rows["network__usage"]) - sum(1 for t, _ in planted if t == "network__usage")
    loaded = query(settings, "select count(*), max(usage_date) from warehouse.fact_network_usage")
    assert loaded == [(expected, dt.date(2024, 3, 31))]


def test_late_rows_outside_processed_intervals_stop_the_build_until_restated(
    build: Build, tmp_path: Path
) -> None:
    settings = copy_build(build, tmp_path)
    write_landing(settings.warehouse_path, months=3)
    # a valid January row (C003 has no usage otherwise) arriving with the March data
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute(
            "insert into landing.network__usage values "
            "('C003', 'SV1', date '2024-01-07', 1, 1, 1, 0, 'network/late.parquet', 1)"
        )
    with pytest.raises(transform.TransformError, match="landing_reconciliation: audit forall"):
        transform.apply(settings, as_of=last_date(3), run_tests=False)
    restated = transform.restate(settings, ["warehouse.fact_network_usage"], as_of=last_date(3))
    assert "quarantine.landing_reconciliation" in restated.models_evaluated
    landed, loaded, rejected = query(
        settings,
        "select landed_rows, loaded_rows, rejected_rows from quarantine.landing_reconciliation "
        "where source_table = 'network__usage'",
    )[0]
    assert (landed, landed - loaded) == (2 * 91 + 3 + 1, rejected)


def _physical_tables(settings, *models: str) -> list[str]:
    ctx = transform.context(settings)
    try:
        return [ctx.get_snapshot(model).table_name() for model in models]
    finally:
        ctx.close()


def test_audits_fail_on_broken_tables(build: Build, tmp_path: Path) -> None:
    settings = copy_build(build, tmp_path)
    customers, invoices = _physical_tables(
        settings, "warehouse.dim_customer", "warehouse.fact_invoice"
    )
    with duckdb.connect(str(settings.warehouse_path)) as con:
        # close the first of C001's three versions: history no longer contiguous
        con.execute(
            f"update {customers} set valid_to = null "
            "where customer_id = 'C001' and version_number = 1"
        )
        # a copy of an invoice with a negative credit
        con.execute(
            f"insert into {invoices} select * replace (-1.0 as credit_amount) from {invoices} "
            "where invoice_id = 'I-C001-202401'"
        )
    outcomes = transform.run_audits(
        settings, ["warehouse.dim_customer", "warehouse.fact_invoice"], as_of=last_date(2)
    )
    failed = {(o.model, o.audit): o.failed_rows for o in outcomes if not o.passed}
    assert failed == {
        ("warehouse.dim_customer", "assert_scd2_history"): 1,
        ("warehouse.fact_invoice", "unique_values"): 1,
        ("warehouse.fact_invoice", "assert_non_negative"): 1,
    }
    assert len(outcomes) > len(failed)


def test_dev_environment_leaves_prod_untouched(build: Build, tmp_path: Path) -> None:
    settings = copy_build(build, tmp_path)
    project = settings.sqlmesh_path
    assert transform.preview(settings, "prod") == []

    model = project / "models" / "warehouse" / "dim_service.sql"
    model.write_text(
        model.read_text().replace(
            "  launched_date\nfrom services",
            "  launched_date,\n  upper(service_name) as service_code\nfrom services",
        )
    )
    changes = {(c.model, c.change, c.category) for c in transform.preview(settings, "dev")}
    assert ("warehouse.dim_service", "directly modified", "non-breaking") in changes
    downstream = ("warehouse.fact_network_usage", "indirectly modified", "indirect non-breaking")
    assert downstream in changes

    prod_before = query(settings, "select * from warehouse.dim_service order by service_id")
    summary = transform.apply(settings, "dev", as_of=last_date(2), run_tests=False)
    assert summary.models_evaluated == {"warehouse.dim_service"}

    def columns(schema: str) -> list[str]:
        rows = query(
            settings,
            "select column_name from information_schema.columns "
            f"where table_schema = '{schema}' and table_name = 'dim_service' "
            "order by ordinal_position",
        )
        return [name for (name,) in rows]

    assert "service_code" in columns("warehouse__dev")
    assert "service_code" not in columns("warehouse")
    assert query(settings, "select * from warehouse.dim_service order by service_id") == prod_before
