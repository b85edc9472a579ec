"""One way in for settings: the root `custintel --config FILE` reaches every command group as
one Settings object; nothing travels through the environment between our own modules, and the
SQLMesh project's config.py reads no file when it is imported."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from typer.testing import CliRunner

from custintel.app.cli import app
from custintel.core import invocation
from custintel.core.settings import PROJECT_ROOT, SettingsError, load_settings
from tests.conftest import write_config

MISSING = "/nonexistent/custintel-config.yaml"


def _project_config_module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, PROJECT_ROOT / "sqlmesh" / "config.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _unwrapped(text: str) -> str:
    """`text` without any whitespace: Rich folds a long path anywhere, even inside a word, at
    the console's width (80 columns when the output is not a terminal, as in CI)."""
    return "".join(text.split())


def _counting_loads(monkeypatch: pytest.MonkeyPatch) -> list[Path | None]:
    calls: list[Path | None] = []
    real = invocation.load_settings

    def counted(path: Path | None = None) -> object:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(invocation, "load_settings", counted)
    return calls


def test_the_root_config_reaches_the_ml_group_and_beats_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUSTINTEL_CONFIG", MISSING)  # the option wins over the variable
    config = write_config(tmp_path, ml={"registry_path": str(tmp_path / "my-registry")})
    calls = _counting_loads(monkeypatch)
    result = CliRunner().invoke(app, ["--config", str(config), "ml", "evaluate"])
    assert result.exit_code == 1
    assert _unwrapped(f"no versions of model 'churn' in {tmp_path / 'my-registry'}") in (
        _unwrapped(result.output)
    )
    assert calls == [config]  # loaded once, from the file the option named
    assert os.environ["CUSTINTEL_CONFIG"] == MISSING  # and not written back


def test_the_root_config_reaches_the_metrics_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CUSTINTEL_CONFIG", raising=False)
    model = tmp_path / "my-model"
    shutil.copytree(PROJECT_ROOT / "semantic" / "model", model)
    config = write_config(tmp_path, semantic={"model_path": str(model)})
    calls = _counting_loads(monkeypatch)
    result = CliRunner().invoke(app, ["--config", str(config), "metrics", "validate"])
    assert result.exit_code == 0, result.output
    assert _unwrapped(f"model {model}:") in _unwrapped(result.output)
    assert calls == [config]
    assert "CUSTINTEL_CONFIG" not in os.environ


def test_the_environment_variable_names_the_file_when_no_option_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path, ml={"registry_path": str(tmp_path / "from-env")})
    monkeypatch.setenv("CUSTINTEL_CONFIG", str(config))
    result = CliRunner().invoke(app, ["ml", "evaluate"])
    assert result.exit_code == 1
    assert _unwrapped(str(tmp_path / "from-env")) in _unwrapped(result.output)


def test_a_missing_root_config_is_one_line_naming_the_file(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CUSTINTEL_")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "custintel",
            "--config",
            str(tmp_path / "nope.yaml"),
            "ml",
            "pipeline",
        ],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
    )
    assert result.returncode == 2
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert f"config file not found: {tmp_path / 'nope.yaml'}" in lines[0]


def test_help_reads_no_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTINTEL_CONFIG", MISSING)
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0 and "--config" in result.output


def test_sqlmesh_config_module_reads_no_file_on_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUSTINTEL_CONFIG", MISSING)
    module = _project_config_module("config_without_settings")  # must not raise
    settings = load_settings(write_config(tmp_path))
    built = module.build_config(settings)
    assert built.gateways["duckdb"].connection.database == str(settings.warehouse_path)
    with pytest.raises(SettingsError, match=f"config file not found: {MISSING}"):
        _ = module.config  # what the `sqlmesh` command line asks for, built on demand
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = module.nothing


def test_a_sqlmesh_context_follows_the_settings_given_not_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from custintel.app import transform

    monkeypatch.setenv("CUSTINTEL_CONFIG", MISSING)
    settings = load_settings(write_config(tmp_path))
    context = transform.context(settings)
    try:
        connection = context.config.gateways["duckdb"].connection
        assert connection.database == str(settings.warehouse_path)
        assert len(context.models) > 40
    finally:
        context.close()
