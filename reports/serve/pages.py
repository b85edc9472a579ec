"""The pages' live side of `custintel serve`, for the verified caller (reports/serve/session.py:
the claims of its token decide masking and row filters, as in the Cube API):

- `GET /_app/info` (and `/assets/custintel/mode.json`, which the static site ships as
  `{"served": false}`): `{"served": true}` (`/_app/info` adds the caller's role); the page
  script goes served.
- `GET /_app/render?page=/x.html&<input>=<value>&xf=<member>:<value>`: the page's component
  HTML re-rendered with those inputs and that cross-filter, by slot.
- `GET /_app/customers?q=...`: customers whose id (or name, for a caller who sees names)
  contains `q`.
- `GET /<page>.html`: the built page when the caller is the site role (the role it was built
  with), else the page rendered on demand for the caller; `/customers/<id>.html` is always
  rendered for the caller (any customer the caller may see; 404 otherwise).

One query runner per caller context (a few kept, least recently used first out), each with a
bounded result cache. Rendering runs one page at a time (a lock). The renderer (pandas,
MkDocs) is imported on the first page request, not at start-up.
"""

from __future__ import annotations

import html
import json
import re
import threading
import urllib.parse
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from custintel.core.settings import Settings

if TYPE_CHECKING:  # pandas, MkDocs and the renderer load with the first page request
    import pandas as pd

    from reports.page import PageContext
    from semantic import SecurityContext

CUSTOMER_TEMPLATE = "customers/[customer_id].md"  # reports.templates.CUSTOMER_TEMPLATE
RESERVED = {"page", "xf"}
_ARTICLE = re.compile(
    r'(<article class="md-content__inner md-typeset">)(.*?)(</article>)', re.DOTALL
)
_TITLE = re.compile(r"<title>.*?</title>", re.DOTALL)
_ROLE_FOOTER = re.compile(r'<span class="ci-site-role"[^>]*>.*?</span>', re.DOTALL)
_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: claims every JWT may carry besides the role: they do not change what a role sees
_STANDARD_CLAIMS = {"aud", "exp", "iat", "nbf", "iss", "sub", "jti", "role", "roles"}
RUNNERS_KEPT = 8
RESULTS_KEPT = 500


def identity(request: Request) -> SecurityContext:
    """The verified caller of a request (set by the app's session gate)."""
    return request.state.identity


class LivePages:
    def __init__(self, settings: Settings, site: Path):
        self.settings = settings
        self.site = site
        self.pages = settings.pages_path
        self.role = settings.reports.site_role
        self._runners: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._markdown_config: tuple[list[Any], dict[str, Any]] | None = None

    # ------------------------------------------------------------------ plumbing
    def is_site_context(self, context: SecurityContext) -> bool:
        """The caller sees what the built site shows: the site role and no other claim."""
        return context.roles == (self.role,) and set(context.claims) <= _STANDARD_CLAIMS

    def runner_for(self, context: SecurityContext) -> Any:
        """The caller's query runner (call with the lock held)."""
        from reports.semantic_runner import semantic_runner

        key = json.dumps(context.claims, sort_keys=True, default=str)
        if key in self._runners:
            self._runners.move_to_end(key)
            return self._runners[key]
        runner = semantic_runner(self.settings, context=context)
        runner.cache_limit = RESULTS_KEPT
        self._runners[key] = runner
        while len(self._runners) > RUNNERS_KEPT:
            self._runners.popitem(last=False)[1].release()
        return runner

    def close(self) -> None:
        with self._lock:
            for runner in self._runners.values():
                runner.release()
            self._runners.clear()

    def _source(self, url_path: str, runner: Any) -> tuple[str, str, dict[str, Any]]:
        """`/executive-overview.html` -> (`executive-overview.md`, its source, no params);
        a generated page (`/segments/SMB.html`) -> its template and the row's params; a
        customer -> the Customer 360 template for any customer the caller may see."""
        from reports.templates import expand_template

        relative = url_path.strip("/") or "index.html"
        if relative.endswith("/"):
            relative += "index.html"
        relative = relative.removesuffix(".html") + ".md"
        root = self.pages.resolve()
        path = (root / relative).resolve()
        if not path.is_relative_to(root):
            raise FileNotFoundError(f"no page {url_path}")
        if path.is_file() and "[" not in path.name:
            return relative, path.read_text(), {}
        for template in sorted(path.parent.glob("[[]*[]].md")):
            uri = template.relative_to(root).as_posix()
            source = template.read_text()
            if uri == CUSTOMER_TEMPLATE:  # any customer, not only those with a built page
                params = self._customer_params(source, path.stem, runner)
                if params is not None:
                    return uri, source, params
                continue
            for page in expand_template(uri, source, runner):
                if page.src_uri == relative:
                    return uri, source, page.params
        raise FileNotFoundError(f"no page {url_path}")

    @staticmethod
    def _customer_params(template: str, customer_id: str, runner: Any) -> dict[str, Any] | None:
        """The template's parameters for one customer (its `pages_from` columns), if the
        caller may see that customer (row filters apply)."""
        from reports.templates import pages_query, template_parameter

        if not _SAFE_ID.match(customer_id):
            return None
        base = pages_query(template)
        view = base["dimensions"][0].split(".", 1)[0]
        query = {
            "dimensions": base["dimensions"],
            "limit": 1,
            "filters": [
                {
                    "member": f"{view}.{template_parameter(CUSTOMER_TEMPLATE)}",
                    "operator": "equals",
                    "values": [customer_id],
                }
            ],
        }
        frame = runner.run(query)
        if frame.empty:
            return None
        return {str(column).split(".", 1)[1]: frame.iloc[0][column] for column in frame.columns}

    @staticmethod
    def link_for(template: str, value: Any) -> str:
        """Every value links: `customers/[customer_id].md` -> `/customers/<value>.html`."""
        folder = template.lstrip("/").rsplit("/", 1)[0]
        return f"/{folder}/{urllib.parse.quote(str(value), safe='')}.html"

    @staticmethod
    def download(name: str, frame: pd.DataFrame) -> str:
        from reports.plugin import _csv_text

        return "data:text/csv;charset=utf-8," + urllib.parse.quote(_csv_text(frame))

    def _definition_url(self, member: str) -> str | None:
        return (
            f"/metric-catalogue.html#{member}"
            if (self.site / "metric-catalogue.html").is_file()
            else None
        )

    def _context(self, source: str, runner: Any, **extra: Any) -> PageContext:
        from reports.page import PageContext
        from reports.plugin import _slug
        from reports.templates import key_columns

        template = self.pages / CUSTOMER_TEMPLATE
        key_links = (
            key_columns(runner, {CUSTOMER_TEMPLATE: template.read_text()})
            if template.is_file()
            else (lambda column: None)
        )
        return PageContext(
            source=source,
            runner=runner,
            link_for=self.link_for,
            download=self.download,
            slug=_slug(source),
            key_links=key_links,
            definition_url=self._definition_url,
            **extra,
        )

    @staticmethod
    def _chosen(params: dict[str, str]) -> tuple[dict[str, str], tuple[str, str] | None]:
        from reports.specs import SpecError

        chosen = {key: value for key, value in params.items() if key not in RESERVED}
        cross = None
        if params.get("xf"):
            member, _, value = params["xf"].partition(":")
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", member):
                raise SpecError(f"cross-filter: {member!r} is not a member name")
            cross = (member, value[:200])
        return chosen, cross

    # ------------------------------------------------------------------ live pages
    def render(
        self, url_path: str, params: dict[str, str], context: SecurityContext
    ) -> dict[str, Any]:
        from mkdocs.utils.meta import get_data

        from reports.page import render_page

        chosen, cross = self._chosen(params)
        with self._lock:
            runner = self.runner_for(context)
            source, raw, page_params = self._source(url_path, runner)
            text, _meta = get_data(raw)
            rendered = render_page(
                text,
                self._context(
                    source, runner, chosen=chosen, params=page_params, cross_filter=cross
                ),
            )
        return {
            "page": source,
            "chosen": rendered.chosen,
            "filter": {"member": cross[0], "value": cross[1]} if cross else None,
            "slots": {
                str(n): html_text
                for n, html_text in rendered.slots.items()
                if n not in rendered.input_slots
            },
        }

    def sees_names(self, context: SecurityContext) -> bool:
        """Whether the caller sees customer names in clear (no masking at all)."""
        import semantic

        return semantic.session(self.settings).sees_plain("customer_health", "full_name", context)

    def search(self, text: str, context: SecurityContext, limit: int = 20) -> list[dict[str, Any]]:
        """Customers whose id contains `text`, or whose name does for a caller who sees
        names (others get no name, and their search never reads names)."""
        import pandas as pd

        text = text.strip()[:64]
        if not text:
            return []
        by_id = {"member": "customer_health.customer_id", "operator": "contains", "values": [text]}
        if self.sees_names(context):
            query = {
                "dimensions": ["customer_health.customer_id", "customer_health.full_name"],
                "filters": [
                    {
                        "or": [
                            by_id,
                            {
                                "member": "customer_health.full_name",
                                "operator": "contains",
                                "values": [text],
                            },
                        ]
                    }
                ],
            }
        else:
            query = {"dimensions": ["customer_health.customer_id"], "filters": [by_id]}
        query |= {"order": {"customer_health.customer_id": "asc"}, "limit": limit}
        with self._lock:
            frame = self.runner_for(context).run(query)
        names = (
            frame["customer_health.full_name"]
            if "customer_health.full_name" in frame
            else [None] * len(frame)
        )
        return [
            {
                "id": str(customer),
                "name": None if pd.isna(name) else str(name),
                "url": self.link_for(CUSTOMER_TEMPLATE, customer),
            }
            for customer, name in zip(frame["customer_health.customer_id"], names, strict=True)
        ]

    def _to_html(self, text: str) -> str:
        import markdown as markdown_lib

        if self._markdown_config is None:
            from mkdocs.config import load_config

            from reports.site import MKDOCS_FILE

            config = load_config(str(MKDOCS_FILE), docs_dir=str(self.pages))
            self._markdown_config = (config.markdown_extensions, config.mdx_configs)
        extensions, configs = self._markdown_config
        return markdown_lib.markdown(text, extensions=extensions, extension_configs=configs)

    def _shell(self, url_path: str) -> Path | None:
        """The built HTML around the page's article: its own, else a sibling's (a customer
        without a built page takes another customer's)."""
        root = self.site.resolve()
        relative = url_path.strip("/") or "index.html"
        own = (root / relative).resolve()
        if own.is_relative_to(root) and own.is_file():
            return own
        if not own.is_relative_to(root):
            return None
        return next(iter(sorted(own.parent.glob("*.html"))), None) if own.parent.is_dir() else None

    def page_html(
        self, url_path: str, params: dict[str, str], context: SecurityContext
    ) -> str | None:
        """The page rendered for the caller inside the built page's shell; None if there is
        no such page for the caller."""
        from mkdocs.utils.meta import get_data

        from reports.inline import substitute_text
        from reports.page import fill_slots, render_page
        from reports.plugin import as_of_html, plotly_script

        shell_path = self._shell(url_path)
        if shell_path is None:
            return None
        chosen, cross = self._chosen(params)
        with self._lock:
            runner = self.runner_for(context)
            try:
                source, raw, page_params = self._source(url_path, runner)
            except FileNotFoundError:
                return None
            text, meta = get_data(raw)
            rendered = render_page(
                text,
                self._context(
                    source, runner, chosen=chosen, params=page_params, cross_filter=cross
                ),
            )
            body = fill_slots(self._to_html(rendered.markdown), rendered.slots)
            body += plotly_script(body, url_path.lstrip("/"))
            title = html.escape(
                substitute_text(str(meta.get("title", "")), page_params)
                if page_params
                else str(meta.get("title", ""))
            )
            as_of = as_of_html(runner.as_of)
        heading = body.find("</h1>")
        body = body[: heading + 5] + as_of + body[heading + 5 :] if heading >= 0 else as_of + body
        roles = html.escape(", ".join(context.roles) or "no role")
        footer = (
            f'<span class="ci-site-role" data-role="{roles}">Shown for the role '
            f"<strong>{roles}</strong>: governed figures show what this role may see "
            "(access policies of the semantic model).</span>"
        )
        shell = shell_path.read_text()
        if title:
            shell = _TITLE.sub(lambda _m: f"<title>{title}</title>", shell, count=1)
        shell = _ROLE_FOOTER.sub(lambda _m: footer, shell, count=1)
        return _ARTICLE.sub(lambda m: m[1] + body + m[3], shell, count=1)

    # ------------------------------------------------------------------ routes
    def routes(self) -> list[Route]:
        from reports.errors import ReportError
        from reports.specs import SpecError

        async def mode(_request: Request) -> Response:
            return JSONResponse({"served": True})

        async def info(request: Request) -> Response:
            return JSONResponse({"served": True, "roles": list(identity(request).roles)})

        async def render(request: Request) -> Response:
            params = dict(request.query_params)
            try:
                body = await run_in_threadpool(
                    self.render, params.get("page", "/"), params, identity(request)
                )
            except FileNotFoundError as exc:
                return JSONResponse({"error": str(exc)}, status_code=404)
            except (ReportError, SpecError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            return JSONResponse(body)

        async def customers(request: Request) -> Response:
            found = await run_in_threadpool(
                self.search, request.query_params.get("q", ""), identity(request)
            )
            return JSONResponse({"customers": found})

        async def page(request: Request) -> Response:
            context = identity(request)
            path = request.url.path
            built = (
                (self.site / path.strip("/")).resolve()
                if path.strip("/")
                else self.site / "index.html"
            )
            if path.endswith("/"):
                built = built / "index.html"
            if (
                self.is_site_context(context)
                and not path.startswith("/customers/")
                and built.is_relative_to(self.site.resolve())
                and built.is_file()
            ):
                return FileResponse(built)
            try:
                rendered = await run_in_threadpool(
                    self.page_html, path, dict(request.query_params), context
                )
            except (ReportError, SpecError):
                # a refused URL state (unknown input, value outside its options): the page
                # as it opens; the page script asks /_app/render again and shows the refusal
                rendered = await run_in_threadpool(self.page_html, path, {}, context)
            if rendered is None:
                roles = html.escape(", ".join(context.roles) or "no role")
                return HTMLResponse(
                    f"<p>No page {html.escape(path)} for the role {roles}.</p>", status_code=404
                )
            return HTMLResponse(rendered)

        return [
            Route("/_app/info", info),
            Route("/assets/custintel/mode.json", mode),
            Route("/_app/render", render),
            Route("/_app/customers", customers),
            Route("/{path:path}.html", page),
            Route("/", page),
            Route("/{path:path}/", page),
        ]
