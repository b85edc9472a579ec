"""A re-run of an interval replaces exactly that interval's rows, on Spark as on DuckDB.

The facts with a timestamp time column (`fact_order.ordered_at`, `fact_support_ticket.created_at`,
`fact_campaign_target.targeted_at`, `fact_kb_article_view.viewed_at`) are partitioned by a day
column on Spark, not by the timestamp (`partition_by_time_column false`, `partitioned_by`), and
SQLMesh writes an interval there with a dynamic `INSERT OVERWRITE`, which replaces only the day
partitions the new rows land in. Their `@drop_interval_partitions` pre-statement empties the
interval's days first (sqlmesh/macros/partitions.py).

The facts and the incremental marts with a date time column are partitioned by it (SQLMesh's
default) and carry the same pre-statement. Here the real models are loaded from the project; a
Spark table shaped like each model holds one row a day around a 3-day interval, and the
interval's second day has no row in the re-run (a corrected landing file):
SQLMesh's own Spark adapter writes the interval after the model's rendered pre-statements. The
table must then hold exactly the new rows plus the rows outside the interval. Without the
pre-statement the old rows of the emptied day survive (the behaviour it exists for), and on
DuckDB the pre-statement renders to nothing (DuckDB deletes the interval's time range itself).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import SPARK_ONLY

pytestmark = SPARK_ONLY

#: fact -> (timestamp time column, day partition column)
TIMESTAMP_FACTS = {
    "warehouse.fact_order": ("ordered_at", "ordered_date"),
    "warehouse.fact_support_ticket": ("created_at", "created_date"),
    "warehouse.fact_campaign_target": ("targeted_at", "targeted_date"),
    "warehouse.fact_kb_article_view": ("viewed_at", "viewed_date"),
}
#: the facts whose time column is a date: partitioned by it (SQLMesh's default)
DATE_FACTS = {
    "warehouse.fact_invoice": ("invoice_date", "invoice_date"),
    "warehouse.fact_network_usage": ("usage_date", "usage_date"),
    "warehouse.fact_retention_offer": ("offer_date", "offer_date"),
}
#: the incremental marts: a date time column, partitioned by it, the same pre-statement
DATE_MARTS = {
    f"marts.{name}": (column, column)
    for name, column in (
        ("customer_daily_activity", "activity_date"),
        ("customer_active_30d_days", "calendar_date"),
        ("active_customers_30d", "calendar_date"),
        ("customer_monthly_activity", "month_start_date"),
        ("customer_signals", "as_of_date"),
        ("churn_prediction_features", "snapshot_date"),
    )
}
DATE_MODELS = {**DATE_FACTS, **DATE_MARTS}
FACTS = {**TIMESTAMP_FACTS, **DATE_MODELS}
INTERVAL = (dt.date(2024, 3, 1), dt.date(2024, 3, 3))
#: one row a day from the day before the interval to the day after it
OLD_ROWS = [
    (1, dt.datetime(2024, 2, 29, 23, 59, 59)),
    (2, dt.datetime(2024, 3, 1, 0, 0, 0)),
    (3, dt.datetime(2024, 3, 2, 12, 0, 0)),
    (4, dt.datetime(2024, 3, 3, 23, 59, 59)),
    (5, dt.datetime(2024, 3, 4, 0, 0, 0)),
]
#: the interval re-run: 2 March has no rows any more, 1 and 3 March changed
NEW_ROWS = [
    (12, dt.datetime(2024, 3, 1, 8, 0, 0)),
    (14, dt.datetime(2024, 3, 3, 9, 0, 0)),
    (15, dt.datetime(2024, 3, 3, 10, 0, 0)),
]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from custintel.app import transform
    from custintel.core.settings import load_settings
    from tests.conftest import write_config

    settings = load_settings(write_config(tmp_path_factory.mktemp("partitions")), environ={})
    ctx = transform.context(settings)
    try:
        return {name: ctx.get_model(name) for name in FACTS}
    finally:
        ctx.close()


@pytest.fixture(scope="module")
def spark_adapter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """SQLMesh's Spark adapter on this process's Spark session (the equality test's one when it
    ran first, else a small local one), in a database of its own."""
    from pyspark.sql import SparkSession
    from sqlmesh.core.engine_adapter.spark import SparkEngineAdapter
    from sqlmesh.engines.spark.db_api.spark_session import connection

    spark = SparkSession.getActiveSession()
    if spark is None:
        spark = (
            SparkSession.builder.master("local[1]")
            .config("spark.sql.catalogImplementation", "in-memory")
            .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("spark-warehouse")))
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", "1")
            .config("spark.ui.enabled", "false")
            .getOrCreate()
        )
    spark.sql("create database if not exists partition_rerun")
    yield SparkEngineAdapter(lambda: connection(spark))
    spark.sql("drop database if exists partition_rerun cascade")


def _rerun_interval(adapter: Any, model: Any, table: str, with_pre_statements: bool) -> list[tuple]:
    """Fill `table` with OLD_ROWS, re-run INTERVAL with NEW_ROWS as SQLMesh does on Spark (the
    model's pre-statements, then its incremental write), return the table's (id, time) rows."""
    import pandas as pd
    from sqlglot import exp
    from sqlmesh.core.macros import RuntimeStage

    time_column, day_column = FACTS[model.name]
    assert [e.name for e in model.partitioned_by] == [day_column]
    is_date = time_column == day_column
    columns = {
        "row_id": exp.DataType.build("bigint"),
        time_column: exp.DataType.build("date" if is_date else "timestamp"),
        day_column: exp.DataType.build("date"),
    }
    adapter.drop_table(table)
    adapter.create_table(table, columns, partitioned_by=model.partitioned_by)

    def frame(rows: list[tuple]) -> pd.DataFrame:
        if is_date:
            return pd.DataFrame([(row_id, at.date()) for row_id, at in rows], columns=list(columns))
        return pd.DataFrame([(row_id, at, at.date()) for row_id, at in rows], columns=list(columns))

    adapter.insert_append(table, frame(OLD_ROWS), target_columns_to_types=columns)
    start, end = INTERVAL
    if with_pre_statements:
        statements = model.render_pre_statements(
            start=start,
            end=end,
            execution_time=end + dt.timedelta(days=1),
            engine_adapter=adapter,
            runtime_stage=RuntimeStage.EVALUATING,
            this_model=exp.to_table(table).sql(dialect=model.dialect),
        )
        assert statements, f"{model.name}: no pre-statement rendered on Spark"
        for table_name in (t for statement in statements for t in statement.find_all(exp.Table)):
            # the models were loaded on the DuckDB gateway, whose default catalog SQLMesh adds
            # to the rendered names; on the Spark gateway it is Spark's own catalogue
            table_name.set("catalog", None)
        adapter.execute(statements)
    adapter.insert_overwrite_by_time_partition(
        table,
        frame(NEW_ROWS),
        start=start,
        end=end,
        time_formatter=model.convert_to_time_column,
        time_column=model.time_column,
        target_columns_to_types=columns,
    )
    rows = adapter.fetchall(f"select row_id, {time_column} from {table} order by row_id")
    return [(int(row_id), _as_datetime(at)) for row_id, at in rows]


def _as_datetime(value: dt.date) -> dt.datetime:
    """A date fact's day as midnight, to compare it with OLD_ROWS / NEW_ROWS."""
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.combine(value, dt.time())


def _outside_interval(rows: list[tuple]) -> list[tuple]:
    start, end = INTERVAL
    return [row for row in rows if not start <= row[1].date() <= end]


def _expected(rows: list[tuple], name: str) -> list[tuple]:
    if name in DATE_MODELS:
        return sorted((row_id, _as_datetime(at.date())) for row_id, at in rows)
    return sorted(rows)


@pytest.mark.parametrize("name", sorted(FACTS))
def test_a_rerun_replaces_exactly_the_interval_on_spark(models, spark_adapter, name) -> None:
    table = f"partition_rerun.{name.replace('.', '__')}"
    rows = _rerun_interval(spark_adapter, models[name], table, with_pre_statements=True)
    assert rows == _expected(_outside_interval(OLD_ROWS) + NEW_ROWS, name)


def test_without_the_pre_statement_a_day_left_empty_keeps_its_old_rows(
    models, spark_adapter
) -> None:
    model = models["warehouse.fact_kb_article_view"]
    rows = _rerun_interval(
        spark_adapter, model, "partition_rerun.no_pre", with_pre_statements=False
    )
    stale = (3, dt.datetime(2024, 3, 2, 12, 0, 0))  # 2 March: no new row, not overwritten
    assert rows == sorted([*_outside_interval(OLD_ROWS), *NEW_ROWS, stale])


def test_the_pre_statement_renders_nothing_on_duckdb(models) -> None:
    from sqlmesh.core.config import DuckDBConnectionConfig
    from sqlmesh.core.macros import RuntimeStage

    duckdb_adapter = DuckDBConnectionConfig().create_engine_adapter()
    for model in models.values():
        statements = model.render_pre_statements(
            start=INTERVAL[0],
            end=INTERVAL[1],
            engine_adapter=duckdb_adapter,
            runtime_stage=RuntimeStage.EVALUATING,
            this_model="warehouse.x",
        )
        assert statements == [], model.name


def test_the_day_column_is_the_day_of_the_time_column_in_every_timestamp_fact(models) -> None:
    """The partition column must be exactly the time column's day, or an interval's rows would
    be written into partitions outside it."""
    from sqlglot import exp

    for name, (time_column, day_column) in TIMESTAMP_FACTS.items():
        model = models[name]
        assert model.time_column.column.name == time_column, name
        assert model.kind.partition_by_time_column is False, name
        query = model.render_query_or_raise()
        day = next(e for e in query.selects if e.alias_or_name == day_column).unalias()
        assert isinstance(day, exp.Cast) and day.to.is_type("date"), name
        assert isinstance(day.this, exp.Column) and day.this.name == time_column, name
