"""MkDocs plugin `custintel-reports`: runs each page's queries at build time and renders
its charts, KPI tiles, tables and inline values (see reports/README.md for the page syntax).

Events: `on_config` makes the QueryRunner and adds the bundled assets; `on_files` adds
plotly.js (a partial bundle vendored in assets/vendor: no CDN), the site's one chart
template and expands templated pages; `on_page_markdown` runs the queries and leaves
placeholders; `on_page_content` fills them, adds the "data as of" line and makes the page title
safe to print unescaped; `on_post_build` removes the theme's source maps (nobody reading the
site needs them, and they doubled a first visit).
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page
from mkdocs.utils import get_relative_url

from reports.components.tables import KeyLinks, no_key_links
from reports.errors import ReportError
from reports.formats import stable
from reports.inline import substitute_text
from reports.inputs import merge_variants, variant_marker
from reports.page import PageContext, RenderedPage, fill_slots, render_page
from reports.runner import QueryRunner
from reports.specs import SpecError
from reports.templates import (
    CUSTOMER_TEMPLATE,
    GeneratedPage,
    expand_template,
    key_columns,
    template_parameter,
)
from reports.theme import chart_template

ASSET_DIR = "assets/custintel"
_HERE = Path(__file__).parent / "assets"
#: plotly.js partial bundle of the trace types the charts draw (bar, heatmap, scatter), built
#: from the npm package plotly.js of the version the plotly package wraps (recipe:
#: assets/vendor/README.md): 1.0 MB, loaded by pages with charts only
PLOTLY_BUNDLE = _HERE / "vendor" / "plotly-custintel-4.1.1.min.js"
ASSETS = {
    "plotly.min.js": PLOTLY_BUNDLE,
    "reports.js": _HERE / "reports.js",
    "reports.css": _HERE / "reports.css",
    "inputs.js": _HERE / "inputs.js",
}
#: on every page; plotly.js only where charts are
SCRIPTS = ("chart-theme.js", "reports.js", "inputs.js")
_SOURCE_MAP = re.compile(r"\n?/[/*][#@] sourceMappingURL=[^\n]*")
MODE_FILE = f"{ASSET_DIR}/mode.json"
DOWNLOAD_DIR = "downloads"
_TAG = re.compile(r"<[^>]*>")
_FIRST_H1 = re.compile(r"</h1>", re.IGNORECASE)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ReportsConfig(base.Config):
    role = c.Optional(c.Type(str))  # overrides settings' reports.site_role (tests)
    settings = c.Optional(c.Type(str))  # custintel config.yaml (`custintel reports serve`)
    catalogue = c.Type(str, default="metric-catalogue.md")  # KPI tiles link to its rows


def _front_matter_lines(raw: str, markdown: str) -> int:
    """Lines of the file before the markdown MkDocs hands to plugins (the front matter)."""
    raw = raw.replace("\r\n", "\n")
    return raw[: len(raw) - len(markdown)].count("\n") if raw.endswith(markdown) else 0


def _slug(src_uri: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", src_uri.removesuffix(".md")).strip("-") or "page"


def _csv_text(frame: pd.DataFrame) -> str:
    """CSV of a frame; text cells that a spreadsheet would run as a formula get a leading '."""

    def guard(value: Any) -> Any:
        return f"'{value}" if isinstance(value, str) and value.startswith(_FORMULA_START) else value

    buffer = io.StringIO()
    frame.map(lambda value: guard(stable(value))).to_csv(
        buffer, index=False, quoting=csv.QUOTE_MINIMAL
    )
    return buffer.getvalue()


def role_footer(role: str | None) -> str:
    """The footer line (Material shows `copyright` there) naming the site's role."""
    shown = html.escape(role) if role else "not set (fixture runner)"
    return (
        f'<span class="ci-site-role" data-role="{html.escape(role or "", quote=True)}">'
        f"Built with the role <strong>{shown}</strong>: governed figures show what this "
        "role may see (access policies of the semantic model).</span>"
    )


def csv_frame(frame: pd.DataFrame, title_of: Any) -> pd.DataFrame:
    """The frame a reader downloads: columns named by their titles (ids stay in the page's
    queries panel); a title shared by two columns keeps the second's id in brackets."""
    titles: list[str] = []
    for column in frame.columns:
        title = title_of(str(column))
        titles.append(f"{title} [{column}]" if title in titles else title)
    renamed = frame.copy()
    renamed.columns = titles
    return renamed


def chart_theme_js() -> str:
    """assets/custintel/chart-theme.js: the Plotly template of every chart, once per site."""
    return (
        "/* custintel reports: the Plotly template of every chart (reports/theme.py). */\n"
        f"window.CI_CHART_TEMPLATE = {json.dumps(chart_template(), sort_keys=True)};\n"
    )


def strip_source_maps(site_dir: Path) -> None:
    """Delete *.map files and the comments pointing at them."""
    for path in sorted(site_dir.rglob("*.map")):
        path.unlink()
    for path in sorted([*site_dir.rglob("*.js"), *site_dir.rglob("*.css")]):
        text = path.read_text(encoding="utf-8")
        if "sourceMappingURL=" in text:
            path.write_text(_SOURCE_MAP.sub("", text), encoding="utf-8")


def as_of_html(as_of: Any) -> str:
    if as_of is None:
        return '<p class="ci-as-of">Data as of: <strong>unknown</strong> (no landed data)</p>'
    return (
        f'<p class="ci-as-of">Data as of <time datetime="{as_of.isoformat()}">'
        f"{as_of:%d %b %Y}</time></p>"
    )


def plotly_script(html_text: str, page_url: str) -> str:
    """The plotly.js script tag a page's content needs: none without charts."""
    if 'class="ci-chart"' not in html_text:
        return ""
    plotly_url = get_relative_url(f"{ASSET_DIR}/plotly.min.js", page_url)
    return f'<script src="{html.escape(plotly_url, quote=True)}"></script>'


class ReportsPlugin(BasePlugin[ReportsConfig]):
    """Renders report pages; `runner` / `settings` may be set before a build (tests, CLI)."""

    def __init__(self) -> None:
        super().__init__()
        self.runner: QueryRunner | None = None
        self.settings: Any = None  # custintel.core.settings.Settings
        self._generated: dict[str, GeneratedPage] = {}
        self._templates: dict[str, str] = {}  # template src_uri -> its file, for errors
        self._key_links: KeyLinks = no_key_links  # customer-id columns -> the Customer 360
        self._links: dict[tuple[str, str], File] = {}
        self._slots: dict[str, dict[int, str]] = {}
        self._safe_titles: set[str] = set()
        self._site_dir = Path(".")
        self.error: ReportError | None = None  # the page error that aborted the last build

    # -- configuration and files ------------------------------------------------------------
    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        if self.runner is None:
            from custintel.core.settings import load_settings
            from reports.semantic_runner import semantic_runner

            self.settings = self.settings or load_settings(self.config.settings)
            self.runner = semantic_runner(self.settings, role=self.site_role)
        config.copyright = role_footer(self.site_role)
        for name in SCRIPTS:
            if f"{ASSET_DIR}/{name}" not in config.extra_javascript:
                config.extra_javascript.append(f"{ASSET_DIR}/{name}")
        if f"{ASSET_DIR}/reports.css" not in config.extra_css:
            config.extra_css.append(f"{ASSET_DIR}/reports.css")
        self._site_dir = Path(config.site_dir)
        self._generated, self._templates, self._links = {}, {}, {}
        self._key_links = no_key_links
        self._slots, self._safe_titles = {}, set()
        self.error = None
        return config

    @property
    def site_role(self) -> str | None:
        """The role every governed query of the site runs as (footer says it)."""
        if self.config.role:
            return self.config.role
        return self.settings.reports.site_role if self.settings is not None else None

    def on_build_error(self, error: Exception) -> None:
        if isinstance(error, ReportError):
            self.error = error
        if self.runner is not None:
            self.runner.release()

    def on_post_build(self, config: MkDocsConfig) -> None:
        strip_source_maps(Path(config.site_dir))
        if self.runner is not None:
            self.runner.release()

    def on_files(self, files: Files, config: MkDocsConfig) -> Files:
        for name, path in ASSETS.items():
            files.append(File.generated(config, f"{ASSET_DIR}/{name}", abs_src_path=str(path)))
        files.append(
            File.generated(config, f"{ASSET_DIR}/chart-theme.js", content=chart_theme_js())
        )
        # inputs.js reads it: the static site says "not served"; `custintel serve` answers
        # this path itself (reports/serve/pages.py)
        files.append(File.generated(config, MODE_FILE, content='{"served": false}\n'))
        for file in list(files.documentation_pages()):
            if template_parameter(file.src_uri) is not None:
                self._expand(file, files, config)
        return files

    def _expand(self, template: File, files: Files, config: MkDocsConfig) -> None:
        source = template.content_string
        shown = template.abs_src_path or template.src_uri
        assert self.runner is not None
        try:
            pages = expand_template(template.src_uri, source, self.runner)
        except Exception as exc:  # a bad pages_from query fails the build with its reason
            line = next(
                (
                    i + 1
                    for i, text in enumerate(source.split("\n"))
                    if text.startswith("pages_from:")
                ),
                None,
            )
            reason = str(exc) if isinstance(exc, SpecError) else f"{type(exc).__name__}: {exc}"
            raise ReportError(shown, line, f"pages_from: {reason}") from exc
        files.remove(template)
        self._templates[template.src_uri] = shown
        if template.src_uri == CUSTOMER_TEMPLATE:  # its key links from every table
            self._key_links = key_columns(self.runner, {template.src_uri: source})
        for page in pages:
            if files.get_file_from_path(page.src_uri) is not None:
                raise ReportError(shown, None, f"generated page {page.src_uri} already exists")
            generated = File.generated(config, page.src_uri, content=source)
            files.append(generated)
            self._generated[page.src_uri] = page
            self._links[(template.src_uri, str(page.value))] = generated

    # -- pages ------------------------------------------------------------------------------
    def on_page_markdown(
        self, markdown: str, page: Page, config: MkDocsConfig, files: Files
    ) -> str:
        assert self.runner is not None
        src_uri = page.file.src_uri
        generated = self._generated.get(src_uri)
        context = PageContext(
            source=(
                self._templates[generated.template_uri]
                if generated
                else page.file.abs_src_path or src_uri
            ),
            runner=self.runner,
            line_offset=_front_matter_lines(page.file.content_string, markdown),
            params=generated.params if generated else {},
            link_for=lambda template, value: self._link(page, template, value),
            key_links=self._key_links,
            download=lambda name, frame: self._download(page, name, frame),
            slug=_slug(src_uri),
            definition_url=self._definitions(page, files),
        )
        if generated and isinstance(page.meta.get("title"), str):
            try:
                title = substitute_text(page.meta["title"], context.params)
            except SpecError as exc:
                raise context.error(None, f"title: {exc}") from exc
            page.meta["title"] = html.escape(title)
            self._safe_titles.add(src_uri)
        rendered = render_page(markdown, context)
        self._slots[src_uri] = self._precompute(markdown, page, context, rendered)
        return rendered.markdown

    def _precompute(
        self, markdown: str, page: Page, context: PageContext, rendered: RenderedPage
    ) -> dict[int, str]:
        """The page's slots with every option of its first pre-computable input rendered
        (reports/inputs.py); other inputs stay for the served app."""
        chosen = next((i for i in rendered.inputs.values() if i.precomputed), None)
        if chosen is None or chosen.options is None:
            return rendered.slots
        variants = {}
        for number, option in enumerate(chosen.options):

            def download(name: str, frame: pd.DataFrame, n: int = number) -> str:
                return self._download(page, f"{name}{variant_marker(n)}", frame)

            variant = replace(
                context,
                chosen={chosen.name: option},
                inputs={},
                slug=f"{context.slug}{variant_marker(number)}",
                download=download,
            )
            variants[option] = render_page(markdown, variant).slots
        return merge_variants(
            rendered.slots,
            rendered.chosen.get(chosen.name),
            variants,
            chosen.name,
            rendered.input_slots,
        )

    def on_page_content(
        self, html_text: str, page: Page, config: MkDocsConfig, files: Files
    ) -> str:
        assert self.runner is not None
        src_uri = page.file.src_uri
        html_text = fill_slots(html_text, self._slots.pop(src_uri, {}))
        html_text += plotly_script(html_text, page.url)

        line = as_of_html(self.runner.as_of)
        match = _FIRST_H1.search(html_text)
        html_text = (
            html_text[: match.end()] + line + html_text[match.end() :]
            if match
            else line + html_text
        )
        if src_uri not in self._safe_titles:
            # Material prints page.meta.title unescaped: keep it as escaped plain text
            text = html.unescape(_TAG.sub("", page.title or ""))
            page.meta["title"] = html.escape(text)
        return html_text

    # -- links and downloads ----------------------------------------------------------------
    def _definitions(self, page: Page, files: Files) -> Any:
        """member -> its row in the Metric Catalogue, relative to `page` (None without one)."""
        catalogue = files.get_file_from_path(self.config.catalogue)
        if catalogue is None:
            return lambda member: None
        base = catalogue.url_relative_to(page.file)
        return lambda member: f"{base}#{member}"

    def _link(self, page: Page, template: str, value: Any) -> str | None:
        template = template.lstrip("/")
        if template not in self._templates:
            known = ", ".join(sorted(self._templates)) or "none"
            raise SpecError(f"table link: no templated page {template!r} (templates: {known})")
        target = self._links.get((template, str(value)))
        return None if target is None else target.url_relative_to(page.file)

    def _download(self, page: Page, name: str, frame: pd.DataFrame) -> str:
        relative = f"{DOWNLOAD_DIR}/{_slug(page.file.src_uri)}/{name}.csv"
        path = self._site_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        assert self.runner is not None
        path.write_text(_csv_text(csv_frame(frame, self.runner.title_of)), encoding="utf-8")
        return get_relative_url(relative, page.url)
