"""SQLMesh's own linter is on: the project passes every rule sqlmesh/config.py lists, every
built-in rule is either enforced or waived with a reason, and a model breaking a rule fails the
lint (and so every plan and build) naming the rule."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest
from sqlmesh.core.linter.rules.builtin import BUILTIN_RULES
from sqlmesh.utils.errors import LinterError

from custintel.core.settings import DEFAULT_CONFIG_PATH, Settings, load_settings
from tests.conftest import write_config
from tests.marts_support import project_context

PROJECT = DEFAULT_CONFIG_PATH.parent / "sqlmesh"

#: a model breaking three rules: no audits, `select *` outside, a column no source has
BROKEN_MODEL = """MODEL (name marts.lint_breaker, kind FULL, grain as_of_date);

select *, no_such_column
from marts.data_as_of
"""


def _project_config() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lint_config_under_test", PROJECT / "config.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _settings(work_dir: Path, project: Path = PROJECT) -> Settings:
    return load_settings(write_config(work_dir, sqlmesh={"project_path": str(project)}))


def test_every_builtin_rule_is_enforced_or_waived_with_a_reason() -> None:
    config = _project_config()
    built_in = {name.lower() for name in BUILTIN_RULES}
    assert set(config.LINT_RULES) | set(config.IGNORED_LINT_RULES) == built_in
    assert not set(config.LINT_RULES) & set(config.IGNORED_LINT_RULES)
    linter = config.build_config(load_settings()).linter
    assert linter.enabled
    assert linter.rules == set(config.LINT_RULES)
    assert linter.ignored_rules == set(config.IGNORED_LINT_RULES)
    reasons = (PROJECT / "config.py").read_text()
    for rule in config.IGNORED_LINT_RULES:
        comment = reasons[: reasons.index(f'"{rule}"')].rsplit("IGNORED_LINT_RULES", 1)[1]
        assert "#" in comment, f"{rule} is waived without a reason"


def test_the_project_passes_the_lint(tmp_path: Path) -> None:
    with project_context(_settings(tmp_path)) as ctx:
        violations = ctx.lint_models(raise_on_error=False)
    assert [f"{v.rule.name}: {v.model.name}" for v in violations] == []


def test_a_model_breaking_a_rule_fails_the_lint_naming_it(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns(".cache", "logs"))
    (project / "models" / "marts" / "lint_breaker.sql").write_text(BROKEN_MODEL)
    with project_context(_settings(tmp_path / "build", project)) as ctx:
        found = ctx.lint_models(raise_on_error=False)
        with pytest.raises(LinterError):
            ctx.lint_models(raise_on_error=True)
    broken = {v.rule.name for v in found if v.model.name == "marts.lint_breaker"}
    assert broken == {"nomissingaudits", "noselectstar", "ambiguousorinvalidcolumn"}
    assert {v.model.name for v in found} == {"marts.lint_breaker"}
