"""The SQLMesh project's static parts: external models match the contract, the config follows
config.yaml, and SQLMesh's own YAML unit tests pass."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
import yaml
from sqlmesh.utils.errors import ConfigError

from custintel.app import transform
from custintel.app.external_models import (
    external_models_path,
    render_external_models,
)
from custintel.core.landing import load_contract
from custintel.core.settings import DEFAULT_CONFIG_PATH, SettingsError, load_settings
from tests.conftest import write_config
from tests.sqlmesh_fixtures import last_date, query, settings_at, write_landing

PROJECT = DEFAULT_CONFIG_PATH.parent / "sqlmesh"


def _load_project_config_module(name: str):
    spec = importlib.util.spec_from_file_location(name, PROJECT / "config.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_external_models_match_the_contract() -> None:
    committed = external_models_path(PROJECT).read_text()
    assert committed == render_external_models(), (
        "sqlmesh/external_models/landing.yaml is stale: "
        "run `python -m custintel.app.external_models`"
    )


def test_every_contract_table_is_declared_with_its_columns_and_lineage() -> None:
    declared = {m["name"]: m for m in yaml.safe_load(external_models_path(PROJECT).read_text())}
    for table in load_contract().tables:
        model = declared[f"landing.{table.qualified_name}"]
        expected = [c.name for c in table.columns] + ["_source_file", "_source_row_number"]
        assert list(model["columns"]) == expected
        assert model["columns"]["_source_row_number"] == "BIGINT"
    assert len(declared) == len(load_contract().tables) == 14


def test_config_follows_the_settings_named_by_custintel_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_path = write_config(tmp_path)
    monkeypatch.setenv("CUSTINTEL_CONFIG", str(config_path))
    config = _load_project_config_module("config_under_test").config
    duckdb_gateway = config.gateways["duckdb"]
    assert duckdb_gateway.connection.database == str(tmp_path / "warehouse" / "novacom.duckdb")
    assert duckdb_gateway.state_connection.database == str(tmp_path / "warehouse" / "state.duckdb")
    assert config.default_gateway == "duckdb"
    assert config.model_defaults.dialect == "duckdb"
    assert config.model_defaults.start == "2024-01-01"
    assert config.variables == {"history_start": "2024-01-01"}


def test_warehouse_memory_limit_reaches_the_sqlmesh_duckdb_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_path = write_config(
        tmp_path,
        warehouse={"path": str(tmp_path / "warehouse" / "novacom.duckdb"), "memory_limit": "1GiB"},
    )
    (tmp_path / "warehouse").mkdir()
    monkeypatch.setenv("CUSTINTEL_CONFIG", str(config_path))
    config = _load_project_config_module("config_with_memory_limit").config
    adapter = config.gateways["duckdb"].connection.create_engine_adapter()
    try:
        (limit,) = adapter.fetchone("select current_setting('memory_limit')")
    finally:
        adapter.close()
    assert limit == "1.0 GiB"


def test_a_malformed_memory_limit_is_named(tmp_path: Path) -> None:
    config_path = write_config(tmp_path, warehouse={"path": "w.duckdb", "memory_limit": "lots"})
    with pytest.raises(SettingsError, match="warehouse.memory_limit = 'lots'"):
        load_settings(config_path, environ={})


def test_spark_gateway_without_pyspark_names_the_missing_library(tmp_path: Path) -> None:
    if importlib.util.find_spec("pyspark") is not None:
        pytest.skip("pyspark is installed: the spark gateway is configurable here")
    settings = load_settings(write_config(tmp_path, sqlmesh={"gateway": "spark"}))
    module = _load_project_config_module("config_spark_under_test")
    with pytest.raises(ConfigError, match="spark"):
        module.build_config(settings)


def test_only_the_configured_gateway_is_configured(tmp_path: Path) -> None:
    """SQLMesh connects to every gateway of a config: a DuckDB build must not start Spark."""
    module = _load_project_config_module("config_gateways_under_test")
    for gateway in ("duckdb", "spark"):
        settings = load_settings(
            write_config(tmp_path / gateway, sqlmesh={"gateway": gateway}), environ={}
        )
        if gateway == "spark" and importlib.util.find_spec("pyspark") is None:
            continue
        config = module.build_config(settings)
        assert list(config.gateways) == [gateway]
        assert config.default_gateway == gateway


def test_a_shared_state_connection_replaces_the_state_file(tmp_path: Path) -> None:
    module = _load_project_config_module("config_state_under_test")
    shared = tmp_path / "team_state.duckdb"
    settings = load_settings(
        write_config(tmp_path),
        environ={"CUSTINTEL_SQLMESH__STATE_CONNECTION": f"{{type: duckdb, database: '{shared}'}}"},
    )
    state = module.build_config(settings).gateways["duckdb"].state_connection
    assert state.database == str(shared)
    unknown = load_settings(
        write_config(tmp_path),
        environ={"CUSTINTEL_SQLMESH__STATE_CONNECTION": "{type: carrier_pigeon}"},
    )
    with pytest.raises(ConfigError, match="carrier_pigeon"):
        module.build_config(unknown)


def test_sqlmesh_yaml_unit_tests_of_the_core_layers_pass(tmp_path: Path) -> None:
    settings = settings_at(tmp_path)
    core_models = {f"{m.parent.name}.{m.stem}" for m in settings.sqlmesh_path.glob("models/*/*")}
    defined = 0
    for suite in (PROJECT / "tests").glob("*.yaml"):
        tests = yaml.safe_load(suite.read_text())
        if {test["model"] for test in tests.values()} <= core_models:
            shutil.copyfile(suite, settings.sqlmesh_path / "tests" / suite.name)
            defined += len(tests)
    result = transform.run_unit_tests(settings)
    assert result.failures == []
    assert result.tests_run == defined >= 4


def test_a_failing_unit_test_stops_apply_before_any_change(tmp_path: Path) -> None:
    settings = settings_at(tmp_path)
    suite = yaml.safe_load((PROJECT / "tests" / "test_fact_invoice.yaml").read_text())
    test = suite["test_fact_invoice_revenue_and_filters"]
    test["outputs"]["query"]["rows"][0]["revenue_amount"] = 120.0  # gross, not net: wrong
    (settings.sqlmesh_path / "tests" / "test_fact_invoice.yaml").write_text(yaml.safe_dump(suite))
    write_landing(settings.warehouse_path, months=2)
    with pytest.raises(transform.TransformError, match="test_fact_invoice_revenue_and_filters"):
        transform.apply(settings, as_of=last_date(2))
    schemas = query(settings, "select distinct table_schema from information_schema.tables")
    assert {schema for (schema,) in schemas} == {"landing"}
