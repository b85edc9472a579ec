"""The pages' live side of `custintel serve`, as the site role (`reports.site_role`, the role
the static site is built with: the served pages show what the static pages show, for any
input value and any customer):

- `GET /_app/info` (and `/assets/custintel/mode.json`, which the static site ships as
  `{"served": false}`): `{"served": true, "role": ...}`; the page script goes served.
- `GET /_app/render?page=/x.html&<input>=<value>&xf=<member>:<value>`: the page's component
  HTML re-rendered with those inputs and that cross-filter, by slot.
- `GET /_app/customers?q=...`: customers whose id (or name, where the role sees names)
  contains `q`.
- `GET /customers/<id>.html`: the built Customer 360 page, or the template rendered on demand.

Rendering runs one page at a time (the runner holds one warehouse connection). The renderer
(pandas, MkDocs) is imported on the first page request, not at start-up.
"""

from __future__ import annotations

import html
import re
import threading
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from custintel.settings import Settings

if TYPE_CHECKING:  # pandas, MkDocs and the renderer load with the first page request
    import pandas as pd

    from reports.page import PageContext

CUSTOMER_TEMPLATE = "customers/[customer_id].md"
RESERVED = {"page", "xf"}
_ARTICLE = re.compile(r'(<article class="md-content__inner md-typeset">)(.*?)(</article>)',
                      re.DOTALL)
_TITLE = re.compile(r"<title>.*?</title>", re.DOTALL)
_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class LivePages:
    def __init__(self, settings: Settings, site: Path):
        self.settings = settings
        self.site = site
        self.pages = settings.pages_path
        self.role = settings.reports.site_role
        self._runner: Any = None
        self._lock = threading.Lock()
        self._markdown_config: tuple[list[Any], dict[str, Any]] | None = None

    # ------------------------------------------------------------------ plumbing
    @property
    def runner(self) -> Any:
        if self._runner is None:
            from reports.semantic_runner import semantic_runner

            self._runner = semantic_runner(self.settings, role=self.role)
        return self._runner

    def _source(self, url_path: str) -> tuple[str, str, dict[str, Any]]:
        """`/executive-overview.html` -> (`executive-overview.md`, its source, no params);
        a generated page (`/segments/SMB.html`) -> its template and the row's params."""
        from reports.templates import expand_template

        relative = url_path.strip("/") or "index.html"
        relative = relative.removesuffix(".html") + ".md"
        root = self.pages.resolve()
        path = (root / relative).resolve()
        if not path.is_relative_to(root):
            raise FileNotFoundError(f"no page {url_path}")
        if path.is_file():
            return relative, path.read_text(), {}
        for template in sorted(path.parent.glob("[[]*[]].md")):
            uri = template.relative_to(root).as_posix()
            source = template.read_text()
            for page in expand_template(uri, source, self.runner):
                if page.src_uri == relative:
                    return uri, source, page.params
            if uri == CUSTOMER_TEMPLATE:  # any customer, not only those with a built page
                params = self._customer_params(source, path.stem)
                if params is not None:
                    return uri, source, params
        raise FileNotFoundError(f"no page {url_path}")

    def _customer_params(self, template: str, customer_id: str) -> dict[str, Any] | None:
        """The template's parameters for one customer (its `pages_from` columns), if the
        site role may see that customer."""
        from reports.templates import pages_query, template_parameter

        base = pages_query(template)
        view = base["dimensions"][0].split(".", 1)[0]
        query = {"dimensions": base["dimensions"], "limit": 1,
                 "filters": [{"member": f"{view}.{template_parameter(CUSTOMER_TEMPLATE)}",
                              "operator": "equals", "values": [customer_id]}]}
        frame = self.runner.run(query)
        if frame.empty:
            return None
        return {str(column).split(".", 1)[1]: frame.iloc[0][column] for column in frame.columns}

    @staticmethod
    def link_for(template: str, value: Any) -> str:
        """Every value links: `customers/[customer_id].md` -> `/customers/<value>.html`."""
        folder = template.lstrip("/").rsplit("/", 1)[0]
        return f"/{folder}/{urllib.parse.quote(str(value))}.html"

    @staticmethod
    def download(name: str, frame: pd.DataFrame) -> str:
        from reports.plugin import _csv_text

        return "data:text/csv;charset=utf-8," + urllib.parse.quote(_csv_text(frame))

    def _context(self, source: str, **extra: Any) -> PageContext:
        from reports.page import PageContext
        from reports.plugin import _slug

        return PageContext(source=source, runner=self.runner, link_for=self.link_for,
                           download=self.download, slug=_slug(source), **extra)

    # ------------------------------------------------------------------ live pages
    def render(self, url_path: str, params: dict[str, str]) -> dict[str, Any]:
        from mkdocs.utils.meta import get_data

        from reports.page import render_page
        from reports.specs import SpecError

        with self._lock:
            source, raw, page_params = self._source(url_path)
        text, _meta = get_data(raw)
        chosen = {key: value for key, value in params.items() if key not in RESERVED}
        cross = None
        if params.get("xf"):
            member, _, value = params["xf"].partition(":")
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", member):
                raise SpecError(f"cross-filter: {member!r} is not a member name")
            cross = (member, value)
        with self._lock:
            rendered = render_page(text, self._context(source, chosen=chosen, params=page_params,
                                                       cross_filter=cross))
        return {"page": source, "chosen": rendered.chosen,
                "filter": {"member": cross[0], "value": cross[1]} if cross else None,
                "slots": {str(n): html_text for n, html_text in rendered.slots.items()
                          if n not in rendered.input_slots}}

    def search(self, text: str, limit: int = 20) -> list[dict[str, Any]]:
        import pandas as pd

        text = text.strip()[:64]
        if not text:
            return []
        query = {"dimensions": ["customer_health.customer_id", "customer_health.full_name"],
                 "filters": [{"or": [
                     {"member": "customer_health.customer_id", "operator": "contains",
                      "values": [text]},
                     {"member": "customer_health.full_name", "operator": "contains",
                      "values": [text]}]}],
                 "order": {"customer_health.customer_id": "asc"}, "limit": limit}
        with self._lock:
            frame = self.runner.run(query)
        return [{"id": str(row[0]), "name": None if pd.isna(row[1]) else str(row[1]),
                 "url": self.link_for(CUSTOMER_TEMPLATE, row[0])}
                for row in frame.itertuples(index=False, name=None)]

    def _to_html(self, text: str) -> str:
        import markdown as markdown_lib

        if self._markdown_config is None:
            from mkdocs.config import load_config

            from reports.site import MKDOCS_FILE

            config = load_config(str(MKDOCS_FILE), docs_dir=str(self.pages))
            self._markdown_config = (config.markdown_extensions, config.mdx_configs)
        extensions, configs = self._markdown_config
        return markdown_lib.markdown(text, extensions=extensions, extension_configs=configs)

    def customer_page(self, customer_id: str) -> str | None:
        """The Customer 360 of any customer the site role may see; None if there is none."""
        from mkdocs.utils.meta import get_data

        from reports.inline import substitute_text
        from reports.page import fill_slots, render_page
        from reports.plugin import as_of_html, plotly_script

        template = (self.pages / CUSTOMER_TEMPLATE).read_text()
        shell_path = next(iter(sorted((self.site / "customers").glob("*.html"))), None)
        if shell_path is None:
            return None
        with self._lock:
            params = self._customer_params(template, customer_id)
            if params is None:
                return None
            text, meta = get_data(template)
            context = self._context(CUSTOMER_TEMPLATE, params=params)
            rendered = render_page(text, context)
            body = fill_slots(self._to_html(rendered.markdown), rendered.slots)
            body += plotly_script(body, f"customers/{customer_id}.html")
            title = html.escape(substitute_text(str(meta.get("title", customer_id)), params))
        heading = body.find("</h1>")
        as_of = as_of_html(self.runner.as_of)
        body = body[: heading + 5] + as_of + body[heading + 5:] if heading >= 0 else \
            as_of + body
        shell = shell_path.read_text()
        shell = _TITLE.sub(lambda _m: f"<title>{title}</title>", shell, count=1)
        return _ARTICLE.sub(lambda m: m[1] + body + m[3], shell, count=1)

    # ------------------------------------------------------------------ routes
    def routes(self) -> list[Route]:
        async def info(_request: Request) -> Response:
            return JSONResponse({"served": True, "role": self.role})

        async def render(request: Request) -> Response:
            from reports.errors import ReportError
            from reports.specs import SpecError

            params = dict(request.query_params)
            try:
                body = await run_in_threadpool(self.render, params.get("page", "/"), params)
            except FileNotFoundError as exc:
                return JSONResponse({"error": str(exc)}, status_code=404)
            except (ReportError, SpecError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            return JSONResponse(body)

        async def customers(request: Request) -> Response:
            found = await run_in_threadpool(self.search, request.query_params.get("q", ""))
            return JSONResponse({"customers": found})

        async def customer(request: Request) -> Response:
            customer_id = request.path_params["customer_id"]
            built = self.site / "customers" / f"{customer_id}.html"
            if _SAFE_ID.match(customer_id) and built.is_file():
                return FileResponse(built)
            page = await run_in_threadpool(self.customer_page, customer_id)
            if page is None:
                return HTMLResponse(f"<p>No customer {html.escape(customer_id)} for the role "
                                    f"{html.escape(str(self.role))}.</p>", status_code=404)
            return HTMLResponse(page)

        return [Route("/_app/info", info), Route("/assets/custintel/mode.json", info),
                Route("/_app/render", render),
                Route("/_app/customers", customers),
                Route("/customers/{customer_id}.html", customer)]
