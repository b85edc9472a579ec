"""Validate every landing file against the contract, then copy it into the `landing` schema.

Nothing is written until every file has passed: a file that cannot be read as the contract says
raises LandingError (naming the file, and the row and column where they apply) and leaves the
warehouse as it was. Tables whose files are unchanged since the last load are not reloaded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pa_csv

from custintel.landing.contract import Column, Contract, Table, load_contract
from custintel.landing.files import LandingError, LandingFile, discover

LANDING_SCHEMA = "landing"
MANIFEST_TABLE = f"{LANDING_SCHEMA}._load_manifest"

_INTEGERS = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "HUGEINT",
}
_TIMESTAMPS = {
    "TIMESTAMP",
    "TIMESTAMP_NS",
    "TIMESTAMP_MS",
    "TIMESTAMP_S",
    "TIMESTAMP WITH TIME ZONE",
}
#: contract type -> physical types a Parquet file may carry for it (cast without loss)
COMPATIBLE_TYPES: dict[str, set[str]] = {
    "string": {"VARCHAR"},
    "integer": _INTEGERS,
    "double": _INTEGERS | {"FLOAT", "DOUBLE", "DECIMAL"},
    "boolean": {"BOOLEAN"},
    "date": {"DATE"} | _TIMESTAMPS,
    "timestamp": {"DATE"} | _TIMESTAMPS,
}

Progress = Callable[[str, int, int], None]


@dataclass
class TableLoad:
    qualified_name: str
    files: list[str]
    rows: int
    reloaded: bool


@dataclass
class LoadReport:
    tables: list[TableLoad] = field(default_factory=list)

    @property
    def rows(self) -> dict[str, int]:
        return {t.qualified_name: t.rows for t in self.tables}

    @property
    def reloaded(self) -> list[str]:
        return [t.qualified_name for t in self.tables if t.reloaded]


def _base_type(duckdb_type: str) -> str:
    return duckdb_type.split("(")[0].strip().upper()


def _fingerprint(files: list[LandingFile]) -> str:
    digest = hashlib.sha256()
    for file in files:
        stat = file.path.stat()
        digest.update(f"{file.relative_path}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _check_columns(file: LandingFile, found: dict[str, str]) -> None:
    for column in file.table.columns:
        if column.name not in found:
            raise LandingError(file.path, "required column is missing", column=column.name)
        if file.format == "csv":
            continue
        physical = _base_type(found[column.name])
        if physical != '"NULL"' and physical not in COMPATIBLE_TYPES[column.type]:
            raise LandingError(
                file.path,
                f"expected {column.type} ({column.duckdb_type}), found {found[column.name]}",
                column=column.name,
            )


def _parquet_relation(con: duckdb.DuckDBPyConnection, file: LandingFile) -> str:
    path = str(file.path).replace("'", "''")
    try:
        described = con.execute(f"describe select * from read_parquet('{path}')").fetchall()
    except duckdb.Error as exc:
        raise LandingError(file.path, f"not a readable Parquet file ({exc})") from exc
    _check_columns(file, {name: dtype for name, dtype, *_ in described})
    return f"read_parquet('{path}', file_row_number = true)"


def _read_csv(file: LandingFile) -> pa.Table:
    try:
        names = pa_csv.open_csv(file.path).schema.names
        table = pa_csv.read_csv(
            file.path,
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in names},
                strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except (pa.ArrowInvalid, OSError) as exc:
        raise LandingError(file.path, f"not a readable CSV file ({exc})") from exc
    _check_columns(file, {name: "VARCHAR" for name in table.schema.names})
    row_numbers = pa.array(range(table.num_rows), type=pa.int64())
    return table.append_column("file_row_number", row_numbers)


def _check_csv_values(con: duckdb.DuckDBPyConnection, file: LandingFile, view: str) -> None:
    """Every non-empty CSV value must cast to its contract type; name the first that doesn't."""
    for column in file.table.columns:
        if column.type == "string":
            continue
        bad = con.execute(
            f'select file_row_number + 1, "{column.name}" from {view} '
            f'where "{column.name}" is not null '
            f'and try_cast("{column.name}" as {column.duckdb_type}) is null '
            f"order by file_row_number limit 1"
        ).fetchone()
        if bad:
            raise LandingError(
                file.path,
                f"value {bad[1]!r} is not a valid {column.type}",
                column=column.name,
                row=int(bad[0]),
            )


def _select_sql(table: Table, source: str, relative_path: str) -> str:
    def cast(column: Column) -> str:
        return f'cast("{column.name}" as {column.duckdb_type}) as "{column.name}"'

    columns = ", ".join(cast(column) for column in table.columns)
    file_literal = relative_path.replace("'", "''")
    return (
        f"select {columns}, '{file_literal}' as _source_file, "
        f"cast(file_row_number + 1 as bigint) as _source_row_number from {source}"
    )


def _stored_fingerprints(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    exists = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = ? and table_name = '_load_manifest'",
        [LANDING_SCHEMA],
    ).fetchone()[0]
    if not exists:
        return {}
    return dict(con.execute(f"select table_name, fingerprint from {MANIFEST_TABLE}").fetchall())


def load_landing(
    landing_dir: Path,
    warehouse_path: Path,
    contract: Contract | None = None,
    progress: Progress | None = None,
    force: bool = False,
) -> LoadReport:
    """Validate all landing files, then (re)load changed tables into `landing.<system>__<table>`."""
    contract = contract or load_contract()
    files_by_table = discover(landing_dir, contract)
    warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(warehouse_path))
    try:
        stored = {} if force else _stored_fingerprints(con)
        selects: dict[str, list[str]] = {}
        total = sum(len(files) for files in files_by_table.values())
        done = 0
        for table in contract.tables:
            files = files_by_table[table.qualified_name]
            if stored.get(table.qualified_name) == _fingerprint(files):
                done += len(files)
                continue
            selects[table.qualified_name] = []
            for file in files:
                if file.format == "csv":
                    view = f"_csv_{len(selects)}_{len(selects[table.qualified_name])}"
                    con.register(view, _read_csv(file))
                    _check_csv_values(con, file, view)
                    source = view
                else:
                    source = _parquet_relation(con, file)
                selects[table.qualified_name].append(_select_sql(table, source, file.relative_path))
                done += 1
                if progress:
                    progress(f"validated {file.relative_path}", done, total)
        report = _write(con, contract, files_by_table, selects)
    finally:
        con.close()
    return report


def _write(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    files_by_table: dict[str, list[LandingFile]],
    selects: dict[str, list[str]],
) -> LoadReport:
    report = LoadReport()
    con.execute("begin transaction")
    try:
        con.execute(f"create schema if not exists {LANDING_SCHEMA}")
        con.execute(
            f"create table if not exists {MANIFEST_TABLE} "
            "(table_name varchar primary key, fingerprint varchar, files varchar[], rows bigint)"
        )
        for table in contract.tables:
            name = table.qualified_name
            files = files_by_table[name]
            if name in selects:
                con.execute(
                    f"create or replace table {LANDING_SCHEMA}.{name} as "
                    + " union all ".join(selects[name])
                )
                rows = con.execute(f"select count(*) from {LANDING_SCHEMA}.{name}").fetchone()[0]
                con.execute(
                    f"insert or replace into {MANIFEST_TABLE} values (?, ?, ?, ?)",
                    [name, _fingerprint(files), [f.relative_path for f in files], rows],
                )
            else:
                rows = con.execute(
                    f"select rows from {MANIFEST_TABLE} where table_name = ?", [name]
                ).fetchone()[0]
            report.tables.append(
                TableLoad(name, [f.relative_path for f in files], int(rows), name in selects)
            )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return report
