"""Shared pytest fixtures: temporary project configurations pointing at temporary warehouses."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from custintel.settings import DEFAULT_CONFIG_PATH, Settings, load_settings


def write_config(tmp_path: Path, **overrides: dict) -> Path:
    """A copy of the project's config.yaml with build paths under tmp_path, plus overrides."""
    raw = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    project_root = DEFAULT_CONFIG_PATH.parent
    raw["warehouse"]["path"] = str(tmp_path / "warehouse" / "novacom.duckdb")
    raw["landing"]["path"] = str(tmp_path / "landing")
    raw["sqlmesh"]["project_path"] = str(project_root / "sqlmesh")
    raw["sqlmesh"]["state_path"] = str(tmp_path / "warehouse" / "state.duckdb")
    raw["semantic"]["model_path"] = str(project_root / "semantic" / "model")
    raw["ml"]["registry_path"] = str(tmp_path / "models")
    raw["reports"]["pages_path"] = str(project_root / "reports" / "pages")
    raw["reports"]["site_path"] = str(tmp_path / "site")
    for section, values in overrides.items():
        raw.setdefault(section, {}).update(values)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.fixture
def tmp_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings whose warehouse, landing, registry and site live in a temporary folder."""
    config_path = write_config(tmp_path)
    monkeypatch.setenv("CUSTINTEL_CONFIG", str(config_path))
    return load_settings(config_path)
