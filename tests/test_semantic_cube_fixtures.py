"""Cube's own rolling-window and running-total tests (schema-compiler suite), on DuckDB.

The cases, Cube's model and Cube's fixture rows live in `tests/fixtures/cube_schema_compiler`
(see its README); each case runs through the embedded engine and must return the rows Cube's
test expects, or the refusal Cube's planner gives.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
import yaml

from semantic.engine import Engine
from semantic.errors import QueryError

FIXTURES = Path(__file__).parent / "fixtures" / "cube_schema_compiler"
CASES = yaml.safe_load((FIXTURES / "cases.yml").read_text())["cases"]


@pytest.fixture(scope="module")
def engine() -> Engine:
    con = duckdb.connect()
    con.execute((FIXTURES / "data.sql").read_text())
    return Engine(FIXTURES / "model", con, allow_private=True)


def _value(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%dT%H:%M:%S.000")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _canonical(rows: list[dict[str, Any]]) -> list[list[tuple[str, Any]]]:
    """Rows as sorted (column, value) pairs, in a stable order (Cube orders ties freely)."""
    return sorted((sorted(row.items()) for row in rows), key=repr)


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {column: _value(value) for column, value in row.items()}
        for row in frame.astype(object).to_dict("records")
    ]


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_cube_case(engine: Engine, case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(QueryError, match=case["error"]):
            engine.load(case["query"])
        return
    result = engine.load(case["query"])
    assert sorted(result.columns) == sorted(case["expected"][0]), case["source"]
    assert _canonical(_rows(result)) == _canonical(case["expected"]), case["source"]
