"""One process, two Spark warehouses one after the other: `stop_spark` ends the session and its
JVM, so the next session starts on another warehouse folder (the benchmark builds one per size)."""

from __future__ import annotations

from pathlib import Path

import pytest

from custintel.core.settings import Settings, load_settings
from custintel.core.spark_gateway import SparkGatewayError, spark_session, stop_spark
from tests.conftest import SPARK_ONLY, write_config

pytestmark = SPARK_ONLY

LIGHT_SPARK = {
    "spark.sql.catalogImplementation": "in-memory",
    "spark.sql.shuffle.partitions": "1",
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
}


def _settings(root: Path) -> Settings:
    config = write_config(
        root, sqlmesh={"gateway": "spark"}, spark={"master": "local[1]", "config": LIGHT_SPARK}
    )
    return load_settings(config, environ={})


def test_a_stopped_spark_frees_its_jvm_and_the_next_session_uses_another_warehouse(
    tmp_path: Path,
) -> None:
    from pyspark import SparkContext

    first, second = _settings(tmp_path / "first"), _settings(tmp_path / "second")
    stop_spark()  # a session an earlier test file of this process left running
    try:
        session = spark_session(first)
        session.sql("create table numbers using parquet as select id from range(3)")
        jvm = SparkContext._gateway.proc
        # while it runs, the session refuses another warehouse
        with pytest.raises(SparkGatewayError, match="one Spark warehouse per process"):
            spark_session(second)
        stop_spark()
        assert jvm.poll() is not None  # the JVM process has exited
        stop_spark()  # a second stop is a no-op
        session = spark_session(second)
        assert str(second.spark_warehouse_path) in session.conf.get("spark.sql.warehouse.dir")
        session.sql("create table numbers using parquet as select id from range(5)")
        assert session.table("numbers").count() == 5
        assert (second.spark_warehouse_path / "numbers").is_dir()
        assert (first.spark_warehouse_path / "numbers").is_dir()
    finally:
        stop_spark()
