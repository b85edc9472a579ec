"""A session on the semantic layer for a consumer that runs many governed queries (a report
build, a page rendered on demand): `semantic.session(settings, ...)`.

With the embedded backend on the DuckDB gateway, every query of the session runs on one engine
(its compiled-query cache) over one connection the consumer hands in (`connection`, a function
returning an open read-only connection: the consumer keeps the connection for its own
ungoverned SQL and closes it when it is done); without one, the engine opens the warehouse file
itself. The Cube backend, and the embedded engine on the spark gateway, go through
`semantic.load`. `as_of` anchors relative date ranges for every query of the session.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from custintel.core.settings import Settings
from semantic import api
from semantic.engine import Engine, SecurityContext
from semantic.engine.security import Access, member_access
from semantic.errors import AccessDenied

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from semantic.member_catalog import CatalogEntry
    from semantic.query import Query

Connection = Callable[[], "duckdb.DuckDBPyConnection"]


class Session:
    """Governed queries, the catalogue and the model's lineage for one consumer."""

    def __init__(
        self,
        settings: Settings,
        *,
        as_of: dt.date | None = None,
        connection: Connection | None = None,
    ) -> None:
        self.settings = settings
        self.as_of = as_of
        self._connection = connection
        self._engine: Engine | None = None
        self._engine_connection: object = None

    @property
    def embedded_on_duckdb(self) -> bool:
        """Whether queries run on this process's embedded engine over the DuckDB warehouse."""
        return (
            self.settings.semantic.backend == "embedded"
            and self.settings.sqlmesh.gateway == "duckdb"
        )

    def _duckdb_engine(self) -> Engine:
        database = self._connection() if self._connection else self.settings.warehouse_path
        if self._engine is None or self._engine_connection != database:
            self._engine = Engine(api.model(self.settings), database, as_of=self.as_of)
            self._engine_connection = database
        return self._engine

    def load(
        self,
        query: Query | dict[str, Any],
        *,
        role: str | None = None,
        context: SecurityContext | None = None,
    ) -> pd.DataFrame:
        """Run a governed query as `role` (declared) or as a verified caller's `context`."""
        if self.embedded_on_duckdb:
            return self._duckdb_engine().load(query, role=role, context=context)
        if context is not None:
            raise ValueError("a caller's security context needs the embedded engine on DuckDB")
        # the Cube server, or the embedded engine's Spark executor on the spark gateway
        return api.load(query, role=role, settings=self.settings, as_of=self.as_of)

    def catalog(self) -> list[CatalogEntry]:
        """Every member of the public views (see `semantic.catalog`)."""
        return api.catalog(self.settings)

    def cube_tables(self) -> dict[str, str | None]:
        """Cube name -> the warehouse table it reads (`sql_table`; None for a cube defined by
        `sql`): the lineage from members to SQLMesh models."""
        return {name: cube.sql_table for name, cube in api.model(self.settings).cubes.items()}

    def sees_plain(self, view: str, member: str, context: SecurityContext) -> bool:
        """Whether the caller sees `view.member` in clear (neither masked nor denied)."""
        found = api.model(self.settings).views.get(view)
        if found is None:
            return False
        try:
            access = member_access(found.access_policy, member, context, found.name)
        except AccessDenied:
            return False
        return access.access is Access.PLAIN


def spark_sql(settings: Settings) -> Callable[[str], pd.DataFrame]:
    """Ungoverned SQL (DuckDB dialect, e.g. a report's badged `sql` block) run on the spark
    gateway's warehouse, transpiled by SQLGlot."""
    from custintel.core.spark_gateway import spark_session
    from semantic.engine.spark_executor import SparkExecutor

    return SparkExecutor(spark_session(settings)).sql


def session(
    settings: Settings, *, as_of: dt.date | None = None, connection: Connection | None = None
) -> Session:
    """A session on the semantic layer (see `Session`)."""
    return Session(settings, as_of=as_of, connection=connection)


__all__ = ["SecurityContext", "Session", "session", "spark_sql"]
