"""The CLI loads command groups on first use (speed itself is measured by the bench)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import typer
from typer.testing import CliRunner

from custintel.app.cli import SUB_COMMANDS, app


def test_help_lists_every_group_without_importing_them() -> None:
    code = (
        "import sys; from typer.testing import CliRunner; from custintel.app.cli import app; "
        "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0, r.output; "
        "print(r.output); print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('ml', 'reports', 'semantic', 'pandas', 'sqlmesh', 'catboost', 'sklearn')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.rstrip().endswith("[]"), result.stdout
    for _module, _attribute, group, _help in SUB_COMMANDS:
        assert group in result.stdout


def test_listed_help_matches_each_group() -> None:
    for module_name, attribute, _group, help_text in SUB_COMMANDS:
        sub_app = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(sub_app, typer.Typer)
        assert sub_app.info.help == help_text, module_name


def test_groups_run_when_invoked() -> None:
    result = CliRunner().invoke(app, ["metrics", "--help"])
    assert result.exit_code == 0 and "query" in result.output
    assert CliRunner().invoke(app, ["nonsense"]).exit_code != 0
