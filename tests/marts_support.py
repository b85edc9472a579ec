"""Helpers of the marts tests: build a warehouse from a landing folder and read mart rows."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from custintel import transform
from custintel.landing.loader import load_landing
from custintel.settings import Settings, load_settings
from tests.conftest import write_config

FIXTURE_LANDING = Path(__file__).parent / "fixtures" / "landing_csv"


@contextmanager
def config_env(config_path: Path) -> Iterator[None]:
    """CUSTINTEL_CONFIG points at `config_path` inside the block (sqlmesh/config.py reads it)."""
    previous = os.environ.get("CUSTINTEL_CONFIG")
    os.environ["CUSTINTEL_CONFIG"] = str(config_path)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("CUSTINTEL_CONFIG", None)
        else:
            os.environ["CUSTINTEL_CONFIG"] = previous


def project_settings(work_dir: Path) -> Settings:
    """Settings of a temporary project whose warehouse and state live under `work_dir`."""
    return load_settings(write_config(work_dir))


def build_warehouse(
    landing_dir: Path, settings: Settings, as_of: dt.date | None = None
) -> transform.ApplySummary:
    """Load `landing_dir` and apply the SQLMesh project to prod (unit tests run separately)."""
    with config_env(settings.root / "config.yaml"):
        load_landing(landing_dir, settings.warehouse_path)
        return transform.apply(settings, as_of=as_of, run_tests=False)


def query(warehouse: Path, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    """Rows of `sql` on the warehouse as dicts (read-only connection)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cursor = con.execute(sql, params or [])
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
