"""Every defect the generator plants lands in quarantine with the reason its manifest promises."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from custintel.core.landing import load_contract
from custintel.core.settings import Settings


@pytest.fixture(scope="module")
def defects_warehouse(generated_warehouse) -> tuple[Settings, Path]:
    """The run's generated warehouse (conftest.py `generated_warehouse`: 300 customers x 12
    months at a 1% defect rate, loaded and built by SQLMesh), read-only, and its manifest."""
    settings = generated_warehouse.settings
    return settings, settings.landing_path / "_manifest" / "defects.parquet"


def _rejects(settings: Settings) -> pd.DataFrame:
    frames = []
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        for table in load_contract().tables:
            frame = con.execute(
                "select _source_file, _source_row_number, rejection_reason "
                f"from quarantine.rejects_{table.qualified_name}"
            ).df()
            frames.append(frame.assign(system=table.system, table=table.name))
    return pd.concat(frames, ignore_index=True)


def test_every_planted_defect_is_quarantined_with_its_reason(defects_warehouse) -> None:
    settings, manifest_path = defects_warehouse
    manifest = pd.read_parquet(manifest_path)
    planted = manifest[manifest["expected_reason"].notna()]
    assert set(planted["defect_kind"]) >= {
        "duplicate_row",
        "missing_key",
        "invalid_value",
        "orphan_key",
        "negative_amount",
        "future_date",
        "malformed_email",
    }
    joined = planted.merge(
        _rejects(settings),
        how="left",
        left_on=["source_file", "source_row_number"],
        right_on=["_source_file", "_source_row_number"],
    )
    missing = joined[joined["rejection_reason"].isna()]
    assert missing.empty, missing[["source_file", "source_row_number", "defect_kind"]].head()
    wrong = joined[joined["rejection_reason"] != joined["expected_reason"]]
    assert wrong.empty, wrong[["source_file", "expected_reason", "rejection_reason"]].head()


def test_standardisable_variants_are_loaded_not_rejected(defects_warehouse) -> None:
    settings, manifest_path = defects_warehouse
    manifest = pd.read_parquet(manifest_path)
    variants = manifest[manifest["defect_kind"] == "standardisable_variant"]
    assert len(variants) > 0
    rejected = variants.merge(
        _rejects(settings),
        left_on=["source_file", "source_row_number"],
        right_on=["_source_file", "_source_row_number"],
    )
    assert rejected.empty


def test_landed_equals_loaded_plus_rejected_for_every_source(defects_warehouse) -> None:
    settings, _ = defects_warehouse
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        reconciliation = con.execute(
            "select source_table, target_model, landed_rows, loaded_rows, rejected_rows "
            "from quarantine.landing_reconciliation"
        ).df()
        landed = {
            t.qualified_name: con.execute(
                f"select count(*) from landing.{t.qualified_name}"
            ).fetchone()[0]
            for t in load_contract().tables
        }
        rejects = _rejects(settings).groupby(["system", "table"]).size()
    assert set(reconciliation["source_table"]) == set(landed)
    for row in reconciliation.itertuples():
        system, table = row.source_table.split("__", 1)
        assert row.landed_rows == landed[row.source_table]
        assert row.rejected_rows == rejects.get((system, table), 0)
        assert row.landed_rows == row.loaded_rows + row.rejected_rows
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            loaded = con.execute(f"select count(*) from warehouse.{row.target_model}").fetchone()[0]
        assert row.loaded_rows == loaded
