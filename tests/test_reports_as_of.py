"""One "as of": the reports take the marts' as-of date (marts.data_as_of, the last event date in
the valid facts), not the landing's (which counts rows the warehouse quarantines)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from custintel.core.settings import load_settings
from reports.semantic_runner import data_as_of
from tests.conftest import write_config


def test_the_reports_as_of_is_the_marts(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path))
    settings.warehouse_path.parent.mkdir(parents=True)
    assert data_as_of(settings) is None  # no warehouse yet
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("create schema landing")
        # a landed usage row dated after the last valid fact (quarantined downstream)
        con.execute("create table landing.network__usage as select date '2024-07-03' as usage_date")
    assert data_as_of(settings) is None  # landed, but no marts built
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.data_as_of as select date '2024-06-30' as as_of_date")
    assert data_as_of(settings) == dt.date(2024, 6, 30)
