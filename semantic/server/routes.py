"""The Cube REST endpoints on the embedded engine, as a Starlette app to mount at
`/cubejs-api`:

| route | methods | answers |
| --- | --- | --- |
| `/v1/load` | GET `?query=<json>`, POST `{"query": ...}` | rows, annotation, query; "Continue
  wait" past the budget |
| `/v1/meta` | GET | the public views and members the caller may query |
| `/v1/sql` | GET, POST | the SQL and parameters the engine would run for the caller |
| `/v1/dry-run` | GET, POST | the normalized query and its order, nothing executed |

Every route needs a verified token (`auth.py`). Query errors are 400 with Cube's
`{"error": ..., "type": "UserError"}`; a query array (data blending) is refused.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from semantic.engine import Engine
from semantic.engine.security import SecurityContext
from semantic.errors import SemanticError
from semantic.identity import Verifier
from semantic.query import Query
from semantic.server import results
from semantic.server.auth import AuthFailure, authenticate
from semantic.server.cache import ResultCache
from semantic.server.jobs import CONTINUE_WAIT, QueryJobs, StillRunning
from semantic.server.members import meta_cubes

LOG = logging.getLogger("custintel.serve")


class UserError(Exception):
    """A request Cube would refuse with 400 (bad JSON, unsupported shape)."""


class CubeApi:
    """The API's state: one engine, one token verifier, the running queries."""

    def __init__(self, engine: Engine, verifier: Verifier, *, wait_seconds: float = 5.0):
        self.engine = engine
        self.verifier = verifier
        self.jobs = QueryJobs(wait_seconds=wait_seconds)
        self.cache = ResultCache()

    # ------------------------------------------------------------------ helpers
    def refresh_key(self) -> float:
        """The warehouse file's modification time: results are valid while it is unchanged."""
        database = self.engine.database
        if isinstance(database, str | Path) and Path(database).exists():
            return Path(database).stat().st_mtime
        return -1.0  # an open connection passed in: never changes under the server

    def refreshed_at(self, refresh_key: float) -> dt.datetime:
        """When the warehouse was last written (Cube's `lastRefreshTime`)."""
        if refresh_key < 0:
            return dt.datetime.now(dt.UTC)
        return dt.datetime.fromtimestamp(refresh_key, dt.UTC)

    async def _query(self, request: Request) -> Query:
        if request.method == "GET":
            raw: Any = request.query_params.get("query")
            if raw is None:
                raise UserError("missing the `query` parameter")
        else:
            try:
                body = await request.json()
            except ValueError as exc:
                raise UserError(f"the request body is not JSON: {exc}") from exc
            if not isinstance(body, dict) or "query" not in body:
                raise UserError('the request body must be {"query": {...}}')
            raw = body["query"]
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError as exc:
                raise UserError(f"the query is not JSON: {exc}") from exc
        if isinstance(raw, list):
            raise UserError("query arrays (data blending) are not supported by this server")
        if not isinstance(raw, dict):
            raise UserError("the query must be a JSON object")
        return Query.parse(raw)

    async def _handle(self, request: Request, answer: Any) -> JSONResponse:
        try:
            context = authenticate(request, self.verifier)
            return JSONResponse(await answer(request, context))
        except AuthFailure as failure:
            return JSONResponse({"error": failure.message}, status_code=failure.status)
        except StillRunning:
            return JSONResponse({"error": CONTINUE_WAIT})
        except (UserError, SemanticError) as exc:
            return JSONResponse({"error": str(exc), "type": "UserError"}, status_code=400)
        except Exception as exc:  # an engine bug must not kill the server; say so
            LOG.exception("request %s failed", request.url.path)
            return JSONResponse({"error": f"internal error: {type(exc).__name__}"}, status_code=500)

    # ------------------------------------------------------------------ endpoints
    async def _load(self, request: Request, context: SecurityContext) -> dict[str, Any]:
        query = await self._query(request)
        multi = (
            request.query_params.get("queryType") == "multi"
            if request.method == "GET"
            else (await request.json()).get("queryType") == "multi"
        )
        shape = query.model_dump(mode="json", exclude={"renew_query"})
        key = json.dumps(["load", shape, context.claims], sort_keys=True, default=str)
        refresh_key = self.refresh_key()
        body = None if query.renew_query else self.cache.get(key, refresh_key)
        if body is None:

            def work() -> dict[str, Any]:
                compiled = self.engine.compile(query, context=context)
                frame = self.engine.execute(compiled)
                return results.load_response(
                    self.engine.model, query, compiled, frame, self.refreshed_at(refresh_key)
                )

            body = await self.jobs.run(key, work)
            self.cache.put(key, refresh_key, body)
        if multi:
            return {
                "queryType": "regularQuery",
                "results": [body],
                "pivotQuery": {**body["query"], "queryType": "regularQuery"},
                "slowQuery": False,
            }
        return body

    async def _meta(self, request: Request, context: SecurityContext) -> dict[str, Any]:
        cubes = meta_cubes(self.engine.model, context)
        if request.query_params.get("onlyViews") == "true":
            cubes = [cube for cube in cubes if cube["type"] == "view"]
        return {"cubes": cubes}

    async def _sql(self, request: Request, context: SecurityContext) -> dict[str, Any]:
        query = await self._query(request)
        return results.sql_response(query, self.engine.compile(query, context=context))

    async def _dry_run(self, request: Request, context: SecurityContext) -> dict[str, Any]:
        query = await self._query(request)
        self.engine.compile(query, context=context)  # refused as /load would refuse it
        return results.dry_run_response(query)

    # ------------------------------------------------------------------ routes
    def routes(self) -> list[Route]:
        def endpoint(answer: Any) -> Any:
            async def handler(request: Request) -> JSONResponse:
                return await self._handle(request, answer)

            return handler

        return [
            Route("/v1/load", endpoint(self._load), methods=["GET", "POST"]),
            Route("/v1/meta", endpoint(self._meta), methods=["GET"]),
            Route("/v1/sql", endpoint(self._sql), methods=["GET", "POST"]),
            Route("/v1/dry-run", endpoint(self._dry_run), methods=["GET", "POST"]),
        ]


def cube_api(engine: Engine, verifier: Verifier, *, wait_seconds: float = 5.0) -> Starlette:
    """A Starlette app serving Cube's REST API on `engine`; mount it at `/cubejs-api`."""
    api = CubeApi(engine, verifier, wait_seconds=wait_seconds)
    app = Starlette(routes=api.routes())
    app.state.cube_api = api
    return app
