"""The served report app in Chromium (`custintel serve`'s app on uvicorn, 127.0.0.1), on the
shared generated warehouse with its site built by the current code:

- Executive Overview: choose SMB in the segment dropdown; every KPI tile equals
  `custintel metrics query` for SMB (the CLI, a separate process); the URL carries the
  choice and a reload keeps it;
- clicking the Enterprise bar filters the page (a chip says so) and the chip clears it;
- the search box opens the Customer 360 of a customer who is not on the action list (no built
  page), rendered on demand;
- the static site keeps working with no server: the SMB choice shows pre-computed tiles equal
  to the same CLI figures.
"""

from __future__ import annotations

import functools
import http.server
import json
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from reports.serve.app import create_app, served_engine
from tests.serve_support import AUDIENCE, SECRET, running, token

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
#: KPI tile title -> (measure, time dimension, filters besides the segment) as the page asks
KPIS = {
    "Customers (status Active)": ("churn.customers", "churn.month",
                                             ["churn.is_complete_month equals true"]),
    "Revenue": ("revenue.revenue", "revenue.invoice_date", ["revenue.invoice_date set"]),
    "Orders": ("revenue.orders", "revenue.ordered_at", ["revenue.ordered_at set"]),
    "Average order value": ("revenue.aov", "revenue.ordered_at", ["revenue.ordered_at set"]),
    "At-risk rate (inactivity rule)": ("churn.at_risk_rate", "churn.month",
                                                  ["churn.is_complete_month equals true"]),
}
TILES = """() => Array.from(document.querySelectorAll('.ci-kpi')).filter(t => t.offsetParent)
  .map(t => [t.querySelector('.ci-kpi-title').textContent, Number(t.dataset.value)])"""


def cli_value(config: Path, role: str, measure: str, time: str, filters: list[str],
              segment: str | None) -> float:
    """The last month's value of `measure` for `segment` (None: every segment), from
    `custintel metrics query`."""
    view = measure.split(".", 1)[0]
    command = [sys.executable, "-m", "custintel", "metrics", "query", "-m", measure,
               "-t", f"{time}:month", "--role", role, "--format", "json"]
    if segment is not None:
        command += ["--filter", f"{view}.segment equals {segment}"]
    for item in filters:
        command += ["--filter", item]
    output = subprocess.run(command, check=True, capture_output=True, text=True,
                            env={"CUSTINTEL_CONFIG": str(config), "PATH": "/usr/bin:/bin"})
    rows = json.loads(output.stdout)
    rows.sort(key=lambda row: row[f"{time}.month"])
    return float(rows[-1][measure])


@pytest.fixture(scope="module")
def site(default_site) -> tuple[object, Path]:
    return default_site


@pytest.fixture(scope="module")
def served(generated_warehouse, site) -> Iterator[str]:
    """The app with the tests' token audience and secret: `_open` signs in as the site role."""
    settings, folder = site
    semantic = settings.semantic.model_copy(update={"token_audience": AUDIENCE})
    settings = settings.model_copy(update={"semantic": semantic})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CUBEJS_API_SECRET", SECRET)
        with running(create_app(settings, site_dir=folder,
                                engine=served_engine(settings))) as url:
            yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def _open(browser, url: str, claims: dict | None = None) -> tuple[object, list[str]]:
    """A new browser context on `url`; on the served app it signs in first (`claims`, default
    the site role) through /_app/login, as a user's link does."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    if url.startswith("http") and "/_app/" not in url and claims != {}:
        parts = urllib.parse.urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        sign_in = token(claims or {"role": "analyst"})
        page.goto(f"{parts.scheme}://{parts.netloc}/_app/login?" + urllib.parse.urlencode(
            {"token": sign_in, "next": target}))
    else:
        page.goto(url)
    return page, problems


def _settled(page, mode: str) -> None:
    page.wait_for_selector(f'body[data-ci-mode="{mode}"]', timeout=30000)
    if mode == "served":
        page.wait_for_function("document.body.dataset.ciLoading === 'false'", timeout=60000)


def _expected(generated_warehouse, role: str, segment: str | None) -> dict[str, float]:
    return {title: cli_value(generated_warehouse.config, role, *spec, segment)
            for title, spec in KPIS.items()}


def _check_tiles(page, expected: dict[str, float]) -> None:
    tiles = dict(page.evaluate(TILES))
    assert set(tiles) == set(expected)
    for title, value in expected.items():
        assert tiles[title] == pytest.approx(value, rel=1e-9, abs=1e-9), title


def test_segment_dropdown_kpis_url_and_reload(browser, served, site,
                                              generated_warehouse) -> None:
    settings, _ = site
    expected = _expected(generated_warehouse, settings.reports.site_role, "SMB")
    page, problems = _open(browser, f"{served}/executive-overview.html")
    _settled(page, "served")
    everyone = dict(page.evaluate(TILES))
    page.select_option('.ci-input[data-ci-input="segment"] select', "SMB")
    page.wait_for_function("(document.body.dataset.ciRendered || '').includes('segment=SMB')",
                           timeout=60000)
    _settled(page, "served")
    assert "segment=SMB" in page.url
    _check_tiles(page, expected)
    assert dict(page.evaluate(TILES)) != everyone
    page.reload()
    _settled(page, "served")
    assert page.eval_on_selector('.ci-input[data-ci-input="segment"] select',
                                 "s => s.value") == "SMB"
    _check_tiles(page, expected)
    assert problems == []


def test_enterprise_bar_cross_filters_and_chip_clears(browser, served, site,
                                                      generated_warehouse) -> None:
    settings, _ = site
    expected = _expected(generated_warehouse, settings.reports.site_role, "Enterprise")
    page, problems = _open(browser, f"{served}/executive-overview.html")
    _settled(page, "served")
    before = dict(page.evaluate(TILES))
    figure = 'figure.ci-chart[data-x="customer_health.segment"][data-drawn="true"]'
    page.wait_for_selector(f"{figure} .ci-plot[data-ci-click]", timeout=30000)
    page.evaluate(f"""() => {{
        const plot = document.querySelector('{figure} .ci-plot');
        const index = plot.data[0].x.indexOf('Enterprise');
        plot.emit('plotly_click', {{points: [{{x: 'Enterprise', pointIndex: index}}]}});
    }}""")
    page.wait_for_selector(".ci-filter-chip", timeout=30000)
    page.wait_for_function("(document.body.dataset.ciRendered || '').includes('xf=')",
                           timeout=60000)
    _settled(page, "served")
    assert "Enterprise" in page.inner_text(".ci-filter-chip")
    assert "xf=segment%3AEnterprise" in page.url
    _check_tiles(page, expected)
    page.click(".ci-filter-chip button")
    page.wait_for_function("!document.querySelector('.ci-filter-chip') && "
                           "!(document.body.dataset.ciRendered || '').includes('xf=')",
                           timeout=60000)
    _settled(page, "served")
    assert dict(page.evaluate(TILES)) == before and "xf=" not in page.url
    assert problems == []


def test_search_opens_a_customer_not_on_the_action_list(browser, served, site,
                                                       generated_warehouse) -> None:
    _, folder = site
    built = {path.stem for path in (folder / "customers").glob("*.html")}
    with duckdb.connect(str(generated_warehouse.settings.warehouse_path),
                        read_only=True) as con:
        ids = [row[0] for row in con.execute(
            "select customer_id from warehouse.dim_customer where is_current "
            "order by customer_id").fetchall()]
    target = next(customer for customer in ids if customer not in built)
    page, problems = _open(browser, f"{served}/index.html")
    _settled(page, "served")
    page.fill(".ci-customer-search input", target)
    link = page.wait_for_selector(f'.ci-customer-search a[href="/customers/{target}.html"]',
                                  timeout=30000)
    link.click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/customers/{target}.html")
    assert target in page.inner_text("article")
    assert page.query_selector("article .ci-kpi, article .ci-table, article figure")
    assert problems == []


def test_static_site_precomputes_the_segment_offline(browser, site,
                                                     generated_warehouse) -> None:
    settings, folder = site
    expected = _expected(generated_warehouse, settings.reports.site_role, "SMB")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/executive-overview.html?segment=SMB"
        page, _ = _open(browser, url, {})
        _settled(page, "static")
        _check_tiles(page, expected)
        page.select_option('.ci-input[data-ci-input="segment"] select', "")
        assert "segment=" not in page.url
    finally:
        server.shutdown()
        server.server_close()
    offline, problems = _open(browser, (folder / "executive-overview.html").as_uri())
    _settled(offline, "static")
    _check_tiles(offline, _expected(generated_warehouse, settings.reports.site_role, None))
    # Material's search worker cannot load its index from file:// (not this page's scripts)
    assert [p for p in problems if p.startswith("page error") and "search_index" not in p] == []
