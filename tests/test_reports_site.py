"""The project's report site, built from a small generated warehouse, in headless Chromium.

The session's shared generated warehouse (tests/site_support.py: 300 customers x 12 months,
hostile customer names, scored), rendered with `reports.site.build_site` as the executive role
(names in clear, so the hostile names reach the pages; the default analyst site is checked by
tests/test_reports_governance.py).
Expected values come from `semantic.load` on the page's own query text, or plain SQL on the
warehouse.
"""

from __future__ import annotations

import datetime as dt
import functools
import http.server
import math
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from custintel.core.settings import Settings
from reports.blocks import parse_markdown
from reports.inputs import queries_without_inputs
from reports.specs import KpiSpec, parse_spec
from tests.site_support import HOSTILE, site_for
from tests.test_reports_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser

PAGES = Path(__file__).resolve().parents[1] / "reports" / "pages"
ROLE = "executive"  # the role this module builds the site with (names in clear, hostile ones)
MAIN_PAGES = [
    "index",
    "executive-overview",
    "engagement-activity",
    "risk-revenue-prioritisation",
    "segmentation",
    "churn-model",
    "support-knowledge-base",
    "campaigns",
    "sales-pipeline",
    "data-quality",
    "metric-catalogue",
]

#: per chart: traces, points across traces (non-empty heatmap cells), points left out (series
#: of zeros, twin series), SVG marks drawn
CHART_STATE = """() => Array.from(document.querySelectorAll('figure.ci-chart')).map(f => {
  const gd = f.querySelector('.ci-plot');
  const points = (gd.data || []).reduce((n, t) => n + (t.type === 'heatmap'
      ? t.z.flat().filter(v => v !== null).length : t.x.length), 0);
  return {query: f.dataset.query, type: f.dataset.chartType, rows: Number(f.dataset.rows),
          leftOut: Number(f.dataset.pointsLeftOut || 0),
          drawn: f.dataset.drawn === 'true', traces: (gd.calcdata || []).length, points,
          marks: gd.querySelectorAll('.point, .js-line, .heatmaplayer image, path.js-fill')
                   .length};
})"""


@dataclass(frozen=True)
class BuiltSite:
    settings: Settings
    site: Path
    as_of: dt.date


@pytest.fixture(scope="session")
def built(generated_warehouse) -> BuiltSite:
    """The site of the shared generated warehouse (tests/site_support.py), built as ROLE."""
    settings, site = site_for(generated_warehouse, ROLE)
    return BuiltSite(settings, site, generated_warehouse.as_of)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's name)
        """No access log in the test output."""


@pytest.fixture(scope="module")
def base_url(built: BuiltSite) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(built.site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def watch(page) -> list[str]:
    """What goes wrong on a tab: console errors, script errors, dialogs (a script ran), failed
    or 4xx/5xx requests; a request aborted because the tab moved on (the browser's own favicon
    fetch, say) is not a problem of the next page."""
    problems: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.on(
        "requestfailed",
        lambda r: (
            None
            if r.failure == "net::ERR_ABORTED"
            else problems.append(f"request failed: {r.url} ({r.failure})")
        ),
    )
    page.on(
        "response",
        lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None,
    )
    return problems


def open_tab(browser, url: str) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = watch(page)
    page.goto(url, wait_until="load")
    return page, problems


def load(built: BuiltSite, query: dict[str, Any]) -> pd.DataFrame:
    import semantic

    return semantic.load(query, role=ROLE, settings=built.settings, as_of=built.as_of)


def page_queries(name: str) -> dict[str, dict[str, Any]]:
    """The governed queries of a page file, by name, as the page states them (no input
    chosen: the page's default view)."""
    return queries_without_inputs((PAGES / name).read_text())


def warehouse(built: BuiltSite, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(built.settings.warehouse_path), read_only=True) as con:
        return con.execute(sql).df()


def action_list_ids(built: BuiltSite) -> list[str]:
    """The action list's customers by plain SQL: at risk, highest 90-day revenue, top 50."""
    return warehouse(
        built,
        """
        select customer_id from marts.customer_360_view where is_at_risk
        order by revenue_90d_amount desc, customer_id limit 50""",
    )["customer_id"].tolist()


def test_site_has_every_page_a_page_per_segment_and_per_action_list_customer(
    built: BuiltSite,
) -> None:
    pages = {str(p.relative_to(built.site)) for p in built.site.rglob("*.html")}
    assert {f"{name}.html" for name in MAIN_PAGES} <= pages
    segments = warehouse(built, "select distinct customer_segment from marts.customer_360_view")
    assert {p for p in pages if p.startswith("segments/")} == {
        f"segments/{s}.html" for s in segments["customer_segment"]
    }
    ids = action_list_ids(built)
    assert 0 < len(ids) <= 50
    assert {p for p in pages if p.startswith("customers/")} == {f"customers/{i}.html" for i in ids}


#: a member id as the semantic layer names it (`customer_health.at_risk_rate`): readers never
#: see one outside the queries panel, the SQL blocks and the catalogue's Member column
def member_id_pattern() -> re.Pattern[str]:
    from semantic.api import model

    views = "|".join(sorted(model().views, key=len, reverse=True))
    return re.compile(rf"\b(?:{views})\.[a-z_][a-z0-9_]*\b")


#: what a reader sees on a page, besides the article text: chart titles, legends, trace names,
#: hover templates, table headers and KPI titles
READER_TEXT = """() => {
  const skip = 'details, code, script, .ci-queries';
  const walker = document.createTreeWalker(document.querySelector('article'),
                                           NodeFilter.SHOW_TEXT);
  const texts = [];  // every text node, on every page of a paged table too
  while (walker.nextNode()) {
    if (!walker.currentNode.parentElement.closest(skip)) texts.push(walker.currentNode.data);
  }
  document.querySelectorAll('article [title], article [aria-label]').forEach(e =>
    texts.push(e.getAttribute('title') || '', e.getAttribute('aria-label') || ''));
  document.querySelectorAll('figure.ci-chart .ci-plot').forEach(gd => {
    const layout = gd.layout || {};
    for (const key of Object.keys(layout)) {
      const axis = layout[key];
      if (key.match(/^[xy]axis/) && axis && axis.title) texts.push(axis.title.text || '');
    }
    if (layout.legend && layout.legend.title) texts.push(layout.legend.title.text || '');
    (gd.data || []).forEach(t => texts.push(t.name || '', t.hovertemplate || '',
        (t.colorbar && t.colorbar.title && t.colorbar.title.text) || ''));
  });
  return texts;
}"""

#: every coloured value on the page: (legend or axis title, value, colour)
VALUE_COLOURS = """() => Array.from(document.querySelectorAll('figure.ci-chart .ci-plot'))
  .flatMap(gd => {
    const legend = (gd.layout.legend && gd.layout.legend.title && gd.layout.legend.title.text)
      || '';
    const xTitle = (gd.layout.xaxis && gd.layout.xaxis.title && gd.layout.xaxis.title.text)
      || '';
    return (gd._fullData || []).flatMap(t => {
      const color = (t.marker && t.marker.color) || (t.line && t.line.color);
      if (Array.isArray(color)) return t.x.map((x, i) => [xTitle, String(x), color[i]]);
      return legend ? [[legend, t.name, color]] : [];
    });
  })"""

TILE_ROWS = """() => Array.from(document.querySelectorAll('.ci-kpi-row')).map(row =>
  new Set(Array.from(row.querySelectorAll('.ci-kpi')).map(t => t.getBoundingClientRect().top))
    .size)"""

AXE_SERIOUS = """() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations
  .filter(v => v.impact === 'serious' || v.impact === 'critical')
  .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', ')))"""


def _palette_titles() -> dict[str, dict[str, str]]:
    """Legend / axis title -> value -> theme colour, for every palette's members."""
    from reports.theme import palettes
    from semantic import catalog

    found: dict[str, dict[str, str]] = {}
    for entry in catalog():
        palette = palettes().get(entry.name.split(".", 1)[1])
        if palette is not None and entry.title:
            found[entry.title] = palette.colors
    return found


def test_every_page_reads_without_help_at_1440_and_390_px(
    built: BuiltSite, base_url: str, browser
) -> None:
    """Every page: loads without a problem, draws each chart with its rows, KPI tiles on one
    line at 1440 px, no horizontal scroll at 390 px, no member id where a reader looks, no
    serious or critical axe-core violation; one colour per value across the site; screenshots
    at both widths kept under <site>/screenshots/."""
    from tests.reports_support import axe_script

    axe = axe_script().read_text()
    ids = member_id_pattern()
    names = sorted(
        str(p.relative_to(built.site)) for p in built.site.rglob("*.html") if p.name != "404.html"
    )
    shots = built.site / "screenshots"
    shots.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1440, "height": 900})  # one tab: assets cached
    problems = watch(page)
    colours: dict[tuple[str, str], set[str]] = {}
    for name in names:
        problems.clear()
        page.set_viewport_size({"width": 1440, "height": 900})
        page.goto(f"{base_url}/{name}", wait_until="load")
        expected = page.locator("figure.ci-chart").count()
        page.wait_for_function(
            f"document.querySelectorAll('figure.ci-chart[data-drawn=true]').length === {expected}",
            timeout=30000,
        )
        for chart in page.evaluate(CHART_STATE):
            assert chart["rows"] > 0 and chart["traces"] >= 1 and chart["marks"] >= 1, (name, chart)
            if chart["type"] == "heatmap":
                assert 0 < chart["points"] <= chart["rows"], (name, chart)
            else:  # one point per row and y column, but for series of zeros / twins
                drawn = chart["points"] + chart["leftOut"]
                assert drawn % chart["rows"] == 0 and chart["points"] > 0, (name, chart)
        assert "Data as of" in page.locator("article").inner_text(), name
        assert all(lines == 1 for lines in page.evaluate(TILE_ROWS)), (name, "tiles wrap")
        shown = [text for text in page.evaluate(READER_TEXT) if ids.search(text)]
        assert shown == [], (name, [ids.findall(text)[:5] for text in shown])
        for title, value, colour in page.evaluate(VALUE_COLOURS):
            colours.setdefault((title, value), set()).add(str(colour).lower())
        page.add_script_tag(content=axe)
        assert page.evaluate(AXE_SERIOUS) == [], name
        stem = name.removesuffix(".html").replace("/", "__")
        page.screenshot(path=str(shots / f"{stem}-1440.png"), full_page=True)

        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_timeout(150)  # Plotly's responsive resize
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (name, "scrolls sideways at 390 px", width)
        page.screenshot(path=str(shots / f"{stem}-390.png"), full_page=True)
        assert problems == [], (name, problems)
    page.close()
    print(f"screenshots: {shots}")
    assert len(list(shots.glob("*.png"))) == 2 * len(names)

    palette_titles = _palette_titles()
    checked = 0
    for (title, value), seen in colours.items():
        theme = palette_titles.get(title, {})
        if value in theme:
            assert seen == {theme[value].lower()}, (title, value, seen)
            checked += 1
    assert checked >= 8  # segments, behavioural segments, tiers, bands ... were all checked


FIRST_VISIT_LIMIT = 2_000_000


def _plotly_bundle(path: Path) -> str:
    found = re.findall(r'src="[^"]*assets/custintel/(plotly[^"]*\.js)"', path.read_text())
    assert len(found) <= 1, path
    return found[0] if found else "no charts"


def test_first_visit_of_the_heaviest_pages_is_under_2_mb(
    built: BuiltSite, base_url: str, browser
) -> None:
    """Bytes a first visit downloads (empty cache), on the largest page of each kind: pages
    load the same assets but for plotly.js (the site's partial bundle with charts, none
    without), so these pages bound the others."""
    heaviest: dict[str, Path] = {}
    for path in built.site.rglob("*.html"):
        kind = _plotly_bundle(path)
        if path.name != "404.html" and (
            kind not in heaviest or path.stat().st_size > heaviest[kind].stat().st_size
        ):
            heaviest[kind] = path
    assert set(heaviest) == {"plotly.min.js", "no charts"}
    for kind, path in sorted(heaviest.items()):
        context = browser.new_context()
        page = context.new_page()
        sizes: dict[str, int] = {}

        def record(request: Any, sizes: dict[str, int] = sizes) -> None:
            sizes[request.url] = request.sizes()["responseBodySize"]

        page.on("requestfinished", record)
        page.goto(f"{base_url}/{path.relative_to(built.site)}", wait_until="networkidle")
        # the test server sends files as they are (no compression): a file's bytes on disk
        # are its bytes on the wire (a worker's request reports no body size)
        on_disk = {
            url: (built.site / url.removeprefix(base_url + "/")).stat().st_size for url in sizes
        }
        assert all(sizes[url] in (0, size) for url, size in on_disk.items()), sizes
        # Material's search worker fetches the index on every first visit, sometimes after
        # the network went idle: counted either way
        on_disk[f"{base_url}/search/search_index.json"] = (
            (built.site / "search" / "search_index.json").stat().st_size
        )
        total = sum(on_disk.values())
        plotly = [u.rsplit("/", 1)[1] for u in sizes if "/plotly" in u]
        assert plotly == ([] if kind == "no charts" else [kind]), (path.name, plotly)
        assert total < FIRST_VISIT_LIMIT, (path.name, total, sorted(sizes.items()))
        print(f"first visit of {path.relative_to(built.site)} ({kind}): {total:,} bytes")
        context.close()


def test_two_builds_from_the_same_warehouse_are_byte_identical(
    built: BuiltSite, tmp_path: Path
) -> None:
    from reports.site import build_site

    again = build_site(built.settings, site_dir=tmp_path / "again")
    first = {
        p.relative_to(built.site): p
        for p in built.site.rglob("*")
        if p.is_file() and "screenshots" not in p.parts
    }
    second = {p.relative_to(again): p for p in again.rglob("*") if p.is_file()}
    assert sorted(first) == sorted(second)
    contents = {
        name: (path.read_bytes(), second[name].read_bytes()) for name, path in first.items()
    }
    different = {
        str(name): _first_difference(*pair) for name, pair in contents.items() if pair[0] != pair[1]
    }
    assert different == {}


def _first_difference(first: bytes, second: bytes, context: int = 160) -> tuple[str, str]:
    """The two files' text around their first differing byte (what a failure must show to be
    diagnosed: a value, an order, a colour)."""
    offset = len(os.path.commonprefix([first, second]))
    start = max(0, offset - context)
    return (
        first[start : offset + context].decode(errors="replace"),
        second[start : offset + context].decode(errors="replace"),
    )


def _shown_number(text: str) -> tuple[float, float]:
    """A KPI's display text as a number and half its last digit's unit ($1.2K -> 1200, 50)."""
    match = re.fullmatch(r"(-?)\$?([\d,]+(?:\.(\d+))?)([KMB]?)(%?)", text.strip())
    assert match, text
    scale = {"": 1, "K": 1e3, "M": 1e6, "B": 1e9}[match[4]] / (100 if match[5] else 1)
    number = float(match[2].replace(",", "")) * scale * (-1 if match[1] else 1)
    return number, 0.5 * 10 ** -len(match[3] or "") * scale


def test_executive_kpis_equal_the_semantic_layer(built: BuiltSite, base_url: str, browser) -> None:
    parsed = parse_markdown((PAGES / "executive-overview.md").read_text())
    queries = page_queries("executive-overview.md")
    specs = [parse_spec("kpi", b.body) for b in parsed.blocks if b.kind == "kpi"]
    page, problems = open_tab(browser, f"{base_url}/executive-overview.html")
    tiles = page.locator("div.ci-kpi:visible")  # the segment input's variants are hidden
    assert tiles.count() == len(specs) == 5
    for index, spec in enumerate(specs):
        assert isinstance(spec, KpiSpec)
        frame = load(built, queries[spec.data])
        time = next(c for c in frame.columns if c.endswith(".month"))
        frame = frame.dropna(subset=[time]).sort_values(time)
        current, previous = frame[spec.value].iloc[-1], frame[spec.value].iloc[-2]
        tile = tiles.nth(index)
        assert float(tile.get_attribute("data-value")) == pytest.approx(float(current))
        assert float(tile.get_attribute("data-previous")) == pytest.approx(float(previous))
        shown, tolerance = _shown_number(tile.locator(".ci-kpi-value").inner_text())
        assert math.isclose(shown, float(current), abs_tol=tolerance + 1e-9), (spec.title, shown)
        assert tile.locator(".ci-kpi-period").inner_text() == f"{frame[time].iloc[-1]:%Y-%m}"
    assert problems == []
    page.close()


def _column(table, member: str) -> list[str]:
    """A column's cells in every row the search keeps, on all pages of the table."""
    index = table.locator("thead th").evaluate_all(
        f"(ths) => ths.findIndex(th => th.dataset.member === {member!r})"
    )
    assert index >= 0, member
    return table.locator(
        f'tbody tr:not([data-match="no"]) td:nth-child({index + 1})'
    ).all_inner_texts()


def test_action_table_sorts_filters_links_and_downloads(
    built: BuiltSite, base_url: str, browser
) -> None:
    frame = load(built, page_queries("risk-revenue-prioritisation.md")["action_list"])
    ids = "customer_health.customer_id"
    revenue = "customer_health.revenue_90d_amount"
    assert frame[ids].tolist() == action_list_ids(built)
    page, problems = open_tab(browser, f"{base_url}/risk-revenue-prioritisation.html")
    # the action list shown (its tier variants are hidden; the search table has revenue too)
    table = page.locator("div.ci-table:visible").filter(
        has=page.locator('th[data-member="customer_health.churn_action_1"]')
    )
    assert _column(table, ids) == frame[ids].tolist()

    header = table.locator(f'th[data-member="{revenue}"]')
    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "ascending"
    assert _column(table, ids) == frame.sort_values(revenue, kind="stable")[ids].tolist()
    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "descending"
    assert (
        _column(table, ids)
        == frame.sort_values(revenue, ascending=False, kind="stable")[ids].tolist()
    )

    needle = frame["customer_health.segment"].iloc[-1].lower()
    text = frame.select_dtypes(include="object").astype(str).apply(lambda c: c.str.lower())
    expected = int(text.apply(lambda c: c.str.contains(needle, regex=False)).any(axis=1).sum())
    table.locator("input.ci-table-search").fill(needle)
    assert table.locator('tbody tr[data-match="yes"]').count() == expected
    assert table.locator("tbody tr:not([hidden])").count() == min(expected, 25)  # one page
    shown = f"{expected} of {len(frame)} rows" if expected < len(frame) else f"{expected} rows"
    assert table.locator(".ci-table-count").inner_text() == shown
    table.locator("input.ci-table-search").fill(frame[ids].iloc[0])
    assert _column(table, ids) == [frame[ids].iloc[0]]
    table.locator("input.ci-table-search").fill("")

    links = table.locator("tbody td a").evaluate_all("(as) => as.map(a => a.href)")
    assert links == [f"{base_url}/customers/{i}.html" for i in frame[ids]]
    with page.expect_download() as info:
        table.locator("a.ci-download").click()
    downloaded = pd.read_csv(info.value.path())
    # a reader's CSV: columns by title, no member id
    assert not [c for c in downloaded.columns if member_id_pattern().search(c)]
    assert downloaded["Customer ID"].tolist() == frame[ids].tolist()
    assert downloaded["Revenue, last 90 days"].tolist() == pytest.approx(frame[revenue].tolist())
    assert problems == []
    page.close()


def test_hostile_customer_names_render_as_text(built: BuiltSite, base_url: str, browser) -> None:
    names = warehouse(built, "select customer_id, customer_name from marts.customer_360_view")
    name_of = dict(zip(names["customer_id"], names["customer_name"], strict=True))
    ids = action_list_ids(built)
    assert all(name_of[i].endswith(HOSTILE) for i in ids)
    page, problems = open_tab(browser, f"{base_url}/risk-revenue-prioritisation.html")
    table = page.locator("div.ci-table").first
    assert _column(table, "customer_health.full_name") == [name_of[i] for i in ids]
    for customer in ids[:3]:
        page.goto(f"{base_url}/customers/{customer}.html")
        assert (
            page.locator("article h1").inner_text().startswith(f"Customer 360: {name_of[customer]}")
        )
        assert page.title().startswith(f"Customer 360: {name_of[customer]}")
    executable = page.evaluate("""() => Array.from(document.scripts)
        .filter(s => s.type !== 'application/json' && s.textContent.includes('alert(')).length""")
    assert executable == 0
    assert problems == []  # no alert dialog: no script ran
    page.close()


USAGE_TRACES = """() => Array.from(document.querySelectorAll('figure.ci-chart'))
  .filter(f => f.dataset.query === 'usage_history')
  .flatMap(f => f.querySelector('.ci-plot').data.map(t => ({name: t.name, x: t.x, y: t.y})))"""


def test_customer_360_shows_the_customers_services_and_usage_history(
    built: BuiltSite, base_url: str, browser
) -> None:
    customer = action_list_ids(built)[0]
    services = warehouse(
        built,
        f"""
        select s.service_name, a.monthly_charge_amount
        from warehouse.fact_service_assignment a join warehouse.dim_service s using (service_id)
        where a.customer_id = '{customer}'
        order by a.is_active desc, a.start_date desc, s.service_name""",
    )
    usage = warehouse(
        built,
        f"""
        select strftime(date_trunc('month', usage_date), '%Y-%m') as month,
               sum(data_volume_mb) as data_volume_mb, sum(outage_minutes) as outage_minutes
        from warehouse.fact_network_usage where customer_id = '{customer}'
        group by all order by month""",
    )
    assert len(services) > 0 and len(usage) > 0
    page, problems = open_tab(browser, f"{base_url}/customers/{customer}.html")
    table = page.locator("div.ci-table").filter(
        has=page.locator('th[data-member="subscriptions.service_name"]')
    )
    assert _column(table, "subscriptions.service_name") == services["service_name"].tolist()
    charges = [
        float(text.replace("$", "").replace(",", ""))
        for text in _column(table, "subscriptions.monthly_charge_amount")
    ]
    # currency shows cents below $1,000 and whole dollars from there
    assert charges == pytest.approx(services["monthly_charge_amount"].tolist(), abs=0.5)
    page.wait_for_function(
        "document.querySelectorAll('figure.ci-chart:not([data-drawn=true])').length === 0"
    )
    traces = {t["name"]: t for t in page.evaluate(USAGE_TRACES)}
    data = traces["Data volume (MB)"]
    assert [x[:7] for x in data["x"]] == usage["month"].tolist()
    assert data["y"] == pytest.approx(usage["data_volume_mb"].tolist())
    if usage["outage_minutes"].eq(0).all():  # no outage: said in words, not a line at 0
        minutes = page.locator("figure").filter(has_text="Voice and outage minutes by month")
        assert "Outage minutes" in minutes.inner_text()
        assert "Outage minutes" not in traces
    else:
        assert traces["Outage minutes"]["y"] == pytest.approx(usage["outage_minutes"].tolist())
    assert problems == []
    page.close()


#: at print time (the print media query has just turned on): the page's width, each chart's
#: drawing width and each data table's width
PRINT_WIDTHS = """() => matchMedia('print').addEventListener('change', query => {
  if (!query.matches) return;
  const charts = 'figure.ci-chart svg.main-svg:first-child';
  window.printed = {
    page: document.documentElement.getBoundingClientRect().width,
    charts: Array.from(document.querySelectorAll(charts)).map(svg => svg.width.baseVal.value),
    tables: Array.from(document.querySelectorAll('table.ci-data'))
      .map(t => t.getBoundingClientRect().right)};
}, {once: true})"""


def test_pages_print_on_a4_landscape_with_no_chart_wider_than_the_paper(
    built: BuiltSite, base_url: str, browser
) -> None:
    """Printing a page to PDF (A4 landscape, the site's @page rule): every chart is redrawn at
    the paper's width and no chart or table is wider than the printed page (a chart drawn for
    the 1440 px screen would be cut off at the right margin)."""
    customer = action_list_ids(built)[0]
    wider_on_screen: list[float] = []  # charts the print had to redraw narrower
    for name in ["engagement-activity", "risk-revenue-prioritisation", f"customers/{customer}"]:
        page, problems = open_tab(browser, f"{base_url}/{name}.html")
        page.set_viewport_size({"width": 1440, "height": 900})
        page.wait_for_function(
            "document.querySelectorAll('figure.ci-chart:not([data-drawn=true])').length === 0"
        )
        screen = page.evaluate(
            "Array.from(document.querySelectorAll('figure.ci-chart "
            "svg.main-svg:first-child')).map(s => s.width.baseVal.value)"
        )
        page.evaluate(PRINT_WIDTHS)
        pdf = page.pdf(
            format="A4", landscape=True, prefer_css_page_size=True, print_background=True
        )
        printed = page.evaluate("window.printed")
        assert pdf.startswith(b"%PDF")
        boxes = {
            tuple(round(float(v)) for v in box.split())
            for box in re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+ [\d.]+)\s*\]", pdf)
        }
        assert boxes == {(842, 595)}, (name, boxes)  # A4 landscape in points, every page
        paper = printed["page"]
        assert 1000 < paper < 1040, (name, paper)  # 297 mm - 2 x 12 mm margins at 96 px/inch
        assert len(printed["charts"]) == len(screen) > 0, name
        wider_on_screen += [width for width in screen if width > paper]
        assert all(width <= paper + 0.5 for width in printed["charts"]), (name, printed)
        assert all(right <= paper + 0.5 for right in printed["tables"]), (name, printed)
        assert problems == [], (name, problems)
        page.close()
    assert wider_on_screen, "no chart was wider on screen than the paper: the test shows nothing"


def test_action_list_reads_at_1440_px_without_a_sideways_scroll(
    built: BuiltSite, base_url: str, browser
) -> None:
    """The action list at 1440 px: the navigation leaves the content most of the window, every
    column fits (no scroll box), the reasons are sentences wrapped in their cell, and each
    customer's playbook action sits beside them."""
    frame = load(built, page_queries("risk-revenue-prioritisation.md")["action_list"])
    page, problems = open_tab(browser, f"{base_url}/risk-revenue-prioritisation.html")
    page.set_viewport_size({"width": 1440, "height": 900})
    content = page.evaluate("document.querySelector('.md-content').getBoundingClientRect().width")
    assert content >= 1100, content
    scroll = page.locator("div.ci-table .ci-table-scroll").first
    assert scroll.evaluate("e => e.scrollWidth <= e.clientWidth"), "the table scrolls sideways"
    table = page.locator("div.ci-table").first
    headers = table.locator("th").evaluate_all("(hs) => hs.map(h => h.textContent)")
    assert len(headers) <= 11 and "Churn reasons" in headers and "Playbook action" in headers
    reasons = _column(table, "customer_health.churn_reasons")
    expected = frame["customer_health.churn_reasons"].fillna("–").tolist()
    assert reasons == expected
    assert not [r for r in reasons if "_" in r or " = " in r]  # sentences, not feature = value
    assert problems == []
    page.close()
