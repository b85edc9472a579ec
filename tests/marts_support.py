"""Helpers of the marts tests: build a warehouse from a landing folder and read mart rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from custintel.app import transform
from custintel.core.landing.loader import load_landing
from custintel.core.settings import Settings, load_settings
from tests.conftest import write_config

FIXTURE_LANDING = Path(__file__).parent / "fixtures" / "landing_csv"


@contextmanager
def project_context(settings: Settings) -> Iterator[Any]:
    """A SQLMesh Context on the project for `settings`, closed after."""
    ctx = transform.context(settings)
    try:
        yield ctx
    finally:
        ctx.close()


def project_settings(work_dir: Path) -> Settings:
    """Settings of a temporary project whose warehouse and state live under `work_dir`."""
    return load_settings(write_config(work_dir))


def build_warehouse(
    landing_dir: Path, settings: Settings, as_of: dt.date | None = None
) -> transform.ApplySummary:
    """Load `landing_dir` and apply the SQLMesh project to prod (unit tests run separately)."""
    load_landing(landing_dir, settings.warehouse_path)
    return transform.apply(settings, as_of=as_of, run_tests=False)


@dataclass(frozen=True)
class SharedProject:
    """A project folder built once per run (read-only), its settings and its apply summary."""

    root: Path
    settings: Settings
    summary: transform.ApplySummary


def shared_landing_csv_warehouse(shared: Path) -> SharedProject:
    """The project built from FIXTURE_LANDING in `shared`/landing_csv_warehouse, once per test
    run whichever worker asks first (tests/shared_build_support.py)."""
    from tests.shared_build_support import shared_build

    root, summary = shared_build(
        shared,
        "landing_csv_warehouse",
        lambda root: build_warehouse(FIXTURE_LANDING, project_settings(root)),
    )
    return SharedProject(root, load_settings(root / "config.yaml"), summary)


def query(warehouse: Path, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    """Rows of `sql` on the warehouse as dicts (read-only connection)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cursor = con.execute(sql, params or [])
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


#: what a source system would have exported on the cut-off date, per landing table: rows
#: created before it, and the state changes after it undone (a ticket resolved later is open,
#: a later campaign response is not there yet, a service ending later is open-ended, a KB
#: article updated later shows its published version). `t` is the table, `{cutoff}` the date.
_TRUNCATION_QUERIES: dict[str, str] = {
    "crm__customers": "select * from t where updated_at < {cutoff}",
    "crm__opportunities": "select * from t where created_date < {cutoff}",
    "marketing__campaigns": "select * from t where start_date < {cutoff}",
    "marketing__campaign_targets": (
        "select * replace ("
        " case when responded_at < {cutoff} then responded_at end as responded_at,"
        " case when responded_at < {cutoff} then response_type end as response_type,"
        " case when responded_at < {cutoff} then attributed_revenue_amount else 0.0 end"
        " as attributed_revenue_amount)"
        " from t where targeted_at < {cutoff}"
    ),
    "support__tickets": (
        "select * replace ("
        " case when resolved_at < {cutoff} then resolved_at end as resolved_at,"
        " case when resolved_at < {cutoff} then status else 'Open' end as status,"
        " case when resolved_at < {cutoff} then satisfaction_score end as satisfaction_score)"
        " from t where created_at < {cutoff}"
    ),
    "support__kb_articles": (
        "select * replace ("
        " case when updated_at < {cutoff} then updated_at else published_at end as updated_at)"
        " from t where published_at < {cutoff}"
    ),
    "marketing__retention_offers": "select * from t where offer_date < {cutoff}",
    "support__kb_article_views": "select * from t where viewed_at < {cutoff}",
    "provisioning__services": "select * from t where launched_date < {cutoff}",
    "provisioning__service_assignments": (
        "select * replace (case when end_date < {cutoff} then end_date end as end_date)"
        " from t where start_date < {cutoff}"
    ),
    "billing__invoices": "select * from t where invoice_date < {cutoff}",
    "billing__orders": "select * from t where ordered_at < {cutoff}",
    "network__usage": "select * from t where usage_date < {cutoff}",
}


def truncate_landing(source_dir: Path, target_dir: Path, cutoff: dt.date) -> Path:
    """A copy of a Parquet landing folder as its systems would have exported it on `cutoff`."""
    from custintel.core.landing import load_contract

    cutoff_sql = f"date '{cutoff.isoformat()}'"
    with duckdb.connect() as con:
        for table in load_contract().tables:
            folder = source_dir / table.system
            single = folder / f"{table.name}.parquet"
            pattern = single if single.exists() else folder / table.name / "*.parquet"
            query = _TRUNCATION_QUERIES.get(table.qualified_name, "select * from t")
            target = target_dir / table.system / f"{table.name}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            con.execute(
                f"copy (with t as (select * from read_parquet('{pattern}')) "
                f"{query.format(cutoff=cutoff_sql)}) to '{target}' (format parquet)"
            )
    return target_dir


def physical_table(warehouse: Path, model: str) -> str:
    """The physical table behind a prod view: `marts.x` -> `sqlmesh__marts.marts__x__<version>`."""
    schema, name = model.split(".")
    rows = query(
        warehouse,
        "select table_schema, table_name from information_schema.tables "
        "where table_schema = ? and table_name like ? and table_type = 'BASE TABLE'",
        [f"sqlmesh__{schema}", f"{schema}__{name}__%"],
    )
    if len(rows) != 1:
        raise AssertionError(f"expected one physical table for {model}, found {rows}")
    return f"{rows[0]['table_schema']}.{rows[0]['table_name']}"
