"""The served report app: one Starlette app that serves the built site, answers the Cube REST
API (`semantic.server`, mounted at `/cubejs-api`) and the pages' live requests, all through one
embedded engine on the warehouse (read-only).

`create_app(settings)` builds it; `custintel serve` runs it on uvicorn, bound to 127.0.0.1 by
default. The engine's "as of" is the warehouse's data date, as in the static build, so the
same query answers the same numbers in both.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from custintel.settings import Settings
from reports.semantic_runner import data_as_of
from semantic.api import model as semantic_model
from semantic.engine import Engine
from semantic.identity import SECRET_ENV, Verifier
from semantic.server import cube_api

LOG = logging.getLogger("custintel.serve")
API_PATH = "/cubejs-api"


class ServeError(Exception):
    """The app cannot start: what is missing and the command that makes it."""


def served_engine(settings: Settings) -> Engine:
    """The engine every request shares: the model, the warehouse read-only, its as-of date."""
    if not settings.warehouse_path.exists():
        raise ServeError(f"warehouse not found: {settings.warehouse_path} (run `custintel "
                          "build` first)")
    return Engine(semantic_model(settings), settings.warehouse_path, as_of=data_as_of(settings))


def site_folder(settings: Settings, site_dir: Path | None) -> Path:
    site = (site_dir or settings.site_path).resolve()
    if not (site / "index.html").is_file():
        raise ServeError(f"no built report site in {site} (run `custintel reports build` "
                          "first)")
    return site


def api_warning(verifier: Verifier) -> str | None:
    """Why no token can verify, if so (the API then answers 403 to every token)."""
    if not verifier.audience:
        return "semantic.token_audience is not set"
    if verifier.algorithm == "HS256" and not verifier.secret:
        return f"{SECRET_ENV} is not set"
    if verifier.algorithm != "HS256" and not (verifier.public_key or verifier.jwks_url):
        return "neither semantic.jwks_url nor semantic.token_public_key_path is set"
    return None


def create_app(settings: Settings, *, site_dir: Path | None = None,
               wait_seconds: float = 5.0, engine: Engine | None = None) -> Starlette:
    """The app: `/cubejs-api/v1/*` (token required) and the static site under `/`."""
    site = site_folder(settings, site_dir)
    engine = engine or served_engine(settings)
    verifier = Verifier.from_settings(settings)
    problem = api_warning(verifier)
    if problem:
        LOG.warning("the Cube API refuses every token: %s", problem)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        engine.close()

    app = Starlette(
        routes=[
            Mount(API_PATH, app=cube_api(engine, verifier, wait_seconds=wait_seconds)),
            Mount("/", app=StaticFiles(directory=site, html=True)),
        ],
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.settings = settings
    return app
