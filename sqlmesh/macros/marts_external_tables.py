"""Create an external table when it does not exist yet, from its SQLMesh declaration.

External tables (sqlmesh/external_models/*.yaml) are written outside SQLMesh; a model reading
one fails while nothing has written it yet, e.g. `ml.churn_scores` before the first churn
model is trained. A model that is meaningful with an empty table creates it in a pre-statement:

    @create_external_table(ml.churn_scores);

At evaluation this renders `create schema if not exists ml` and `create table if not exists
ml.churn_scores (...)` with the columns and types SQLMesh knows from the declaration, so the
columns are written down once. The table must be a parent of the model (read by its query).
Nothing is rendered while SQLMesh loads the project (the schema is not known then).
"""

from __future__ import annotations

from sqlglot import exp
from sqlmesh import macro
from sqlmesh.core.macros import MacroEvaluator


@macro()
def create_external_table(evaluator: MacroEvaluator, table: exp.Expression) -> list[exp.Expression]:
    """`create schema if not exists` + `create table if not exists` for a declared external."""
    if evaluator.runtime_stage == "loading":
        return []
    name = exp.to_table(table.sql(evaluator.dialect))
    columns = [
        exp.ColumnDef(this=exp.to_identifier(column), kind=data_type)
        for column, data_type in evaluator.columns_to_types(name).items()
    ]
    schema = exp.Schema(this=name.copy(), expressions=columns)
    return [
        exp.Create(this=exp.Table(db=name.args["db"].copy()), kind="SCHEMA", exists=True),
        exp.Create(this=schema, kind="TABLE", exists=True),
    ]
