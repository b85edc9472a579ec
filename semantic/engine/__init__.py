"""Embedded engine: Cube REST queries compiled with SQLGlot and run on the DuckDB warehouse."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from semantic.definitions import DataModel
from semantic.engine.compiled import CompiledQuery, OutputColumn
from semantic.engine.compiler import QueryCompiler
from semantic.engine.executor import QueryExecutor
from semantic.engine.members import TableMapper
from semantic.engine.security import SecurityContext
from semantic.errors import QueryError
from semantic.model_loader import load_model
from semantic.query import Query

__all__ = ["CompiledQuery", "Engine", "OutputColumn", "SecurityContext"]

Database = str | Path | duckdb.DuckDBPyConnection | QueryExecutor


class Engine:
    """Compiles and runs queries of one model against one DuckDB database.

    `database` is a DuckDB file (opened read-only for each query), an open connection, or
    another executor (`QueryExecutor`, e.g. `SparkExecutor` on the spark gateway).
    `as_of` anchors relative date ranges ('last 30 days'); default: today.
    `table_mapper` rewrites table references (the metric diff points it at dev schemas).
    `allow_private` lets trusted callers query cubes and non-public members directly.
    """

    def __init__(self, model: DataModel | Path | str, database: Database, *,
                 as_of: dt.date | None = None, table_mapper: TableMapper | None = None,
                 allow_private: bool = False):
        self.model = model if isinstance(model, DataModel) else load_model(model)
        self.database = database
        self.as_of = as_of or dt.date.today()
        self.table_mapper = table_mapper
        self.allow_private = allow_private

    def compile(self, query: Query | dict[str, Any], role: str | None = None,
                security_context: dict[str, Any] | None = None,
                context: SecurityContext | None = None) -> CompiledQuery:
        """The SQL (and parameters) of a query for this caller."""
        compiler = QueryCompiler(
            self.model, context or SecurityContext.build(role, security_context),
            as_of=self.as_of, table_mapper=self.table_mapper, allow_private=self.allow_private)
        return compiler.compile(query)

    def load(self, query: Query | dict[str, Any], role: str | None = None,
             security_context: dict[str, Any] | None = None,
             context: SecurityContext | None = None) -> pd.DataFrame:
        """Run a query; columns are Cube member names (time dimensions `view.member.grain`)."""
        compiled = self.compile(query, role, security_context, context)
        return self.execute(compiled)

    def execute(self, compiled: CompiledQuery) -> pd.DataFrame:
        if isinstance(self.database, QueryExecutor):
            return _typed(self.database.run(compiled), compiled.columns)
        with self.connection() as con:
            try:
                frame = con.execute(compiled.sql, compiled.params).df()
            except duckdb.Error as exc:
                raise QueryError(f"the warehouse rejected the query: {exc}") from exc
        return _typed(frame, compiled.columns)

    @contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if isinstance(self.database, duckdb.DuckDBPyConnection):
            yield self.database
            return
        path = Path(self.database)
        if not path.exists():
            raise QueryError(f"warehouse not found: {path} (build it first)")
        con = duckdb.connect(str(path), read_only=True)
        try:
            yield con
        finally:
            con.close()


def _typed(frame: pd.DataFrame, columns: tuple[OutputColumn, ...]) -> pd.DataFrame:
    frame.columns = [column.name for column in columns]
    for column in columns:
        series = frame[column.name]
        if column.type == "time":
            frame[column.name] = pd.to_datetime(series)
        elif column.type == "number" and series.dtype == object:
            frame[column.name] = pd.to_numeric(series, errors="coerce")
    return frame
