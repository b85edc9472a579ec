"""The served report app: one Starlette app that serves the built site, answers the Cube REST
API (`semantic.server`, mounted at `/cubejs-api`) and the pages' live requests, all through one
embedded engine on the warehouse (read-only).

`create_app(settings)` builds it; `custintel serve` runs it on uvicorn, bound to 127.0.0.1 by
default. The engine's "as of" is the warehouse's data date, as in the static build, so the
same query answers the same numbers in both.

Identity: every request but the login page, `/assets/` and the API (which checks its own
token) passes the session gate (`session.py`): a verified JWT from the `Authorization` header
or the session cookie, else 401 / 403. The caller's claims decide what pages show; built files
other than pages (search index, CSV downloads) hold the site role's data and go to callers of
the site role only (others get an empty search index).

Start-up: the paths are checked at once (a missing warehouse or site is an error before
listening); the engine and the API (pandas, DuckDB, SQLGlot, the model) are loaded in a
background thread as the server starts, so the site answers at once and a request that needs
the engine waits until it is loaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from custintel.core.settings import Settings
from reports.serve.session import LocalLogin, Refused, Sessions, is_public, login_endpoint, refusal

if TYPE_CHECKING:
    from reports.serve.pages import LivePages
    from semantic.api import Engine

LOG = logging.getLogger("custintel.serve")
API_PATH = "/cubejs-api"


class ServeError(Exception):
    """The app cannot start: what is missing and the command that makes it."""


def served_engine(settings: Settings) -> Engine:
    """The engine every request shares: the model, the warehouse read-only, its as-of date."""
    from reports.semantic_runner import data_as_of
    from semantic.api import Engine
    from semantic.api import model as semantic_model

    if not settings.warehouse_path.exists():
        raise ServeError(
            f"warehouse not found: {settings.warehouse_path} (run `custintel build` first)"
        )
    return Engine(semantic_model(settings), settings.warehouse_path, as_of=data_as_of(settings))


def site_folder(settings: Settings, site_dir: Path | None) -> Path:
    site = (site_dir or settings.site_path).resolve()
    if not (site / "index.html").is_file():
        raise ServeError(f"no built report site in {site} (run `custintel reports build` first)")
    return site


def api_warning(verifier: Any) -> str | None:
    """Why no token can verify, if so (the API then answers 403 to every token)."""
    from semantic.identity import SECRET_ENV

    if not verifier.audience:
        return "semantic.token_audience is not set"
    if verifier.algorithm == "HS256" and not verifier.secret:
        return f"{SECRET_ENV} is not set"
    if verifier.algorithm != "HS256" and not (verifier.public_key or verifier.jwks_url):
        return "neither semantic.jwks_url nor semantic.token_public_key_path is set"
    return None


class Deferred:
    """An ASGI app built in a background thread; requests wait until it is ready."""

    def __init__(self, build: Callable[[], ASGIApp]):
        self._build = build
        self._task: asyncio.Future[ASGIApp] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(asyncio.to_thread(self._build))

    async def ready(self) -> ASGIApp:
        self.start()
        assert self._task is not None
        return await self._task

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await (await self.ready())(scope, receive, send)


SEARCH_INDEX = "/search/search_index.json"


class SessionGate:
    """ASGI middleware: the caller's verified identity on every non-public request
    (`request.state.identity`), or the refusal (401 / 403)."""

    def __init__(self, app: ASGIApp, sessions: Callable[[], Sessions], pages: LivePages):
        self.app = app
        self.sessions = sessions
        self.pages = pages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or is_public(path):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        try:
            context = self.sessions().request_context(request)
        except Refused as failure:
            await refusal(request, failure)(scope, receive, send)
            return
        scope.setdefault("state", {})["identity"] = context
        is_page = path.endswith((".html", "/")) or path.startswith("/_app/")
        if not is_page and not self.pages.is_site_context(context):
            if path == SEARCH_INDEX:  # the index holds the site role's page text
                answer = JSONResponse(
                    {"config": {"lang": ["en"], "separator": r"[\s\-]+"}, "docs": []}
                )
            else:
                answer = JSONResponse(
                    {
                        "error": f"{path} was built for the role "
                        f"{self.pages.role}; it is not served to yours"
                    },
                    status_code=403,
                )
            await answer(scope, receive, send)
            return
        await self.app(scope, receive, send)


def create_app(
    settings: Settings,
    *,
    site_dir: Path | None = None,
    wait_seconds: float = 5.0,
    engine: Engine | None = None,
    local_login: LocalLogin | None = None,
) -> Starlette:
    """The app: `/cubejs-api/v1/*` (token required), the login and the site under `/`, all
    for a verified caller. `local_login`: also accept the local single-user token."""
    site = site_folder(settings, site_dir)
    if engine is None and not settings.warehouse_path.exists():
        raise ServeError(
            f"warehouse not found: {settings.warehouse_path} (run `custintel build` first)"
        )
    state: dict[str, Any] = {"engine": engine}

    def build_api() -> ASGIApp:
        from semantic.identity import Verifier
        from semantic.server import cube_api

        state["engine"] = state["engine"] or served_engine(settings)
        verifier = Verifier.from_settings(settings)
        problem = api_warning(verifier)
        if problem:
            LOG.warning("the Cube API refuses every token: %s", problem)
        return cube_api(state["engine"], verifier, wait_seconds=wait_seconds)

    api = Deferred(build_api)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        api.start()
        yield
        live.close()
        if state["engine"] is not None:
            state["engine"].close()

    from reports.serve.pages import LivePages

    live = LivePages(settings, site)
    verified: dict[str, Sessions] = {}

    def sessions() -> Sessions:
        if "sessions" not in verified:
            from semantic.identity import Verifier

            verified["sessions"] = Sessions(Verifier.from_settings(settings), local_login)
        return verified["sessions"]

    login, logout = login_endpoint(sessions)
    app = Starlette(
        routes=[
            Mount(API_PATH, app=api),
            Route("/_app/login", login, methods=["GET", "POST"]),
            Route("/_app/logout", logout),
            *live.routes(),
            Mount("/", app=StaticFiles(directory=site, html=True)),
        ],
        middleware=[Middleware(SessionGate, sessions=sessions, pages=live)],
        lifespan=lifespan,
    )
    app.state.api = api
    app.state.served = state
    app.state.pages = live
    return app


async def engine_of(app: Starlette) -> Engine:
    """The app's engine, once loaded."""
    await app.state.api.ready()
    return app.state.served["engine"]
