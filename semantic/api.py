"""The semantic layer's public functions: one `load` for both backends, compile, catalogue.

The backend comes from `settings.semantic.backend` (config.yaml, or the environment override
CUSTINTEL_SEMANTIC__BACKEND) unless `backend=` is given: `embedded` runs on the DuckDB
warehouse, `cube` asks the Cube server at `settings.semantic.cube_api_url`.

Who is asking comes from `semantic.identity.caller_context`: a verified token (`token=`, else
CUSTINTEL_TOKEN) whose claims are the security context, or, in the local owner mode
(`semantic.identity: owner`, the default), the declared `role` / `security_context`. A role
that disagrees with the token is an error. The Cube backend always needs a token: the server
verifies it; this process only checks that the arguments agree with its claims.
"""

from __future__ import annotations

import datetime as dt
import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from custintel.core.settings import Settings, load_settings
from semantic.definitions import DataModel
from semantic.engine import CompiledQuery, Engine, OutputColumn, ResultRows, SecurityContext
from semantic.identity import TOKEN_ENV, MissingToken, RoleMismatch, caller_context
from semantic.model_cache import load_cached_model
from semantic.model_loader import model_files
from semantic.query import Query

if TYPE_CHECKING:  # the Cube client (httpx) and the catalogue load only when used
    import pandas as pd

    from semantic.client import CubeClient, CubeSql
    from semantic.member_catalog import CatalogEntry

Backend = Literal["embedded", "cube"]


def _fingerprint(root: Path) -> tuple[tuple[str, float], ...]:
    return tuple((str(path), path.stat().st_mtime) for path in model_files(root))


@lru_cache(maxsize=8)
def _cached_model(
    root: str, fingerprint: tuple[tuple[str, float], ...], cache_dir: str | None
) -> DataModel:
    return load_cached_model(Path(root), Path(cache_dir) if cache_dir else None)


def model_cache_dir(settings: Settings) -> Path:
    """Where the validated model is cached between processes (next to the warehouse)."""
    return settings.warehouse_path.parent / "semantic_cache"


def model(settings: Settings | None = None) -> DataModel:
    """The validated data model under settings.semantic_model_path (reloaded when edited;
    cached on disk, keyed on the files' content, so a new process skips validation)."""
    resolved = settings or load_settings()
    root = resolved.semantic_model_path
    return _cached_model(
        str(root), _fingerprint(root) if root.is_dir() else (), str(model_cache_dir(resolved))
    )


def engine(settings: Settings | None = None, as_of: dt.date | None = None) -> Engine:
    """The embedded engine on the configured warehouse (the gateway's: DuckDB or Spark)."""
    resolved = settings or load_settings()
    if resolved.sqlmesh.gateway == "spark":
        from custintel.core.spark_gateway import spark_session
        from semantic.engine.spark_executor import SparkExecutor

        executor = SparkExecutor(spark_session(resolved))
        return Engine(model(resolved), executor, as_of=as_of)
    return Engine(model(resolved), resolved.warehouse_path, as_of=as_of)


def cube_client(
    settings: Settings | None = None, token: str | None = None, as_of: dt.date | None = None
) -> CubeClient:
    """A client for the configured Cube server, sending the caller's token; relative date
    ranges are resolved with `as_of` (default today, as the embedded engine) before sending."""
    from semantic.client import CubeClient

    return CubeClient((settings or load_settings()).semantic.cube_api_url, token=token, as_of=as_of)


def _cube_token(
    token: str | None, role: str | None, security_context: dict[str, Any] | None
) -> str:
    """The caller's token for a Cube server, after checking the arguments agree with it."""
    import jwt

    token = token or os.environ.get(TOKEN_ENV) or None
    if token is None:
        raise MissingToken(
            f"the Cube backend needs the caller's token (--token, or "
            f"{TOKEN_ENV}); the Cube server verifies it"
        )
    try:
        claims = jwt.decode(token, options={"verify_signature": False})  # Cube verifies it
    except jwt.PyJWTError as exc:
        raise MissingToken(f"the token is not a JWT: {exc}") from exc
    roles = SecurityContext(claims=claims).roles
    if role is not None and roles != (role,):
        raise RoleMismatch(
            f"role '{role}' disagrees with the token (role(s): "
            f"{', '.join(roles) or 'none'}); a Cube server takes the token's"
        )
    for key, value in (security_context or {}).items():
        if claims.get(key) != value:
            raise RoleMismatch(
                f"security_context['{key}'] = {value!r} disagrees with the "
                "token; a Cube server takes the token's claims"
            )
    return token


def load(
    query: Query | dict[str, Any],
    role: str | None = None,
    security_context: dict[str, Any] | None = None,
    settings: Settings | None = None,
    backend: Backend | None = None,
    *,
    as_of: dt.date | None = None,
    token: str | None = None,
) -> pd.DataFrame:
    """Run a governed query; columns are member names (`view.member`, `view.time.month`).

    The caller is the verified `token` (or CUSTINTEL_TOKEN); `role` may narrow it to one of
    its roles. In owner mode without a token, `role` / `security_context` are declared. Access
    policies in the model decide what the caller sees. `as_of` anchors relative date ranges
    (default today) in both backends: the Cube client resolves them before sending.
    """
    resolved = settings or load_settings()
    chosen = backend or resolved.semantic.backend
    if chosen == "cube":
        caller_token = _cube_token(token, role, security_context)
        with cube_client(resolved, caller_token, as_of) as client:
            return client.load(query)
    context = caller_context(resolved, token=token, role=role, security_context=security_context)
    return engine(resolved, as_of).load(query, context=context)


def load_rows(
    query: Query | dict[str, Any],
    role: str | None = None,
    security_context: dict[str, Any] | None = None,
    settings: Settings | None = None,
    backend: Backend | None = None,
    *,
    as_of: dt.date | None = None,
    token: str | None = None,
) -> ResultRows:
    """`load` as plain rows: the embedded engine never imports pandas on this path (the CLI's
    fast start); the Cube backend converts its typed frame."""
    resolved = settings or load_settings()
    if (backend or resolved.semantic.backend) == "cube":
        frame = load(query, role, security_context, resolved, "cube", as_of=as_of, token=token)
        kinds = {
            name: "number"
            if frame[name].dtype.kind in "iuf"
            else "time"
            if frame[name].dtype.kind == "M"
            else "string"
            for name in frame
        }
        columns = tuple(OutputColumn(name, "member", kinds[name]) for name in frame.columns)
        rows = [
            tuple(_python(value) for value in row)
            for row in frame.itertuples(index=False, name=None)
        ]
        return ResultRows(columns, rows)
    context = caller_context(resolved, token=token, role=role, security_context=security_context)
    return engine(resolved, as_of).load_rows(query, context=context)


def _python(value: Any) -> Any:
    """A pandas / numpy cell as a plain Python value (NaN, NaT -> None)."""
    import pandas as pd

    if value is None or (not isinstance(value, str | bytes) and pd.isna(value)):
        return None
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime()
    return value.item() if hasattr(value, "item") else value


def compile_query(
    query: Query | dict[str, Any],
    role: str | None = None,
    security_context: dict[str, Any] | None = None,
    settings: Settings | None = None,
    *,
    as_of: dt.date | None = None,
    token: str | None = None,
) -> CompiledQuery:
    """The SQL the embedded engine runs for a query (`.sql`, `.params`, `.to_sql(dialect)`)."""
    resolved = settings or load_settings()
    context = caller_context(resolved, token=token, role=role, security_context=security_context)
    return engine(resolved, as_of).compile(query, context=context)


def cube_sql(
    query: Query | dict[str, Any],
    role: str | None = None,
    security_context: dict[str, Any] | None = None,
    settings: Settings | None = None,
    *,
    as_of: dt.date | None = None,
    token: str | None = None,
) -> CubeSql:
    """The SQL the configured Cube server would run for a query (its `/v1/sql`)."""
    resolved = settings or load_settings()
    caller_token = _cube_token(token, role, security_context)
    with cube_client(resolved, caller_token, as_of) as client:
        return client.sql(query)


def catalog(settings: Settings | None = None) -> list[CatalogEntry]:
    """Every member of the public views: description, owner, format, certified flag, SQL."""
    from semantic.member_catalog import build_catalog

    return build_catalog(model(settings))
