"""The Spark session of the `spark` gateway, built from the `spark` section of the settings.

One configuration serves every Spark user of the project (SQLMesh's Spark connection in
`sqlmesh/config.py`, the landing writer, the semantic engine's Spark executor, ML read/write),
so they share one session per process (`getOrCreate`) and one catalogue of tables:

- `spark.master` (`local[*]` on one machine) or a Spark Connect server (`connect_url`);
- the Spark tables' Parquet files under `settings.spark_warehouse_path`;
- their catalogue in a Derby metastore at `settings.spark_metastore_path` (Hive catalogue), so a
  later process (`custintel metrics query` after a build) finds the same tables. Derby admits one
  process at a time; a team or a cluster uses a shared Hive metastore (`spark.config`:
  `spark.hadoop.hive.metastore.uris: thrift://...`).

PySpark is an optional extra (`pip install -e '.[spark]'`); it is imported only when a session
is asked for.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

from custintel.core.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


class SparkGatewayError(RuntimeError):
    """The Spark gateway cannot start: the message names the missing piece or setting."""


def spark_config(settings: Settings) -> dict[str, str]:
    """Spark settings of the gateway; `spark.config` entries override the defaults here.

    With a Spark Connect URL only session settings are sent: the server owns its warehouse
    folder and catalogue (they must be the `spark.warehouse_dir` this machine writes to).
    """
    session = {
        "spark.app.name": "custintel",
        # the warehouse's dates and timestamps carry no zone: read and write them as UTC
        "spark.sql.session.timeZone": "UTC",
    }
    if settings.spark.connect_url:
        return {**session, "spark.remote": settings.spark.connect_url, **settings.spark.config}
    metastore = settings.spark_metastore_path
    local = {
        "spark.master": settings.spark.master,
        "spark.sql.warehouse.dir": str(settings.spark_warehouse_path),
        "spark.sql.catalogImplementation": "hive",
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={metastore / 'metastore_db'};create=true"
        ),
        # derby.log beside the metastore instead of the current folder
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={metastore}",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
    }
    return {**session, **local, **settings.spark.config}


def spark_session(settings: Settings) -> SparkSession:
    """The process's Spark session for these settings (created on first use)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise SparkGatewayError(
            "the spark gateway needs PySpark: pip install -e '.[spark]' (and Java 17)"
        ) from exc
    config = spark_config(settings)
    active = SparkSession.getActiveSession()
    if active is not None:
        _check_same_warehouse(active, config)
        return active
    settings.spark_metastore_path.mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder
    for key, value in config.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    if not settings.spark.connect_url:
        session.sparkContext.setLogLevel("ERROR")
    return session


def stop_spark() -> None:
    """Stop this process's Spark session and the local JVM behind it (no-op without one).

    A JVM keeps its first session's warehouse folder and metastore for life, and its memory
    until the process ends: stopping both lets the same process use another Spark warehouse
    next (the benchmark builds one per size) and returns the JVM's memory.
    """
    try:
        from pyspark import SparkContext
        from pyspark.sql import SparkSession
    except ImportError:
        return
    session = SparkSession.getActiveSession()
    if session is not None:
        session.stop()
    gateway = SparkContext._gateway
    if gateway is None:
        return
    gateway.shutdown()
    process = getattr(gateway, "proc", None)  # the JVM PySpark launched; exits at stdin's end
    if process is not None:
        if process.stdin is not None:
            process.stdin.close()
        process.wait(timeout=120)
    SparkContext._gateway = None
    SparkContext._jvm = None


def _check_same_warehouse(session: SparkSession, config: dict[str, str]) -> None:
    """A process has one Spark session, and its catalogue cannot be moved once it runs."""
    key = "spark.sql.warehouse.dir"
    if key not in config:  # Spark Connect: the server's warehouse
        return
    running = session.conf.get(key)
    wanted = config[key]
    if running and running.removeprefix("file:").rstrip("/") != wanted.rstrip("/"):
        raise SparkGatewayError(
            f"this process's Spark session keeps its tables in {running}, not {wanted} "
            "(one Spark warehouse per process: build another one in a child process)"
        )


def sql_string(value: str) -> str:
    """A Spark SQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def column_definitions(columns: dict[str, str]) -> str:
    """`name type, ...` in Spark SQL for columns given with DuckDB types (SQLGlot maps them)."""
    from sqlglot import exp

    return ", ".join(
        f"{exp.to_identifier(name).sql('spark', identify=True)} "
        f"{exp.DataType.build(kind, dialect='duckdb').sql('spark')}"
        for name, kind in columns.items()
    )


def point_table_at(
    session: SparkSession,
    table: str,
    columns: dict[str, str],
    folder: Path,
    properties: dict[str, str] | None = None,
) -> None:
    """Declare `table` as the Parquet files in `folder` (replacing its earlier declaration).

    Writers put a table's new version in a new folder first and call this last, so a reader
    sees the old rows or the new ones, never a half-written folder.
    """
    listed = ", ".join(f"{sql_string(k)} = {sql_string(v)}" for k, v in (properties or {}).items())
    session.sql(f"drop table if exists {table}")
    session.sql(
        f"create table {table} ({column_definitions(columns)}) using parquet "
        f"location {sql_string(folder.as_uri())}" + (f" tblproperties ({listed})" if listed else "")
    )


def remove_other_versions(folder: Path) -> None:
    """Delete the sibling version folders of `folder` (older versions of the same table)."""
    for version in folder.parent.iterdir():
        if version != folder:
            shutil.rmtree(version, ignore_errors=True)


def new_version_folder(root: Path, table: str) -> Path:
    """`root/<table>/v<nanoseconds>`: a folder no reader points at yet."""
    return root / table / f"v{time.time_ns()}"
