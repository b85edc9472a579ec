"""Embedded engine: Cube REST queries compiled with SQLGlot and run on the DuckDB warehouse."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from semantic.definitions import DataModel
from semantic.engine.compiled import CompiledQuery, OutputColumn
from semantic.engine.compiler import MAX_LIMIT, QueryCompiler
from semantic.engine.executor import QueryExecutor
from semantic.engine.members import TableMapper
from semantic.engine.security import SecurityContext
from semantic.errors import QueryError
from semantic.model_loader import load_model
from semantic.query import Query

if TYPE_CHECKING:  # pandas loads only for DataFrame results (the CLI reads rows)
    import pandas as pd

__all__ = ["CompiledQuery", "Engine", "OutputColumn", "ResultRows", "SecurityContext"]

Database = str | Path | duckdb.DuckDBPyConnection | QueryExecutor


class Engine:
    """Compiles and runs queries of one model against one DuckDB database.

    `database` is a DuckDB file (opened read-only once, on the first query, and kept until
    `close()`), an open connection, or another executor (`QueryExecutor`, e.g.
    `SparkExecutor` on the spark gateway). `as_of` anchors relative date ranges ('last 30 days');
    default: today. `table_mapper` rewrites table references (the metric diff points it at dev
    schemas). `allow_private` lets trusted callers query cubes and non-public members
    directly. `max_limit` caps a query's `limit` (Cube's 50,000). Compiled queries are cached
    by the query's shape and the caller's security context.
    """

    CACHE_SIZE = 256

    def __init__(
        self,
        model: DataModel | Path | str,
        database: Database,
        *,
        as_of: dt.date | None = None,
        table_mapper: TableMapper | None = None,
        allow_private: bool = False,
        max_limit: int = MAX_LIMIT,
    ):
        self.model = model if isinstance(model, DataModel) else load_model(model)
        self.database = database
        self.as_of = as_of or dt.date.today()
        self.table_mapper = table_mapper
        self.allow_private = allow_private
        self.max_limit = max_limit
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()
        self._compiled: OrderedDict[str, CompiledQuery] = OrderedDict()

    def compile(
        self,
        query: Query | dict[str, Any],
        role: str | None = None,
        security_context: dict[str, Any] | None = None,
        context: SecurityContext | None = None,
    ) -> CompiledQuery:
        """The SQL (and parameters) of a query for this caller (cached per shape and caller)."""
        parsed = Query.parse(query)
        context = context or SecurityContext.build(role, security_context)
        key = _cache_key(parsed, context)
        with self._lock:
            cached = self._compiled.get(key)
            if cached is not None:
                self._compiled.move_to_end(key)
                return cached
        compiler = QueryCompiler(
            self.model,
            context,
            as_of=self.as_of,
            table_mapper=self.table_mapper,
            allow_private=self.allow_private,
            max_limit=self.max_limit,
        )
        compiled = compiler.compile(parsed)
        with self._lock:
            self._compiled[key] = compiled
            while len(self._compiled) > self.CACHE_SIZE:
                self._compiled.popitem(last=False)
        return compiled

    def load(
        self,
        query: Query | dict[str, Any],
        role: str | None = None,
        security_context: dict[str, Any] | None = None,
        context: SecurityContext | None = None,
    ) -> pd.DataFrame:
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

    def load_rows(
        self,
        query: Query | dict[str, Any],
        role: str | None = None,
        security_context: dict[str, Any] | None = None,
        context: SecurityContext | None = None,
    ) -> ResultRows:
        """Run a query; plain Python rows (no pandas): the same values as `load`, with time
        columns as datetimes and numbers as int/float."""
        compiled = self.compile(query, role, security_context, context)
        if isinstance(self.database, QueryExecutor):
            frame = self.execute(compiled)
            return ResultRows(
                compiled.columns,
                _typed_rows(
                    [
                        tuple(None if value != value else value for value in row)  # NaN -> None
                        for row in frame.astype(object).itertuples(index=False, name=None)
                    ],
                    compiled.columns,
                ),
            )
        with self.connection() as con:
            try:
                rows = con.execute(compiled.sql, compiled.params).fetchall()
            except duckdb.Error as exc:
                raise QueryError(f"the warehouse rejected the query: {exc}") from exc
        return ResultRows(compiled.columns, _typed_rows(rows, compiled.columns))

    @contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor on the engine's one connection (cursors are safe across threads)."""
        if isinstance(self.database, duckdb.DuckDBPyConnection):
            yield self.database
            return
        with self._lock:
            if self._connection is None:
                if not isinstance(self.database, str | Path):
                    raise TypeError(f"{type(self.database).__name__} has no DuckDB connection")
                path = Path(self.database)
                if not path.exists():
                    raise QueryError(f"warehouse not found: {path} (build it first)")
                self._connection = duckdb.connect(str(path), read_only=True)
            cursor = self._connection.cursor()
        try:
            yield cursor
        finally:
            cursor.close()

    def close(self) -> None:
        """Close the warehouse file (an open connection passed in stays open)."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _cache_key(query: Query, context: SecurityContext) -> str:
    """The query's shape (every field, values included) and the caller's claims."""
    return json.dumps(
        [query.model_dump(mode="json"), context.claims, context.enforce],
        sort_keys=True,
        default=str,
    )


@dataclass(frozen=True)
class ResultRows:
    """A result as rows of Python values, columns as `load` names and types them."""

    columns: tuple[OutputColumn, ...]
    rows: list[tuple[Any, ...]]

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]


def _time_value(value: Any) -> Any:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time())
    return value


def _number_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return value


def _typed_rows(
    rows: list[tuple[Any, ...]], columns: tuple[OutputColumn, ...]
) -> list[tuple[Any, ...]]:
    """Rows typed as `_typed` types a frame: time -> datetime, number -> int/float."""
    convert = [
        _time_value if c.type == "time" else _number_value if c.type == "number" else None
        for c in columns
    ]
    if not any(convert):
        return rows
    return [
        tuple(
            value if fn is None or value is None else fn(value)
            for fn, value in zip(convert, row, strict=True)
        )
        for row in rows
    ]


def _typed(frame: pd.DataFrame, columns: tuple[OutputColumn, ...]) -> pd.DataFrame:
    import pandas as pd

    frame.columns = [column.name for column in columns]
    for column in columns:
        series = frame[column.name]
        if column.type == "time":
            frame[column.name] = pd.to_datetime(series)
        elif column.type == "number" and series.dtype == object:
            frame[column.name] = pd.to_numeric(series, errors="coerce")
    return frame
