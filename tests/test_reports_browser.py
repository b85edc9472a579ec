"""The fixture site in headless Chromium: no console errors, charts drawn, tables sort/filter."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests.reports_support import EVIL_NAME, build_fixture_site, fixture_orders

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

#: per chart: traces, points across traces (non-empty heatmap cells), SVG marks drawn
CHART_STATE = """() => Array.from(document.querySelectorAll('figure.ci-chart')).map(f => {
  const gd = f.querySelector('.ci-plot');
  const points = (gd.data || []).reduce((n, t) => n + (t.type === 'heatmap'
      ? t.z.flat().filter(v => v !== null).length : t.x.length), 0);
  return {query: f.dataset.query, type: f.dataset.chartType, rows: Number(f.dataset.rows),
          drawn: f.dataset.drawn === 'true', traces: (gd.calcdata || []).length, points,
          marks: gd.querySelectorAll('.point, .js-line, .heatmaplayer image, path.js-fill')
                   .length};
})"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_fixture_site(tmp_path_factory.mktemp("browser"))


@pytest.fixture(scope="module")
def base_url(site: Path) -> Iterator[str]:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
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


def open_page(browser, url: str) -> tuple[object, list[str]]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.goto(url, wait_until="load")
    return page, problems


def site_pages(site: Path) -> list[str]:
    return sorted(str(p.relative_to(site)) for p in site.rglob("*.html") if p.name != "404.html")


def test_every_page_loads_draws_its_charts_and_is_screenshotted(
    site: Path, base_url: str, browser
) -> None:
    pages = site_pages(site)
    assert len(pages) == 6
    for name in pages:
        page, problems = open_page(browser, f"{base_url}/{name}")
        expected = page.locator("figure.ci-chart").count()
        page.wait_for_function(
            f"document.querySelectorAll('figure.ci-chart[data-drawn=true]').length === {expected}",
            timeout=15000,
        )
        for chart in page.evaluate(CHART_STATE):
            assert chart["traces"] >= 1 and chart["marks"] >= 1, (name, chart)
            assert chart["points"] == chart["rows"] > 0, (name, chart)
        shot = site / "screenshots" / (name.removesuffix(".html").replace("/", "__") + ".png")
        shot.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        assert problems == [], (name, problems)
        page.close()


def test_overview_has_all_five_chart_types(site: Path, base_url: str, browser) -> None:
    page, _ = open_page(browser, f"{base_url}/index.html")
    page.wait_for_selector("figure.ci-chart[data-drawn=true]")
    types = sorted(c["type"] for c in page.evaluate(CHART_STATE))
    assert types == ["area", "bar", "heatmap", "line", "scatter"]
    # the site's partial plotly.js bundle registers exactly the trace types these draw
    registered = page.evaluate("Object.keys(Plotly.PlotSchema.get().traces).sort()")
    assert registered == ["bar", "heatmap", "scatter"]
    drawn = page.evaluate("""Array.from(document.querySelectorAll('figure.ci-chart .ci-plot'))
                             .flatMap(gd => gd.data.map(trace => trace.type))""")
    assert set(drawn) == set(registered)
    page.close()


def _column(page, table, member: str) -> list[str]:
    index = table.locator("thead th").evaluate_all(
        f"(ths) => ths.findIndex(th => th.dataset.member === {member!r})"
    )
    return table.locator(f"tbody tr:not([hidden]) td:nth-child({index + 1})").all_inner_texts()


def test_table_sorts_by_value_and_filters_rows(base_url: str, browser) -> None:
    orders = fixture_orders()
    revenue = orders.groupby("customer_id")["revenue"].sum()
    page, problems = open_page(browser, f"{base_url}/index.html")
    table = page.locator("div.ci-table").filter(has=page.locator('th[data-member="sales.revenue"]'))
    header = table.locator('th[data-member="sales.revenue"]')
    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "ascending"
    assert _column(page, table, "sales.customer_id") == list(revenue.sort_values().index)
    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "descending"
    assert _column(page, table, "sales.customer_id") == list(
        revenue.sort_values(ascending=False).index
    )

    table.locator("input.ci-table-search").fill("enterprise")
    enterprise = orders[orders["segment"] == "Enterprise"]["customer_id"].nunique()
    assert table.locator("tbody tr:not([hidden])").count() == enterprise
    assert table.locator(".ci-table-count").inner_text() == (f"{enterprise} of {revenue.size} rows")
    table.locator("input.ci-table-search").fill("")
    assert table.locator("tbody tr:not([hidden])").count() == revenue.size
    assert problems == []
    page.close()


def test_hostile_customer_name_shows_as_text(base_url: str, browser) -> None:
    page, problems = open_page(browser, f"{base_url}/customers/C03.html")
    assert EVIL_NAME in page.locator("article").inner_text()
    assert page.title().startswith(f"Customer {EVIL_NAME}")
    page.goto(f"{base_url}/index.html")
    cells = page.locator("td").filter(has_text="alert(").all_inner_texts()
    assert cells == [EVIL_NAME]
    assert problems == []  # no alert dialog: the script never ran
    page.close()


def test_csv_download_link_serves_the_query_result(base_url: str, browser) -> None:
    page, _ = open_page(browser, f"{base_url}/index.html")
    with page.expect_download() as info:
        page.locator("a.ci-download").click()
    frame = pd.read_csv(info.value.path())
    assert len(frame) == fixture_orders()["customer_id"].nunique()
    page.close()
