"""Metric unit tests: small input tables, a query, the expected rows (YAML in semantic/tests/).

A file holds `tests:`, a list of cases:

    tests:
      - name: revenue_nets_discounts
        description: revenue is amount minus discount, by segment
        inputs:                              # warehouse tables, rows as mappings
          warehouse.fact_order:
            columns: {order_id: VARCHAR, amount_usd: DOUBLE}   # optional DuckDB types
            rows:
              - {order_id: O1, amount_usd: 10.0}
          marts.customer_360_view:          # or just a list of rows
            - {customer_id: C1, segment: SMB}
        query: {measures: [customers.revenue], dimensions: [customers.segment]}
        role: analyst                        # optional; without role/security_context the
        security_context: {}                 # test checks the definition (no policies)
        as_of: 2024-06-30                    # optional, anchors relative date ranges
        expected:                            # rows; only the columns named are compared
          - {customers.segment: SMB, customers.revenue: 10.0}
        order_matters: false                 # default: true only when the query has `order`

The runner builds an in-memory DuckDB with the inputs, runs the query through the embedded
engine on the real model, and compares (numbers with a relative tolerance of 1e-9).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import yaml

from semantic.definitions import DataModel
from semantic.engine import Engine
from semantic.engine.security import SecurityContext
from semantic.errors import SemanticError
from semantic.model_loader import load_model
from semantic.query import Query

TOLERANCE = 1e-9
CASE_KEYS = {
    "name",
    "description",
    "inputs",
    "query",
    "role",
    "security_context",
    "as_of",
    "expected",
    "order_matters",
}


class MetricTestError(SemanticError):
    """A metric test file cannot be read."""


@dataclass
class MetricTest:
    file: Path
    name: str
    inputs: dict[str, Any]
    query: dict[str, Any]
    expected: list[dict[str, Any]]
    description: str | None = None
    role: str | None = None
    security_context: dict[str, Any] | None = None
    as_of: dt.date | None = None
    order_matters: bool | None = None

    @property
    def id(self) -> str:
        return f"{self.file.stem}::{self.name}"


@dataclass
class MetricTestResult:
    test: MetricTest
    passed: bool
    message: str = ""
    actual: pd.DataFrame | None = field(default=None, repr=False)


def load_metric_tests(path: Path) -> list[MetricTest]:
    """Every case of every `*.yml` file under `path` (a folder or one file)."""
    files = [path] if path.is_file() else sorted([*path.rglob("*.yml"), *path.rglob("*.yaml")])
    tests: list[MetricTest] = []
    for file in files:
        try:
            document = yaml.safe_load(file.read_text()) or {}
        except yaml.YAMLError as exc:
            raise MetricTestError(f"{file}: not valid YAML: {exc}") from exc
        cases = document.get("tests") if isinstance(document, dict) else None
        if not isinstance(cases, list):
            raise MetricTestError(f"{file}: expected a `tests:` list")
        for index, case in enumerate(cases):
            tests.append(_parse_case(file, index, case))
    return tests


def _parse_case(file: Path, index: int, case: Any) -> MetricTest:
    where = f"{file}: tests[{index}]"
    if not isinstance(case, dict):
        raise MetricTestError(f"{where} must be a mapping")
    unknown = set(case) - CASE_KEYS
    if unknown:
        raise MetricTestError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    for key in ("name", "inputs", "query", "expected"):
        if key not in case:
            raise MetricTestError(f"{where}: missing `{key}`")
    if not isinstance(case["expected"], list):
        raise MetricTestError(f"{where}: `expected` must be a list of rows")
    as_of = case.get("as_of")
    return MetricTest(
        file=file,
        name=str(case["name"]),
        inputs=case["inputs"] or {},
        query=case["query"],
        expected=case["expected"],
        description=case.get("description"),
        role=case.get("role"),
        security_context=case.get("security_context"),
        as_of=dt.date.fromisoformat(str(as_of)) if as_of else None,
        order_matters=case.get("order_matters"),
    )


def _input_frame(table: str, spec: Any, where: str) -> tuple[pd.DataFrame, dict[str, str]]:
    types: dict[str, str]
    if isinstance(spec, list):
        rows, types = spec, {}
    elif isinstance(spec, dict) and "rows" in spec:
        rows, types = spec["rows"] or [], spec.get("columns") or {}
    else:
        raise MetricTestError(
            f"{where}: input '{table}' must be a list of rows or {{columns, rows}}"
        )
    frame = pd.DataFrame.from_records(rows)
    for column in types:
        if column not in frame.columns:
            frame[column] = None
    return frame, {str(k): str(v) for k, v in types.items()}


def build_inputs(con: duckdb.DuckDBPyConnection, test: MetricTest) -> None:
    """Create the test's input tables in `con`."""
    for table, spec in test.inputs.items():
        frame, types = _input_frame(table, spec, test.id)
        parts = table.split(".")
        if len(parts) == 2:
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{parts[0]}"')
        name = ".".join(f'"{part}"' for part in parts)
        con.register("__input", frame)
        columns = ", ".join(
            f'CAST("{column}" AS {types[column]}) AS "{column}"'
            if column in types
            else f'"{column}"'
            for column in frame.columns
        )
        con.execute(f"CREATE TABLE {name} AS SELECT {columns} FROM __input")
        con.unregister("__input")


def run_metric_test(test: MetricTest, model: DataModel) -> MetricTestResult:
    con = duckdb.connect()
    try:
        build_inputs(con, test)
        engine = Engine(model, con, as_of=test.as_of)
        if test.role is None and test.security_context is None:
            context = SecurityContext.unrestricted()
        else:
            context = SecurityContext.build(test.role, test.security_context)
        actual = engine.load(test.query, context=context)
    except (SemanticError, duckdb.Error) as exc:
        return MetricTestResult(test, False, f"query failed: {exc}")
    finally:
        con.close()
    order_matters = test.order_matters
    if order_matters is None:
        order_matters = Query.parse(test.query).order is not None
    message = compare(actual, test.expected, order_matters)
    return MetricTestResult(test, not message, message, actual)


def run_metric_tests(tests_path: Path, model_path: Path) -> list[MetricTestResult]:
    model = load_model(model_path)
    return [run_metric_test(test, model) for test in load_metric_tests(tests_path)]


def _normal(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return pd.Timestamp(value)
    if hasattr(value, "item"):
        return value.item()
    return value


def _equal(actual: Any, expected: Any) -> bool:
    actual, expected = _normal(actual), _normal(expected)
    if isinstance(actual, pd.Timestamp) and isinstance(expected, str):
        expected = pd.Timestamp(expected)
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual == expected
    if isinstance(actual, int | float) and isinstance(expected, int | float):
        return math.isclose(actual, expected, rel_tol=TOLERANCE, abs_tol=TOLERANCE)
    return actual == expected


def _sort_key(row: dict[str, Any], columns: list[str]) -> tuple[str, ...]:
    return tuple(str(_normal(row.get(column))) for column in columns)


def compare(actual: pd.DataFrame, expected: list[dict[str, Any]], order_matters: bool) -> str:
    """Empty when the frame holds exactly the expected rows, else a readable difference."""
    columns = list(dict.fromkeys(key for row in expected for key in row))
    missing = [column for column in columns if column not in actual.columns]
    if missing:
        return f"result has no column(s) {', '.join(missing)}; it has {list(actual.columns)}"
    actual_rows = [{c: row[c] for c in columns} for row in actual.to_dict("records")]
    expected_rows = [{c: row.get(c) for c in columns} for row in expected]
    if not order_matters:
        actual_rows.sort(key=lambda row: _sort_key(row, columns))
        expected_rows.sort(key=lambda row: _sort_key(row, columns))
    mismatch = len(actual_rows) != len(expected_rows) or any(
        not _equal(a[c], e[c])
        for a, e in zip(actual_rows, expected_rows, strict=False)
        for c in columns
    )
    if not mismatch:
        return ""
    lines = [f"expected {len(expected_rows)} row(s), got {len(actual_rows)}:"]
    lines += [
        "  expected: " + str({c: _normal(v) for c, v in row.items()}) for row in expected_rows
    ]
    lines += ["  actual:   " + str({c: _normal(v) for c, v in row.items()}) for row in actual_rows]
    return "\n".join(lines)
