"""ML reads the marts and writes its tables through the warehouse's gateway: DuckDB or Spark.

On the `duckdb` gateway these are `ml.dataset.read_table` and `ml.writeback`'s writers on the
DuckDB file. On `spark` the same tables live in Spark: a mart is read as a Spark table (to
pandas through Arrow), and a write keeps the history rule of `ml.writeback` (the rows of the
(date, model version) pairs written are replaced, every other row is kept) by writing the new
version of the table to a new Parquet folder and pointing the table at it.
"""

from __future__ import annotations

import pandas as pd

from custintel.core.settings import Settings
from ml import writeback
from ml.dataset import DatasetError
from ml.dataset import read_table as read_duckdb_table

SPARK_FILES_FOLDER = "ml_files"


def read_table(settings: Settings, table: str) -> pd.DataFrame:
    """A whole warehouse table (`schema.table`) as pandas, from the configured gateway."""
    if settings.sqlmesh.gateway != "spark":
        return read_duckdb_table(table, settings.warehouse_path)
    from custintel.core.spark_gateway import spark_session

    session = spark_session(settings)
    if not session.catalog.tableExists(table):
        raise DatasetError(f"table {table!r} not found in the Spark warehouse")
    return session.table(table).toPandas()


def write_churn_scores(settings: Settings, scores: pd.DataFrame) -> int:
    return _write(
        settings,
        "churn_scores",
        scores,
        writeback.CHURN_SCORES,
        writeback.CHURN_SCORES_KEY,
        ("score_date", "model_version"),
    )


def write_customer_segments(settings: Settings, segments: pd.DataFrame) -> int:
    return _write(
        settings,
        "customer_segments",
        segments,
        writeback.CUSTOMER_SEGMENTS,
        writeback.CUSTOMER_SEGMENTS_KEY,
        ("snapshot_date", "model_version"),
    )


def _write(
    settings: Settings,
    table: str,
    frame: pd.DataFrame,
    columns: dict[str, str],
    key: tuple[str, ...],
    replace_by: tuple[str, str],
) -> int:
    if settings.sqlmesh.gateway != "spark":
        return writeback.write_history(
            settings.warehouse_path, table, frame, columns, key, replace_by
        )
    rows = writeback.checked_rows(table, frame, columns, key)
    return write_spark_history(settings, table, rows, columns, replace_by)


def write_spark_history(
    settings: Settings,
    table: str,
    rows: pd.DataFrame,
    columns: dict[str, str],
    replace_by: tuple[str, str],
) -> int:
    """`ml.<table>` in Spark = its rows outside the `replace_by` pairs of `rows`, plus `rows`."""
    from custintel.core.spark_gateway import (
        column_definitions,
        new_version_folder,
        point_table_at,
        remove_other_versions,
        spark_session,
    )

    session = spark_session(settings)
    target = f"{writeback.SCHEMA}.{table}"
    incoming = session.createDataFrame(rows, schema=column_definitions(columns))
    session.sql(f"create database if not exists {writeback.SCHEMA}")
    combined = incoming
    if session.catalog.tableExists(target):
        pairs = incoming.select(*replace_by).distinct()
        kept = session.table(target).join(pairs, on=list(replace_by), how="left_anti")
        combined = kept.select(*columns).unionByName(incoming)
    folder = new_version_folder(settings.spark_warehouse_path / SPARK_FILES_FOLDER, table)
    combined.write.parquet(folder.as_uri())
    point_table_at(session, target, columns, folder)
    remove_other_versions(folder)
    return len(rows)
