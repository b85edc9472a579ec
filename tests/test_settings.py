"""Settings are validated, and an error names the bad key and value."""

from pathlib import Path

import pytest

from custintel.settings import SettingsError, load_settings
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
