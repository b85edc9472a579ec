"""Governed metrics: Cube data model, embedded DuckDB engine, Cube REST client.

    from semantic import load, compile_query, catalog, Query
"""

from semantic.api import catalog, compile_query, load
from semantic.errors import (
    AccessDenied,
    CubeApiError,
    DiffError,
    ModelError,
    QueryError,
    SemanticError,
)
from semantic.query import Query

__all__ = [
    "AccessDenied",
    "CubeApiError",
    "DiffError",
    "ModelError",
    "Query",
    "QueryError",
    "SemanticError",
    "catalog",
    "compile_query",
    "load",
]
