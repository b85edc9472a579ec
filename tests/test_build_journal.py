"""The build journal's snapshot covers what a build changes, on each gateway (no build here: the
journal moves files; the kill tests in test_build_convergence*.py run real builds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from custintel.app.build_journal import BuildJournal, Snapshot
from custintel.core.settings import Settings, load_settings
from tests.conftest import write_config


def _settings(tmp_path: Path, **spark: str) -> Settings:
    config = write_config(
        tmp_path,
        sqlmesh={"gateway": "spark"},
        spark={"master": "local[1]", **spark},
    )
    return load_settings(config, environ={})


def _fill(folder: Path, text: str) -> None:
    (folder / "landing" / "part-0").mkdir(parents=True, exist_ok=True)
    (folder / "landing" / "part-0" / "data.parquet").write_text(text)


def test_a_local_spark_session_s_tables_and_catalogue_are_in_the_snapshot(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    folders = Snapshot.of(settings).folders
    assert settings.spark_warehouse_path in folders
    assert settings.spark_metastore_path in folders


def test_a_spark_connect_cluster_s_tables_are_not_copied(tmp_path: Path) -> None:
    settings = _settings(tmp_path, connect_url="sc://spark-host:15002")
    assert Snapshot.of(settings).folders == [settings.registry_path]


@pytest.mark.parametrize("existed_before", [True, False])
def test_a_failed_spark_build_restores_the_spark_tables_as_they_were(
    tmp_path: Path, existed_before: bool
) -> None:
    settings = _settings(tmp_path)
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    settings.warehouse_path.write_bytes(b"warehouse before")
    if existed_before:
        _fill(settings.spark_warehouse_path, "tables before")
        settings.spark_metastore_path.mkdir(parents=True, exist_ok=True)
        (settings.spark_metastore_path / "catalogue").write_text("catalogue before")
    journal = BuildJournal(settings)
    journal.begin()
    # the build writes new Spark tables and a new catalogue entry, then fails
    _fill(settings.spark_warehouse_path, "half-written tables")
    (settings.spark_warehouse_path / "new_table").mkdir()
    settings.spark_metastore_path.mkdir(parents=True, exist_ok=True)
    (settings.spark_metastore_path / "catalogue").write_text("catalogue during")
    journal.rollback()
    if existed_before:
        data = settings.spark_warehouse_path / "landing" / "part-0" / "data.parquet"
        assert data.read_text() == "tables before"
        assert not (settings.spark_warehouse_path / "new_table").exists()
        assert (settings.spark_metastore_path / "catalogue").read_text() == "catalogue before"
    else:
        assert not settings.spark_warehouse_path.exists()
        assert not settings.spark_metastore_path.exists()
    assert settings.warehouse_path.read_bytes() == b"warehouse before"
    assert journal.read().status == "done"
