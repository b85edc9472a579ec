"""Validate every landing file against the contract, then copy it into the `landing` schema.

Nothing is written until every file has passed: a file that cannot be read as the contract says
raises LandingError (naming the file, and the row and column where they apply) and leaves the
warehouse as it was. A file is known by the SHA-256 of its bytes; a table whose files (names and
contents) are unchanged since the last load is not reloaded. A reloaded table reports the
earliest date its change touches (`restate_from`, see changes.py), so the build can restate
what was computed from the old rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from custintel.core.landing.changes import earliest_change
from custintel.core.landing.contract import Contract, Table, load_contract
from custintel.core.landing.files import LandingError, LandingFile, Refusal, checked, scan
from custintel.core.landing.readers import (
    ROW_NUMBER,
    check_columns,
    check_csv_values,
    parquet_reader,
    parquet_schema,
    read_csv,
    value_sql,
)

LANDING_SCHEMA = "landing"
MANIFEST_TABLE = f"{LANDING_SCHEMA}._load_manifest"
FILES_TABLE = f"{LANDING_SCHEMA}._load_files"
PREVIOUS_PREFIX = "_previous__"

Progress = Callable[[str, int, int], None]


@dataclass
class TableLoad:
    qualified_name: str
    files: list[str]
    rows: int
    reloaded: bool
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    #: earliest date touched by a changed row (None: no row's values changed, or first load)
    restate_from: dt.date | None = None


@dataclass
class LoadReport:
    tables: list[TableLoad] = field(default_factory=list)
    #: files that are not data by convention (names starting with '_' or '.', top-level files)
    ignored: list[Refusal] = field(default_factory=list)
    hash_seconds: float = 0.0
    #: SHA-256 over every table's files and contents: changes with any landed byte
    fingerprint: str = ""

    @property
    def rows(self) -> dict[str, int]:
        return {t.qualified_name: t.rows for t in self.tables}

    @property
    def reloaded(self) -> list[str]:
        return [t.qualified_name for t in self.tables if t.reloaded]

    @property
    def files_loaded(self) -> int:
        return sum(len(t.files) for t in self.tables)


def file_sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def table_fingerprint(hashes: dict[str, str]) -> str:
    """One table's fingerprint: its files' relative paths and content hashes."""
    digest = hashlib.sha256()
    for relative_path in sorted(hashes):
        digest.update(f"{relative_path}\0{hashes[relative_path]}\n".encode())
    return digest.hexdigest()


def _exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? "
            "and table_name = ?",
            [LANDING_SCHEMA, name],
        ).fetchall()[0][0]
    )


def _stored(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Stored table fingerprints, and the stored hash of every loaded file by table."""
    fingerprints: dict[str, str] = {}
    hashes: dict[str, dict[str, str]] = {}
    if _exists(con, "_load_manifest"):
        fingerprints = dict(
            con.execute(f"select table_name, fingerprint from {MANIFEST_TABLE}").fetchall()
        )
    if _exists(con, "_load_files"):
        for table, path, sha in con.execute(
            f"select table_name, relative_path, sha256 from {FILES_TABLE}"
        ).fetchall():
            hashes.setdefault(table, {})[path] = sha
    return fingerprints, hashes


@dataclass
class _Pending:
    """A table to reload: its files, their hashes and (CSV) validated contents."""

    table: Table
    files: list[LandingFile]
    hashes: dict[str, str]
    csv_tables: dict[str, pa.Table] = field(default_factory=dict)


def landing_state(
    landing_dir: Path, warehouse_path: Path, contract: Contract | None = None
) -> tuple[str, bool]:
    """The content fingerprint of the landing folder, and whether the warehouse already holds
    exactly it (read-only: nothing is written, a refused file raises LandingError)."""
    contract = contract or load_contract()
    discovery = checked(scan(landing_dir, contract), contract)
    fingerprints = {
        name: table_fingerprint({f.relative_path: file_sha256(f.path) for f in files})
        for name, files in discovery.files.items()
    }
    current = table_fingerprint(fingerprints)
    if not warehouse_path.exists():
        return current, False
    try:
        with duckdb.connect(str(warehouse_path), read_only=True) as con:
            stored, _ = _stored(con)
    except duckdb.Error:
        return current, False
    return current, stored == fingerprints


def load_landing(
    landing_dir: Path,
    warehouse_path: Path,
    contract: Contract | None = None,
    progress: Progress | None = None,
    force: bool = False,
) -> LoadReport:
    """Validate all landing files, then (re)load changed tables into `landing.<system>__<table>`."""
    contract = contract or load_contract()
    discovery = checked(scan(landing_dir, contract), contract)
    total = discovery.file_count
    started = time.perf_counter()
    hashes: dict[str, dict[str, str]] = {}
    done = 0
    for name, files in discovery.files.items():
        hashes[name] = {}
        for file in files:
            hashes[name][file.relative_path] = file_sha256(file.path)
            done += 1
            if progress:
                progress(f"hashed {file.relative_path}", done, 2 * total)
    hash_seconds = time.perf_counter() - started
    warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(warehouse_path))
    try:
        con.execute("set TimeZone = 'UTC'")
        fingerprints, stored_hashes = _stored(con)
        if force:
            fingerprints = {}
        pending: list[_Pending] = []
        for table in contract.tables:
            name = table.qualified_name
            files = discovery.files[name]
            if fingerprints.get(name) == table_fingerprint(hashes[name]):
                done += len(files)
                continue
            item = _Pending(table, files, hashes[name])
            for file in files:
                _validate(con, file, item)
                done += 1
                if progress:
                    progress(f"validated {file.relative_path}", done, 2 * total)
            pending.append(item)
        report = _write(con, contract, discovery.files, pending, stored_hashes)
    finally:
        con.close()
    report.ignored = list(discovery.ignored)
    report.hash_seconds = hash_seconds
    report.fingerprint = table_fingerprint(
        {name: table_fingerprint(table_hashes) for name, table_hashes in hashes.items()}
    )
    return report


def _validate(con: duckdb.DuckDBPyConnection, file: LandingFile, item: _Pending) -> None:
    if file.format == "csv":
        data = read_csv(file)
        view = "_csv_validation"
        con.register(view, data)
        try:
            check_csv_values(con, file, view)
        finally:
            con.unregister(view)
        item.csv_tables[file.relative_path] = data
    else:
        check_columns(file, parquet_schema(con, file))


def _create_sql(table: Table) -> str:
    columns = ", ".join(f'"{c.name}" {c.duckdb_type}' for c in table.columns)
    return (
        f"create table {LANDING_SCHEMA}.{table.qualified_name} "
        f"({columns}, _source_file varchar, _source_row_number bigint)"
    )


def _insert_file(con: duckdb.DuckDBPyConnection, item: _Pending, file: LandingFile) -> None:
    view = "_landing_source"
    is_csv = file.format == "csv"
    source = item.csv_tables.pop(file.relative_path) if is_csv else parquet_reader(file)
    columns = ", ".join(value_sql(column, is_csv) for column in item.table.columns)
    con.register(view, source)
    try:
        con.execute(
            f"insert into {LANDING_SCHEMA}.{item.table.qualified_name} "
            f"select {columns}, ?, cast({ROW_NUMBER} + 1 as bigint) from {view}",
            [file.relative_path],
        )
    except duckdb.Error as exc:
        raise LandingError(file.path, f"cannot be loaded ({exc})") from exc
    finally:
        con.unregister(view)


def _reload(
    con: duckdb.DuckDBPyConnection, item: _Pending, previous_hashes: dict[str, str]
) -> TableLoad:
    name = item.table.qualified_name
    now = item.hashes
    added = sorted(set(now) - set(previous_hashes))
    removed = sorted(set(previous_hashes) - set(now))
    changed = sorted(p for p in set(now) & set(previous_hashes) if now[p] != previous_hashes[p])
    had_table = _exists(con, name)
    if had_table:
        con.execute(f"alter table {LANDING_SCHEMA}.{name} rename to {PREVIOUS_PREFIX}{name}")
    con.execute(_create_sql(item.table))
    for file in item.files:
        _insert_file(con, item, file)
    restate_from = None
    if had_table:
        restate_from = earliest_change(
            con,
            item.table,
            f"{LANDING_SCHEMA}.{PREVIOUS_PREFIX}{name}",
            f"{LANDING_SCHEMA}.{name}",
            changed + removed if previous_hashes else _all_files(con, name),
            changed + added if previous_hashes else sorted(now),
        )
        con.execute(f"drop table {LANDING_SCHEMA}.{PREVIOUS_PREFIX}{name}")
    rows = con.execute(f"select count(*) from {LANDING_SCHEMA}.{name}").fetchall()[0][0]
    return TableLoad(name, sorted(now), int(rows), True, added, changed, removed, restate_from)


def _all_files(con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    rows = con.execute(
        f"select distinct _source_file from {LANDING_SCHEMA}.{PREVIOUS_PREFIX}{name}"
    ).fetchall()
    return [row[0] for row in rows]


def _write(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    files_by_table: dict[str, list[LandingFile]],
    pending: list[_Pending],
    previous_hashes: dict[str, dict[str, str]],
) -> LoadReport:
    report = LoadReport()
    to_reload = {item.table.qualified_name: item for item in pending}
    con.execute("begin transaction")
    try:
        con.execute(f"create schema if not exists {LANDING_SCHEMA}")
        con.execute(
            f"create table if not exists {MANIFEST_TABLE} "
            "(table_name varchar primary key, fingerprint varchar, files varchar[], rows bigint)"
        )
        con.execute(
            f"create table if not exists {FILES_TABLE} (relative_path varchar primary key, "
            "table_name varchar, sha256 varchar, rows bigint)"
        )
        for table in contract.tables:
            name = table.qualified_name
            files = [f.relative_path for f in files_by_table[name]]
            if name not in to_reload:
                rows = con.execute(
                    f"select rows from {MANIFEST_TABLE} where table_name = ?", [name]
                ).fetchall()[0][0]
                report.tables.append(TableLoad(name, files, int(rows), False))
                continue
            item = to_reload[name]
            load = _reload(con, item, previous_hashes.get(name, {}))
            con.execute(
                f"insert or replace into {MANIFEST_TABLE} values (?, ?, ?, ?)",
                [name, table_fingerprint(item.hashes), files, load.rows],
            )
            con.execute(f"delete from {FILES_TABLE} where table_name = ?", [name])
            con.execute(
                f"insert into {FILES_TABLE} "
                "select relative_path, ?, sha256, coalesce(rows, 0) from "
                "(select _source_file as relative_path, count(*) as rows "
                f"from {LANDING_SCHEMA}.{name} group by all) as counted "
                "right join (select unnest(?) as relative_path, unnest(?) as sha256) as hashed "
                "using (relative_path)",
                [name, list(item.hashes), list(item.hashes.values())],
            )
            report.tables.append(load)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return report
