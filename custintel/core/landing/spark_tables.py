"""The validated landing copy as Parquet-backed Spark tables, for the `spark` gateway.

The loader (`custintel.core.landing.loader`) validates every landing file and keeps the typed copy
with its lineage (`_source_file`, `_source_row_number`) in the `landing` schema of the DuckDB
file at `warehouse.path`; on the spark gateway that file holds only this copy and the loader's
manifest. `publish_landing` then writes each landing table that Spark does not have yet (or
holds in another version) as Parquet files under `<spark warehouse>/landing_files/<table>/` and
declares it as the Spark table `landing.<system>__<table>` with the contract's columns:

- the same rows: Spark's count must equal the DuckDB copy's, else SparkLandingError names the
  table, so the quarantine promise (landed = loaded + rejected, checked by SQLMesh's
  `quarantine.landing_reconciliation` on Spark) holds for what Spark landed;
- versions: a table's rows are written to a new folder and the table is pointed at it only after
  every changed table has been written; a table property carries the copy's checksum, so an
  unchanged table is not copied again and an interrupted publish is redone on the next build.

On a cluster, `spark.warehouse_dir` must be storage that this machine and the cluster both
reach (a shared mount), because DuckDB writes the files and Spark's executors read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from custintel.core.landing.contract import Contract, Table, load_contract
from custintel.core.settings import Settings
from custintel.core.spark_gateway import (
    new_version_folder,
    point_table_at,
    remove_other_versions,
    spark_session,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

LANDING_DATABASE = "landing"
#: lineage columns the loader adds to every landing table
LINEAGE_COLUMNS: dict[str, str] = {"_source_file": "VARCHAR", "_source_row_number": "BIGINT"}
CHECKSUM_PROPERTY = "custintel.landed_checksum"


class SparkLandingError(RuntimeError):
    """Spark's landing copy does not match the validated DuckDB copy; the message names it."""


@dataclass
class PublishReport:
    """Rows of every landing table in Spark, and which tables this publish (re)wrote."""

    rows: dict[str, int] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)


def _checksum(con: duckdb.DuckDBPyConnection, name: str) -> tuple[int, str]:
    """Row count and an order-independent checksum of every value of a DuckDB landing table."""
    rows, digest = con.execute(
        f"select count(*), coalesce(bit_xor(hash(t)), 0) from {LANDING_DATABASE}.{name} as t"
    ).fetchall()[0]
    return int(rows), f"{rows}:{digest}"


def _published_checksum(spark: SparkSession, name: str) -> str | None:
    if not spark.catalog.tableExists(f"{LANDING_DATABASE}.{name}"):
        return None
    properties = spark.sql(f"show tblproperties {LANDING_DATABASE}.{name}").collect()
    return next((row.value for row in properties if row.key == CHECKSUM_PROPERTY), None)


def _write_parquet(con: duckdb.DuckDBPyConnection, name: str, folder: Path) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    target = str(folder).replace("'", "''")
    con.execute(
        f"copy (select * from {LANDING_DATABASE}.{name}) to '{target}' "
        "(format parquet, per_thread_output true)"
    )


def publish_landing(
    settings: Settings, contract: Contract | None = None, *, spark: SparkSession | None = None
) -> PublishReport:
    """Make Spark's `landing` tables equal to the loader's validated copy (see the module)."""
    contract = contract or load_contract()
    spark = spark or spark_session(settings)
    files_root = settings.spark_warehouse_path / "landing_files"
    report = PublishReport()
    pending: list[tuple[Table, Path, str, int]] = []
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        spark.sql(f"create database if not exists {LANDING_DATABASE}")
        for table in contract.tables:
            name = table.qualified_name
            rows, checksum = _checksum(con, name)
            report.rows[name] = rows
            if _published_checksum(spark, name) == checksum:
                continue
            folder = new_version_folder(files_root, name)
            _write_parquet(con, name, folder)
            pending.append((table, folder, checksum, rows))
    for table, folder, checksum, rows in pending:
        columns = {column.name: column.duckdb_type for column in table.columns} | LINEAGE_COLUMNS
        point_table_at(
            spark,
            f"{LANDING_DATABASE}.{table.qualified_name}",
            columns,
            folder,
            {CHECKSUM_PROPERTY: checksum},
        )
        landed = spark.table(f"{LANDING_DATABASE}.{table.qualified_name}").count()
        if landed != rows:
            raise SparkLandingError(
                f"landing.{table.qualified_name}: Spark reads {landed} rows from {folder}, "
                f"the validated copy has {rows}"
            )
        remove_other_versions(folder)
        report.written.append(table.qualified_name)
    return report
