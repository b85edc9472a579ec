"""Metric unit tests: the YAML runner, on the fixture model and on the project's real model."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from semantic.model_loader import load_model
from semantic.testing import (
    MetricTestError,
    load_metric_tests,
    run_metric_test,
    run_metric_tests,
)
from tests.semantic_support import METRIC_TESTS_PATH, MODEL_PATH

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROJECT_TESTS = PROJECT_ROOT / "semantic" / "tests"
PROJECT_MODEL = PROJECT_ROOT / "semantic" / "model"


def test_fixture_metric_tests_pass():
    results = run_metric_tests(METRIC_TESTS_PATH, MODEL_PATH)
    assert [r.test.name for r in results] == [
        "revenue_nets_discounts_by_segment",
        "active_customers_trailing_30_days",
    ]
    assert [r.message for r in results if not r.passed] == []


def test_wrong_expectation_fails_with_expected_and_actual(tmp_path):
    document = yaml.safe_load((METRIC_TESTS_PATH / "customer_metrics.yml").read_text())
    case = document["tests"][0]
    case["expected"][0]["customer_360.revenue"] = 150.0  # the right value is 140
    path = tmp_path / "wrong.yml"
    path.write_text(yaml.safe_dump({"tests": [case]}, sort_keys=False))
    [test] = load_metric_tests(path)
    result = run_metric_test(test, load_model(MODEL_PATH))
    assert not result.passed
    assert "'customer_360.revenue': 150.0" in result.message
    assert "'customer_360.revenue': 140.0" in result.message


def test_query_errors_fail_the_test_with_the_reason(tmp_path):
    path = tmp_path / "bad_member.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "tests": [
                    {
                        "name": "unknown",
                        "inputs": {},
                        "query": {"measures": ["customer_360.revenu"]},
                        "expected": [],
                    }
                ]
            }
        )
    )
    [result] = run_metric_tests(path, MODEL_PATH)
    assert not result.passed and "unknown member 'customer_360.revenu'" in result.message


def test_malformed_test_files_name_the_problem(tmp_path):
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump({"tests": [{"name": "x", "query": {}, "expected": []}]}))
    with pytest.raises(MetricTestError, match=r"broken.yml: tests\[0\]: missing `inputs`"):
        load_metric_tests(path)


def _project_cases() -> list:
    if not PROJECT_TESTS.is_dir():
        return []
    return [pytest.param(case, id=case.id) for case in load_metric_tests(PROJECT_TESTS)]


@pytest.mark.parametrize("case", _project_cases())
def test_project_metric_tests(case):
    result = run_metric_test(case, load_model(PROJECT_MODEL))
    assert result.passed, result.message
