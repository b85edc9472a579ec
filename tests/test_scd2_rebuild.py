"""dim_customer's SCD type 2 history survives a new model version and equals a rebuild.

SQLMesh keeps the history of its SCD_TYPE_2 kinds only inside the model's table, so a new
model version starts empty (SQLMesh issue 5744). dim_customer instead rebuilds the history from
the CRM change log on every run. Here a changed dim_customer (new fingerprint, new physical
table) is applied to a warehouse built from scratch, and its history equals the one before.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from custintel.core.settings import Settings, load_settings
from tests.conftest import write_config
from tests.marts_support import build_warehouse, query
from tests.shared_build_support import copy_project

PROJECT = Path(__file__).resolve().parents[1] / "sqlmesh"
MODEL = "warehouse.dim_customer"
HISTORY_SQL = (
    "select customer_id, customer_segment, customer_tier, customer_status, region, "
    "valid_from, valid_to, is_current, version_number from warehouse.dim_customer"
)


def history(settings: Settings) -> pd.DataFrame:
    frame = pd.DataFrame(query(settings.warehouse_path, HISTORY_SQL))
    return frame.sort_values(["customer_id", "valid_from"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def built(generated_warehouse, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A copy of the run's generated warehouse (conftest.py `generated_warehouse`: 300
    customers x 12 months, loaded and built by SQLMesh from its landing folder), to change."""
    config = copy_project(generated_warehouse.root, tmp_path_factory.mktemp("scd2_built"))
    return load_settings(config, environ={})


@pytest.fixture(scope="module")
def landing(built: Settings) -> Path:
    """The landing folder the copied warehouse was built from."""
    return built.landing_path


def physical_tables(settings: Settings) -> set[str]:
    """Every physical table (one per model version) SQLMesh holds for dim_customer."""
    rows = query(
        settings.warehouse_path,
        "select table_name from information_schema.tables "
        "where table_schema = 'sqlmesh__warehouse' "
        "and table_name like 'warehouse__dim_customer__%'",
    )
    return {row["table_name"] for row in rows}


def changed_project(target: Path) -> Path:
    """A copy of the SQLMesh project whose dim_customer has one more column (non-breaking for
    the models downstream, so only dim_customer is rebuilt)."""
    shutil.copytree(PROJECT, target, ignore=shutil.ignore_patterns("__pycache__"))
    model = target / "models" / "warehouse" / "dim_customer.sql"
    text = model.read_text()
    assert "  version_number\nfrom history" in text
    model.write_text(
        text.replace(
            "  version_number\nfrom history",
            "  version_number,\n  1 as model_revision\nfrom history",
        )
    )
    return target


def test_a_new_model_version_rebuilds_the_history_of_the_build_from_scratch(
    built: Settings, landing: Path, tmp_path: Path
) -> None:
    before = history(built)
    versions = before.groupby("customer_id").size()
    assert (versions > 1).sum() > 10  # the sample has customers with changes to keep
    old_tables = physical_tables(built)

    changed = load_settings(
        write_config(
            tmp_path / "changed",
            warehouse={"path": str(built.warehouse_path)},
            sqlmesh={
                "state_path": str(built.state_path),
                "project_path": str(changed_project(tmp_path / "project")),
            },
        )
    )
    summary = build_warehouse(landing, changed)

    assert ("dim_customer", "directly modified") in {
        (change.model.split(".")[-1], change.change) for change in summary.changes
    }
    assert len(physical_tables(built) - old_tables) == 1  # a new version, a new table
    after = history(built)
    pd.testing.assert_frame_equal(after, before)
    revisions = query(built.warehouse_path, "select distinct model_revision from " + MODEL)
    assert revisions == [{"model_revision": 1}]
