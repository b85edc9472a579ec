"""Settings are validated, and an error names the bad key and value."""

from pathlib import Path

import pytest

from custintel.core.settings import SettingsError, load_settings
from tests.conftest import write_config


def test_project_config_loads_with_resolved_paths() -> None:
    settings = load_settings()
    assert settings.warehouse_path.is_absolute()
    assert settings.warehouse_path.name == "novacom.duckdb"
    assert settings.sample.start_date.day == 1


def test_bad_value_names_key_and_value(tmp_path: Path) -> None:
    config = write_config(tmp_path, sample={"customers": -5})
    with pytest.raises(SettingsError) as error:
        load_settings(config, environ={})
    assert "sample.customers = -5" in str(error.value)


def test_unknown_key_is_rejected(tmp_path: Path) -> None:
    config = write_config(tmp_path, warehouse={"pth": "x.duckdb"})
    with pytest.raises(SettingsError, match=r"warehouse\.pth = 'x.duckdb'"):
        load_settings(config, environ={})


def test_environment_overrides_a_key(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    settings = load_settings(config, environ={"CUSTINTEL_SAMPLE__CUSTOMERS": "123"})
    assert settings.sample.customers == 123


def test_bad_environment_override_is_named(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    with pytest.raises(SettingsError, match="semantic.backend = 'graphql'"):
        load_settings(config, environ={"CUSTINTEL_SEMANTIC__BACKEND": "graphql"})


def test_a_hash_in_a_path_from_the_environment_is_kept(tmp_path: Path) -> None:
    """Case 8: environment values are text, not YAML (where ` #` would start a comment)."""
    config = write_config(tmp_path)
    settings = load_settings(
        config,
        environ={
            "CUSTINTEL_WAREHOUSE__PATH": str(tmp_path / "wh #1" / "novacom.duckdb"),
            "CUSTINTEL_SQLMESH__STATE_PATH": str(tmp_path / "wh #1" / "state.duckdb"),
            "CUSTINTEL_SEMANTIC__CUBE_API_URL": "http://cube:4000/api#frag",
        },
    )
    assert settings.warehouse_path == tmp_path / "wh #1" / "novacom.duckdb"
    assert settings.state_path.name == "state.duckdb"
    assert settings.semantic.cube_api_url == "http://cube:4000/api#frag"


def test_string_keys_from_the_environment_stay_text(tmp_path: Path) -> None:
    """Values YAML would turn into other types ('null', 'yes', '1e3', '2024-01-01') stay text
    for text keys."""
    config = write_config(tmp_path)
    settings = load_settings(
        config,
        environ={
            "CUSTINTEL_LANDING__PATH": "null",
            "CUSTINTEL_SEMANTIC__CUBE_API_URL": "yes",
            "CUSTINTEL_ML__REGISTRY_PATH": "1e3",
        },
    )
    assert settings.landing_path.name == "null"
    assert settings.semantic.cube_api_url == "yes"
    assert settings.registry_path.name == "1e3"


def test_typed_keys_from_the_environment_are_parsed_and_validated(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    settings = load_settings(
        config,
        environ={
            "CUSTINTEL_SAMPLE__START_DATE": "2024-03-01",
            "CUSTINTEL_SAMPLE__DEFECT_RATE": "0.25",
            "CUSTINTEL_WAREHOUSE__MEMORY_LIMIT": "",
        },
    )
    assert settings.sample.start_date.isoformat() == "2024-03-01"
    assert settings.sample.defect_rate == 0.25
    assert settings.warehouse.memory_limit is None


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("CUSTINTEL_SAMPLE__CUSTOMERS", "12 # twelve", "sample.customers = '12 # twelve'"),
        ("CUSTINTEL_SAMPLE__CUSTOMERS", "1.5", "sample.customers = '1.5'"),
        ("CUSTINTEL_SAMPLE__DEFECT_RATE", "nan", "sample.defect_rate = 'nan'"),
        ("CUSTINTEL_SQLMESH__START", "yesterday", "sqlmesh.start = 'yesterday'"),
        ("CUSTINTEL_SQLMESH__GATEWAY", "duckdb # default", "sqlmesh.gateway = 'duckdb # default'"),
        ("CUSTINTEL_WAREHOUSE__PTH", "x", "warehouse.pth = 'x'"),
    ],
)
def test_a_bad_override_is_one_line_naming_key_value_and_variable(
    tmp_path: Path, variable: str, value: str, named: str
) -> None:
    config = write_config(tmp_path)
    with pytest.raises(SettingsError) as error:
        load_settings(config, environ={variable: value})
    message = str(error.value)
    assert "\n" not in message
    assert named in message and f"(from {variable})" in message


def test_warehouse_and_state_in_one_file_is_refused(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    same = str(tmp_path / "one.duckdb")
    with pytest.raises(SettingsError, match="are the same file"):
        load_settings(
            config,
            environ={"CUSTINTEL_WAREHOUSE__PATH": same, "CUSTINTEL_SQLMESH__STATE_PATH": same},
        )
