"""Create an external table (declared in sqlmesh/external_models/*.yaml) when it is missing.

External tables are written outside SQLMesh; a model reading one fails while nothing has written
it yet (e.g. `ml.churn_scores` before the first model is trained). A model that can live with an
empty table creates it in a pre-statement:

    @create_external_table(ml.churn_scores);

which renders `create schema if not exists ml` and `create table if not exists ml.churn_scores
(...)` with the columns of the declaration, so the columns are written down once.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from sqlglot import exp
from sqlmesh import macro
from sqlmesh.core.macros import MacroEvaluator

EXTERNAL_MODELS_DIR = Path(__file__).resolve().parent.parent / "external_models"


@cache
def declared_columns(name: str) -> tuple[tuple[str, str], ...]:
    """(column, type) of the external model `name` as declared in external_models/*.yaml."""
    for path in sorted(EXTERNAL_MODELS_DIR.glob("*.yaml")):
        for model in yaml.safe_load(path.read_text()) or []:
            if model.get("name") == name:
                return tuple(model["columns"].items())
    raise ValueError(f"external model {name!r} is not declared in {EXTERNAL_MODELS_DIR}")


@macro()
def create_external_table(evaluator: MacroEvaluator, table: exp.Expression) -> list[exp.Expression]:
    """`create schema if not exists` + `create table if not exists` for a declared external."""
    name = exp.to_table(table.sql(evaluator.dialect))
    qualified = f"{name.db}.{name.name}"
    columns = ", ".join(f"{column} {type_}" for column, type_ in declared_columns(qualified))
    return [
        evaluator.parse_one(f"create schema if not exists {name.db}"),
        evaluator.parse_one(f"create table if not exists {qualified} ({columns})"),
    ]
