"""The semantic layer's public functions: one `load` for both backends, compile, catalogue.

The backend comes from `settings.semantic.backend` (config.yaml, or the environment override
CUSTINTEL_SEMANTIC__BACKEND) unless `backend=` is given: `embedded` runs on the DuckDB
warehouse, `cube` asks the Cube server at `settings.semantic.cube_api_url`.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from custintel.settings import Settings, load_settings
from semantic.catalog import CatalogEntry, build_catalog
from semantic.client import CubeClient
from semantic.definitions import DataModel
from semantic.engine import CompiledQuery, Engine
from semantic.model_loader import load_model, model_files
from semantic.query import Query

Backend = Literal["embedded", "cube"]


def _fingerprint(root: Path) -> tuple[tuple[str, float], ...]:
    return tuple((str(path), path.stat().st_mtime) for path in model_files(root))


@lru_cache(maxsize=8)
def _cached_model(root: str, fingerprint: tuple[tuple[str, float], ...]) -> DataModel:
    return load_model(Path(root))


def model(settings: Settings | None = None) -> DataModel:
    """The validated data model under settings.semantic_model_path (reloaded when edited)."""
    root = (settings or load_settings()).semantic_model_path
    return _cached_model(str(root), _fingerprint(root) if root.is_dir() else ())


def engine(settings: Settings | None = None, as_of: dt.date | None = None) -> Engine:
    """The embedded engine on the configured warehouse (the gateway's: DuckDB or Spark)."""
    resolved = settings or load_settings()
    if resolved.sqlmesh.gateway == "spark":
        from custintel.spark_gateway import spark_session
        from semantic.engine.spark_executor import SparkExecutor

        executor = SparkExecutor(spark_session(resolved))
        return Engine(model(resolved), executor, as_of=as_of)
    return Engine(model(resolved), resolved.warehouse_path, as_of=as_of)


def cube_client(settings: Settings | None = None) -> CubeClient:
    """A client for the configured Cube server (secret from CUBEJS_API_SECRET)."""
    return CubeClient((settings or load_settings()).semantic.cube_api_url)


def load(query: Query | dict[str, Any], role: str | None = None,
         security_context: dict[str, Any] | None = None, settings: Settings | None = None,
         backend: Backend | None = None, *, as_of: dt.date | None = None) -> pd.DataFrame:
    """Run a governed query; columns are member names (`view.member`, `view.time.month`).

    `role` joins the security context as its `role` claim; access policies in the model decide
    what the caller sees. `as_of` anchors relative date ranges in the embedded engine.
    """
    resolved = settings or load_settings()
    chosen = backend or resolved.semantic.backend
    if chosen == "cube":
        with cube_client(resolved) as client:
            return client.load(query, role=role, security_context=security_context)
    return engine(resolved, as_of).load(query, role=role, security_context=security_context)


def compile_query(query: Query | dict[str, Any], role: str | None = None,
                  security_context: dict[str, Any] | None = None,
                  settings: Settings | None = None, *,
                  as_of: dt.date | None = None) -> CompiledQuery:
    """The SQL the embedded engine runs for a query (`.sql`, `.params`, `.to_sql(dialect)`)."""
    return engine(settings, as_of).compile(query, role=role, security_context=security_context)


def catalog(settings: Settings | None = None) -> list[CatalogEntry]:
    """Every member of the public views: description, owner, format, certified flag, SQL."""
    return build_catalog(model(settings))
