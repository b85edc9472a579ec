"""The same project on both gateways: one generated sample built on DuckDB and on Spark, equal.

A 300-customer x 6-month sample is generated once, loaded by the landing loader, and built twice
from the same files: on the `duckdb` gateway, and on the `spark` gateway (PySpark in local mode,
the validated landing copy published as Parquet-backed Spark tables, SQLMesh's models, audits
and unit tests run on Spark, state in DuckDB). Then every table of the warehouse (dimensions and
facts), quarantine and marts schemas must hold the same rows on both (doubles rounded to 6
decimals, row order ignored), and every measure of every public view of the semantic model must
give the same values through the embedded engine on each warehouse, in total and by the view's
segment. Nothing is compared with a number written here: the two engines check each other.

Needs PySpark (`pip install -e '.[spark]'`) and Java 17; `.ci/run` installs both.
Cost on this shared 2-core machine (one pytest process, `SPARK_TEST_CONFIG` below): the whole
file 530 s at load average 4.6-8.3 (fixture 417 s, comparisons ~90 s). The fixture's parts at
load ~7: DuckDB build 44 s, Spark session 13 s, landing publish 11 s, SQLMesh project loads
19 s, 16 unit tests 43 s, the 52 models with 220 audits on Spark 276 s (audits ~210 s of
statement time over the two SQLMesh threads). With the earlier settings (Derby Hive metastore,
local[2], codegen on) the fixture took 1,040-1,130 s at load 10-13 and ~480 s at load 3-11
(unit tests 71 s, publish 24 s, models and audits 289 s). Nearly all of it is
Spark's per-statement cost on tiny data (~800 statements), not the rows. The facts with a
timestamp time column are partitioned by its day, not one folder per timestamp (sqlmesh/README.md,
"Partitions on Spark"): 610.8 s before, 443.6 s after for the whole file, one run each at load
6-10.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from sqlmesh.core.audit.builtin import BUILT_IN_AUDITS

from custintel.app import transform
from custintel.core.landing.loader import load_landing
from custintel.core.settings import Settings, load_settings
from custintel.generate import generate_landing
from semantic.definitions import DataModel
from semantic.engine import Engine
from semantic.model_loader import load_model
from tests.conftest import SPARK_ONLY, write_config

pytestmark = SPARK_ONLY

ROOT = Path(__file__).resolve().parent.parent
COMPARED_SCHEMAS = ("warehouse", "quarantine", "marts")
DECIMALS = 6
ROUNDING_UNIT = 1.000001e-6  # one unit of the 6th decimal (and float noise on top)
#: Spark settings for a 300-customer sample on a shared 2-core machine. Every Spark user here
#: (landing publish, SQLMesh's models, audits and unit tests, the semantic engine, ML) runs in
#: this one process and session, so the catalogue is Spark's in-memory one, not the Derby Hive
#: metastore a real build keeps for later processes (Derby writes per table, partition and
#: schema). The rest trades per-row speed, which tiny data does not need, for per-statement
#: cost: one shuffle partition and task slot, no adaptive re-planning, no whole-stage code
#: generation (the interpreted-only `codegen.factoryMode` saves more CPU but cannot decode
#: `catalog.listTables`' rows), partitions listed in the driver instead of by a job, and a
#: driver JVM that compiles with C1 only and collects garbage in one thread (less JIT and GC
#: work for a short-lived JVM).
SPARK_TEST_MASTER = "local[1]"
SPARK_TEST_CONFIG = {
    "spark.sql.catalogImplementation": "in-memory",
    "spark.sql.shuffle.partitions": "1",
    "spark.default.parallelism": "1",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.sources.parallelPartitionDiscovery.threshold": "100000",
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
}


@dataclass
class Gateways:
    duckdb: Settings
    spark: Settings
    as_of: dt.date

    def spark_session(self) -> Any:
        from custintel.core.spark_gateway import spark_session

        return spark_session(self.spark)


def _settings(root: Path, landing: Path, gateway: str) -> Settings:
    config = write_config(
        root,
        landing={"path": str(landing)},
        sqlmesh={"gateway": gateway},
        spark={"master": SPARK_TEST_MASTER, "config": SPARK_TEST_CONFIG},
    )
    return load_settings(config, environ={})


@pytest.fixture(scope="module")
def gateways(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateways]:
    from custintel.core.landing.spark_tables import publish_landing

    root = tmp_path_factory.mktemp("gateways")
    landing = root / "landing"
    generate_landing(
        landing, customers=300, months=6, start_date=dt.date(2024, 1, 1), seed=17, defect_rate=0.01
    )
    on_duckdb = _settings(root / "duckdb", landing, "duckdb")
    on_spark = _settings(root / "spark", landing, "spark")
    for settings in (on_duckdb, on_spark):
        load_landing(landing, settings.warehouse_path)
    as_of = transform.landing_as_of_date(on_duckdb.warehouse_path)
    transform.apply(on_duckdb, as_of=as_of, run_tests=False)
    publish_landing(on_spark)
    # the unit tests run here on Spark (the gateway's test connection), then every model
    transform.apply(on_spark, as_of=as_of, run_tests=True)
    yield Gateways(on_duckdb, on_spark, as_of)


def _canonical(value: Any) -> Any:
    """One spelling per value across engines: null, rounded number, ISO date/time, text."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal) or hasattr(value, "dtype"):
        number = float(value)
        if math.isnan(number):
            return None
        return round(number, DECIMALS) + 0.0  # + 0.0: -0.0 and 0.0 are one value
    if isinstance(value, dt.datetime | dt.date | pd.Timestamp):
        return pd.Timestamp(value).isoformat()
    return value


def _rows(frame: pd.DataFrame) -> list[tuple]:
    rows = [tuple(_canonical(v) for v in row) for row in frame.itertuples(index=False)]
    return sorted(rows, key=lambda row: tuple((v is None, str(type(v)), v or 0) for v in row))


def _close(expected: Any, actual: Any, tolerance: float) -> bool:
    if isinstance(expected, float) and isinstance(actual, float):
        return math.isclose(expected, actual, rel_tol=tolerance, abs_tol=tolerance)
    return expected == actual


def _unequal_rows(expected: list[tuple], actual: list[tuple], tolerance: float) -> list[tuple]:
    """Row pairs (in sorted order) that differ beyond `tolerance` in some number, or at all in
    another value; a different row count is a difference too."""
    if len(expected) != len(actual):
        return [(len(expected), len(actual))]
    return [
        (want, got)
        for want, got in zip(expected, actual, strict=True)
        if len(want) != len(got)
        or not all(_close(w, g, tolerance) for w, g in zip(want, got, strict=True))
    ]


def _duckdb_tables(settings: Settings) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        names = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            f"where table_schema in {COMPARED_SCHEMAS} order by 1"
        ).fetchall()
        return {name: con.execute(f"select * from {name}").df() for (name,) in names}


def _differences(table: str, expected: list[tuple], actual: list[tuple]) -> str:
    missing = sorted(set(expected) - set(actual), key=str)[:3]
    extra = sorted(set(actual) - set(expected), key=str)[:3]
    return (
        f"{table}: {len(expected)} rows on DuckDB, {len(actual)} on Spark; "
        f"only on DuckDB e.g. {missing}; only on Spark e.g. {extra}"
    )


def test_every_dimension_fact_quarantine_and_mart_is_equal_row_for_row(gateways) -> None:
    spark = gateways.spark_session()
    tables = _duckdb_tables(gateways.duckdb)
    schemas = {name.split(".")[0] for name in tables}
    assert schemas == set(COMPARED_SCHEMAS)
    on_spark = {
        f"{schema}.{table.name}"
        for schema in COMPARED_SCHEMAS
        for table in spark.catalog.listTables(schema)
    }
    assert on_spark == set(tables)
    unequal = []
    for name, frame in tables.items():
        spark_frame = spark.table(name).toPandas()
        # Spark stores a partitioned table's partition column (SQLMesh partitions incremental
        # models by their time column) last: same columns, compared by name
        assert sorted(spark_frame.columns) == sorted(frame.columns), name
        spark_frame = spark_frame[list(frame.columns)]
        expected, actual = _rows(frame), _rows(spark_frame)
        # rounded to 6 decimals, a value at a rounding boundary (x.xxxxxx5) can land on either
        # side when the engines' last bits differ: one unit of the 6th decimal is allowed
        if _unequal_rows(expected, actual, ROUNDING_UNIT):
            unequal.append(_differences(name, expected, actual))
    assert not unequal, "\n".join(unequal)
    # the sample is not empty: the comparison compared something in every layer
    assert all(len(tables[f"warehouse.{t}"]) > 0 for t in ("dim_customer", "fact_invoice"))
    assert len(tables["marts.customer_360_view"]) >= 300


#: the join types of a subquery (exists, in, not in) that Spark turned into a join
SUBQUERY_JOINS = ("ExistenceJoin", "LeftAnti", "LeftSemi")


def _row_by_row_joins(spark: Any, query: str) -> list[str]:
    """The joins of the physical plan Spark makes for `query` (planned, not run) that test row
    pairs one by one over a large side: a subquery planned as a nested loop (it runs once per
    outer row over the whole inner table) and a cartesian product (neither side is small enough
    to broadcast). Nested loops against a broadcast small side, the one-row `data_as_of`, the
    days of an interval, the month starts, are cheap and not listed (sqlmesh/README.md)."""
    plan = spark.sql(query)._jdf.queryExecution().executedPlan().toString()
    return [
        line.strip()
        for line in plan.splitlines()
        if "CartesianProduct" in line
        or ("NestedLoopJoin" in line and any(join in line for join in SUBQUERY_JOINS))
    ]


def test_no_model_or_audit_plans_a_subquery_as_a_nested_loop_on_spark(gateways) -> None:
    """Every model's query and the project's audits, rendered for Spark, hash their subqueries:
    a nested loop over the usage rows is harmless at 300 x 6 and never finishes at 5,000 x 24."""
    spark = gateways.spark_session()
    # the detector sees the shape it is for: the orphan rule's earlier `not in` in a `case`
    earlier_orphan_rule = (
        "select case when customer_id not in (select customer_id from warehouse.dim_customer) "
        "then 'orphan' end from staging.stg_network__usage"
    )
    assert any("ExistenceJoin" in j for j in _row_by_row_joins(spark, earlier_orphan_rule))
    execution_time = transform.execution_time_for(gateways.as_of)
    window = {
        "start": gateways.spark.sqlmesh.start,
        "end": execution_time,
        "execution_time": execution_time,
    }
    ctx = transform.context(gateways.spark)
    found: dict[str, list[str]] = {}
    checked = 0
    try:
        for fqn in ctx.dag.sorted:
            model = ctx.models.get(fqn)
            if model is None or model.kind.is_external:
                continue
            queries = {
                model.name: model.render_query_or_raise(**window, engine_adapter=ctx.engine_adapter)
            }
            # the project's own audits; SQLMesh's built-in ones check one table without joins
            for audit, args in model.audits_with_args:
                if audit.name not in BUILT_IN_AUDITS:
                    queries[f"{model.name} audit {audit.name}"] = model.render_audit_query(
                        audit, **window, **args
                    )
            for name, query in queries.items():
                checked += 1
                joins = _row_by_row_joins(spark, query.sql(dialect="spark"))
                if joins:
                    found[name] = joins
    finally:
        ctx.close()
    assert checked > 80  # every model and the project's audits were planned
    assert not found, "\n".join(
        f"{name}: {len(joins)} join(s), e.g. {joins[0][:240]}" for name, joins in found.items()
    )


def test_landed_rows_are_loaded_or_rejected_on_spark(gateways) -> None:
    spark = gateways.spark_session()
    reconciliation = spark.table("quarantine.landing_reconciliation").toPandas()
    with duckdb.connect(str(gateways.spark.warehouse_path), read_only=True) as con:
        validated = {
            table: con.execute(f"select count(*) from landing.{table}").fetchone()[0]
            for (table,) in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'landing' and table_name not like '\\_%' escape '\\'"
            ).fetchall()
        }
    # one row per landing table and target model (tickets feed a dimension and a fact)
    landed = reconciliation.groupby("source_table")["landed_rows"].unique()
    assert {table: list(counts) for table, counts in landed.items()} == {
        table: [rows] for table, rows in validated.items()
    }
    balance = reconciliation["loaded_rows"] + reconciliation["rejected_rows"]
    assert (reconciliation["landed_rows"] == balance).all()
    assert reconciliation["rejected_rows"].sum() > 0  # the sample's planted defects


def _view_queries(model: DataModel) -> list[dict]:
    queries = []
    for view in model.views.values():
        if not view.public:
            continue
        measures = [f"{view.name}.{m.name}" for m in view.members.values() if m.kind == "measure"]
        if not measures:
            continue
        queries.append({"measures": measures})
        if "segment" in view.members and view.members["segment"].kind == "dimension":
            queries.append(
                {
                    "measures": measures,
                    "dimensions": [f"{view.name}.segment"],
                    "order": {f"{view.name}.segment": "asc"},
                }
            )
    return queries


def test_every_public_measure_is_equal_through_the_semantic_layer(gateways) -> None:
    from semantic.engine.spark_executor import SparkExecutor

    model = load_model(ROOT / "semantic" / "model")
    on_duckdb = Engine(model, gateways.duckdb.warehouse_path, as_of=gateways.as_of)
    on_spark = Engine(model, SparkExecutor(gateways.spark_session()), as_of=gateways.as_of)
    queries = _view_queries(model)
    assert len(queries) >= 10
    for query in queries:
        expected = on_duckdb.load(query, role="executive")
        actual = on_spark.load(query, role="executive")
        assert list(actual.columns) == list(expected.columns)
        # aggregates of doubles: the engines add in different orders
        assert not _unequal_rows(_rows(expected), _rows(actual), ROUNDING_UNIT), query


def test_semantic_api_uses_the_spark_executor_on_the_spark_gateway(gateways) -> None:
    from semantic import api
    from semantic.engine.spark_executor import SparkExecutor

    engine = api.engine(gateways.spark, as_of=gateways.as_of)
    assert isinstance(engine.database, SparkExecutor)
    frame = api.load(
        {"measures": ["revenue.revenue"]},
        role="executive",
        settings=gateways.spark,
        as_of=gateways.as_of,
    )
    with duckdb.connect(str(gateways.duckdb.warehouse_path), read_only=True) as con:
        billed = con.execute(
            "select sum(gross_amount - credit_amount - discount_amount) from warehouse.fact_invoice"
        ).fetchone()[0]
    assert frame["revenue.revenue"].iloc[0] == pytest.approx(billed, abs=0.005)


def _scores(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    from ml.writeback import CHURN_SCORES

    frame = pd.DataFrame(
        [
            {
                "customer_id": customer,
                "score_date": dt.date.fromisoformat(day),
                "churn_probability": probability,
                "risk_band": "high" if probability > 0.5 else "low",
                "churn_probability_raw": probability,
                "reason_1": "usage_change_30d_pct",
                "reason_1_driver": "usage_change_30d_pct",
                "reason_1_action": "check the network",
                "reason_1_contribution": 0.25,
                **{
                    f"reason_{i}{suffix}": None
                    for i in (2, 3)
                    for suffix in ("", "_driver", "_action", "_contribution")
                },
                "monthly_margin_amount": 20.0,
                "monthly_churn_hazard": 0.05,
                "predicted_clv_amount": 100.0,
                "expected_remaining_months": 5.0,
                "subscription_clv_amount": 90.0,
                "order_clv_amount": 10.0,
                "expected_retained_value_amount": 100.0 * probability,
                "risk_rank": rank,
                "value_rank": rank,
                "predicted_uplift": 0.01 * rank,
                "recommended_contact": "offer",
                "model_version": "churn_catboost/v1",
                "scored_at": dt.datetime(2024, 7, 1, 6),
            }
            for rank, (customer, day, probability) in enumerate(rows, start=1)
        ]
    )
    return frame[list(CHURN_SCORES)]


def test_ml_reads_features_and_writes_scores_through_the_spark_gateway(gateways) -> None:
    from ml import gateway

    on_spark = gateway.read_table(gateways.spark, "marts.churn_prediction_features")
    on_duckdb = gateway.read_table(gateways.duckdb, "marts.churn_prediction_features")
    assert sorted(on_spark.columns) == sorted(on_duckdb.columns)
    assert len(on_spark) == len(on_duckdb) > 0
    gateway.write_churn_scores(
        gateways.spark,
        _scores([("C1", "2024-06-01", 0.9), ("C2", "2024-06-01", 0.2), ("C1", "2024-05-01", 0.4)]),
    )
    # a rerun of the 2024-06-01 scoring replaces that date's rows only
    gateway.write_churn_scores(gateways.spark, _scores([("C3", "2024-06-01", 0.7)]))
    stored = gateways.spark_session().table("ml.churn_scores").toPandas()
    assert sorted(
        zip(
            stored["customer_id"],
            stored["score_date"].astype(str),
            stored["churn_probability"],
            strict=True,
        )
    ) == [("C1", "2024-05-01", 0.4), ("C3", "2024-06-01", 0.7)]
