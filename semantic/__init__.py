"""Governed metrics: Cube data model, embedded DuckDB engine, Cube REST client.

from semantic import load, compile_query, catalog, Query
semantic.session(settings, as_of=...)   # many queries of one consumer (a report build)
"""

from typing import TYPE_CHECKING, Any

from semantic.errors import (
    AccessDenied,
    CubeApiError,
    DiffError,
    ModelError,
    QueryError,
    SemanticError,
)
from semantic.query import Query

if TYPE_CHECKING:
    from semantic.api import catalog, compile_query, load
    from semantic.sessions import SecurityContext, Session, session


def __getattr__(name: str) -> Any:
    """`load`, `compile_query`, `catalog` and the session API import the engine (pandas,
    DuckDB) on first use."""
    if name in ("catalog", "compile_query", "load"):
        from semantic import api

        return getattr(api, name)
    if name in ("SecurityContext", "Session", "session"):
        from semantic import sessions

        return getattr(sessions, name)
    raise AttributeError(f"module 'semantic' has no attribute '{name}'")


__all__ = [
    "AccessDenied",
    "CubeApiError",
    "DiffError",
    "ModelError",
    "Query",
    "QueryError",
    "SecurityContext",
    "SemanticError",
    "Session",
    "catalog",
    "compile_query",
    "load",
    "session",
]
