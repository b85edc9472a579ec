"""The production QueryRunner: governed queries through the semantic layer, ungoverned SQL on
the warehouse, "as of" = the marts' as-of date (`marts.data_as_of`), the members' lineage (the
SQLMesh models their SQL reads) and the ML model registry folder.

With the embedded backend every query of a build runs in one `semantic.session` over one
read-only DuckDB connection, shared with the page's ungoverned SQL (`semantic.load` would open
one per query, a third of a build's time); it is opened on the first query and closed when the
build ends (`QueryRunner.close`), so the warehouse is not held between builds of `reports
serve`. With the Cube backend the session sends queries through `semantic.load`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import sqlglot
from sqlglot import exp

from custintel.core.settings import Settings
from reports.runner import QueryRunner, member_infos


class Warehouse:
    """One read-only connection to the warehouse file: opened on first use, closed by close()."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._connection: duckdb.DuckDBPyConnection | None = None

    def connection(self) -> duckdb.DuckDBPyConnection:
        if self._connection is None:
            if not self.path.exists():
                raise FileNotFoundError(f"warehouse not found: {self.path} (build it first)")
            self._connection = duckdb.connect(str(self.path), read_only=True)
        return self._connection

    def sql(self, text: str) -> pd.DataFrame:
        return self.connection().execute(text).df()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def data_as_of(settings: Settings) -> dt.date | None:
    """The warehouse's as-of date, the one every mart computes "current" from
    (`marts.data_as_of`: the last event date in the valid facts); None before a build."""
    query = "select max(as_of_date) as as_of_date from marts.data_as_of"
    if settings.sqlmesh.gateway == "spark":
        value = _spark_sql(settings)(query)["as_of_date"].iloc[0]
    else:
        if not settings.warehouse_path.exists():
            return None
        try:
            with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
                con.execute("set python_enable_replacements = false")  # no Python names
                row = con.execute(query).fetchone()
        except duckdb.CatalogException:  # a warehouse without the marts (not built yet)
            return None
        value = row[0] if row else None
    if value is None or pd.isna(value):
        return None
    return value if type(value) is dt.date else pd.Timestamp(value).date()


def cubes_read(sql: str, source_cube: str) -> list[str]:
    """The cubes a catalogue member's SQL reads: its own, then every other table qualifier."""
    cubes = [source_cube]
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError:
        return cubes
    for column in tree.find_all(exp.Column):
        if column.table and column.table not in cubes:
            cubes.append(column.table)
    return cubes


def member_models(entries: list[Any], tables: dict[str, str | None]) -> dict[str, tuple[str, ...]]:
    """Member name -> the SQLMesh models (warehouse tables) behind it, via each cube's
    `sql_table`; a cube defined by `sql` shows as `sql of <cube>`."""
    lineage = {}
    for entry in entries:
        cubes = cubes_read(entry.sql, entry.source.split(".", 1)[0])
        found = [tables[c] or f"sql of {c}" for c in cubes if c in tables]
        lineage[entry.name] = tuple(dict.fromkeys(found))
    return lineage


def semantic_runner(
    settings: Settings, role: str | None = None, context: Any = None
) -> QueryRunner:
    """A runner on the configured semantic layer (embedded engine or Cube server), as `role`
    or, in the served app, as a verified caller's `context` (a `semantic.SecurityContext`)."""
    import semantic

    as_of = data_as_of(settings)
    warehouse = Warehouse(settings.warehouse_path)
    on_duckdb = settings.sqlmesh.gateway == "duckdb"
    session = semantic.session(settings, as_of=as_of, connection=warehouse.connection)

    def load(query: dict[str, Any]) -> pd.DataFrame:
        return session.load(query, role=role, context=context)

    entries = session.catalog()
    return QueryRunner(
        load=load,
        members=member_infos(entries, member_models(entries, session.cube_tables())),
        sql=warehouse.sql if on_duckdb else _spark_sql(settings),
        as_of=as_of,
        registry=settings.registry_path,
        close=warehouse.close,
    )


def _spark_sql(settings: Settings) -> Callable[[str], pd.DataFrame]:
    """Ungoverned SQL blocks (DuckDB SQL) run on the Spark warehouse, transpiled by SQLGlot."""
    from semantic.sessions import spark_sql

    return spark_sql(settings)
