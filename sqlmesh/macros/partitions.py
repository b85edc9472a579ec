"""Spark partitions of the incremental models: an interval's re-run replaces exactly its rows.

SQLMesh writes an `INCREMENTAL_BY_TIME_RANGE` interval differently per engine:

- DuckDB: `DELETE` the interval's rows by the time column, then `INSERT` the model's rows;
- Spark: `INSERT OVERWRITE` with `spark.sql.sources.partitionOverwriteMode = dynamic`, which
  replaces only the partitions the new rows land in. A day of the interval that had rows
  before and has none now (a corrected or removed landing file, rows turned into rejects) keeps
  its old rows: a restatement would leave stale rows on Spark that DuckDB deletes.

`@drop_interval_partitions(<date partition column>)`, as a model's pre-statement, empties the
interval's day partitions first on Spark (`ALTER TABLE ... DROP IF EXISTS PARTITION (...)`, one
partition spec per day: Spark's partition specs take equality only), so both engines replace
exactly the interval. It renders nothing on other engines, while a table is being created and
while the project loads. The models it serves are partitioned by a `date` column holding the
day of their time column (`partitioned_by`), and their intervals are whole days (`@daily`).
"""

from __future__ import annotations

import datetime as dt

from sqlglot import exp
from sqlmesh import macro
from sqlmesh.core.macros import MacroEvaluator, RuntimeStage

#: engines whose incremental writes overwrite partitions instead of deleting a time range
PARTITION_OVERWRITE_DIALECTS = ("spark",)


def interval_days(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every day from `start` to `end`, both included (empty when end < start)."""
    return [start + dt.timedelta(days=offset) for offset in range((end - start).days + 1)]


def drop_partitions_statement(
    table: exp.Table, column: str, days: list[dt.date]
) -> exp.Alter | None:
    """`ALTER TABLE <table> DROP IF EXISTS PARTITION (<column> = '<day>'), ...` (None: no day)."""
    if not days:
        return None
    partitions = [
        exp.Partition(
            expressions=[
                exp.EQ(this=exp.column(column), expression=exp.Literal.string(day.isoformat()))
            ]
        )
        for day in days
    ]
    return exp.Alter(
        this=table.copy(),
        kind="TABLE",
        actions=[exp.DropPartition(expressions=partitions, exists=True)],
    )


@macro()
def drop_interval_partitions(evaluator: MacroEvaluator, column: exp.Expression) -> exp.Alter | None:
    """Pre-statement: on Spark, drop the day partitions `column` of the interval being written."""
    if evaluator.runtime_stage != RuntimeStage.EVALUATING.value:
        return None
    if evaluator.engine_adapter.dialect not in PARTITION_OVERWRITE_DIALECTS:
        return None
    start = dt.date.fromisoformat(evaluator.locals["start_ds"])
    end = dt.date.fromisoformat(evaluator.locals["end_ds"])
    # the physical table being written, as SQL in the models' dialect
    table = exp.to_table(evaluator.locals["this_model"], dialect=evaluator.dialect)
    return drop_partitions_statement(table, column.name, interval_days(start, end))
