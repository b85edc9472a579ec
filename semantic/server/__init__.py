"""A Cube-compatible REST API on the embedded engine (`/cubejs-api/v1/load`, `meta`, `sql`,
`dry-run`), as Starlette routes: `cube_api(engine, verifier)` returns a mountable app.

Only `semantic` is imported; the report app (`reports/serve`) mounts it beside the site.
"""

from semantic.server.routes import CubeApi, cube_api

__all__ = ["CubeApi", "cube_api"]
