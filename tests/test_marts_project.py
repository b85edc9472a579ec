"""The marts as a SQLMesh project: every model declares its grain, owner and audits, every
column is described once in its header and listed the same in the data dictionary, and every
model's YAML unit tests pass."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmesh import Context
from sqlmesh.core.model import Model

from custintel.core.settings import PROJECT_ROOT, Settings

MARTS_DIR = PROJECT_ROOT / "sqlmesh" / "models" / "marts"
README = MARTS_DIR / "README.md"
UNIT_TESTS_DIR = PROJECT_ROOT / "sqlmesh" / "tests"
MODEL_NAMES = sorted(f"marts.{path.stem}" for path in MARTS_DIR.glob("*.sql"))
_ROW = re.compile(r"^\| `(?P<column>[a-z0-9_]+)` \| (?P<type>[^|]+) \| (?P<description>.*) \|$")


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    from tests.marts_support import project_context, project_settings

    settings: Settings = project_settings(tmp_path_factory.mktemp("marts_project"))
    with project_context(settings) as ctx:
        yield ctx


def dictionary() -> dict[str, dict[str, str]]:
    """README data dictionary: model name -> column -> description."""
    tables: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in README.read_text().splitlines():
        if line.startswith("### "):
            current = tables.setdefault(f"marts.{line[4:].strip()}", {})
        elif current is not None and (match := _ROW.match(line)):
            current[match["column"]] = match["description"]
    return tables


def model(context: Context, name: str) -> Model:
    found = context.get_model(name)
    assert found is not None, name
    return found


def test_the_marts_folder_holds_the_expected_models() -> None:
    assert MODEL_NAMES == [
        "marts.active_customers_30d",
        "marts.churn_prediction_features",
        "marts.customer_360_view",
        "marts.customer_active_30d_days",
        "marts.customer_behavioural_segment_monthly",
        "marts.customer_churn_events",
        "marts.customer_churn_reasons",
        "marts.customer_daily_activity",
        "marts.customer_monthly_activity",
        "marts.customer_segmentation_analysis",
        "marts.customer_signals",
        "marts.data_as_of",
    ]


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_model_header_declares_grain_owner_description_and_grain_audit(
    context: Context, name: str
) -> None:
    mart = model(context, name)
    assert mart.owner == "customer_analytics"
    assert mart.description and len(mart.description) > 40
    assert mart.grains, f"{name} declares no grain"
    audit_names = {audit_name for audit_name, _ in mart.audits}
    grain_audits = {"unique_values", "unique_combination_of_columns", "marts_single_row"}
    assert audit_names & grain_audits, f"{name} has no audit on its grain"


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_column_is_described_in_the_header_and_the_dictionary(
    context: Context, name: str
) -> None:
    mart = model(context, name)
    columns = list(mart.columns_to_types)
    assert columns == list(mart.column_descriptions), f"{name}: header descriptions"
    documented = dictionary().get(name)
    assert documented is not None, f"{name} has no section in {README}"
    assert documented == dict(mart.column_descriptions), f"{name}: README differs from header"


def test_each_mart_has_passing_yaml_unit_tests(context: Context) -> None:
    files = sorted(UNIT_TESTS_DIR / f"test_{name.split('.')[1]}.yaml" for name in MODEL_NAMES)
    assert all(path.is_file() for path in files), [p for p in files if not p.is_file()]
    result = context.test(tests=[str(path) for path in files], stream=io.StringIO())
    failures = [f"{test}: {trace}" for test, trace in [*result.failures, *result.errors]]
    assert not failures, "\n".join(failures)
    assert result.testsRun >= len(files)


def test_readme_sections_match_the_models() -> None:
    assert sorted(dictionary()) == MODEL_NAMES
    assert Path(README).read_text().count("### ") == len(MODEL_NAMES)
