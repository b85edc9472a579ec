"""The production QueryRunner: governed queries through `semantic.load`, ungoverned SQL on a
read-only connection to the warehouse, "as of" = the last landed event date."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import pandas as pd

from custintel.landing.as_of import landing_as_of_date
from custintel.settings import Settings
from reports.runner import QueryRunner, SqlFunction, member_infos


def _warehouse_sql(settings: Settings) -> SqlFunction:
    def run(text: str) -> pd.DataFrame:
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            return con.execute(text).df()

    return run


def data_as_of(settings: Settings) -> dt.date | None:
    """The warehouse's as-of date (last landed event), None without landed data."""
    if not settings.warehouse_path.exists():
        return None
    try:
        return landing_as_of_date(settings.warehouse_path)
    except duckdb.CatalogException:  # a warehouse without the landing event tables
        return None


def semantic_runner(settings: Settings, role: str | None = None) -> QueryRunner:
    """A runner on the configured semantic layer (embedded engine or Cube server)."""
    import semantic

    as_of = data_as_of(settings)

    def load(query: dict[str, Any]) -> pd.DataFrame:
        return semantic.load(query, role=role, settings=settings, as_of=as_of)

    return QueryRunner(
        load=load,
        members=member_infos(semantic.catalog(settings)),
        sql=_warehouse_sql(settings),
        as_of=as_of,
    )
