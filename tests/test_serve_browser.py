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
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: KPI tile title -> (measure, time dimension, filters besides the segment) as the page asks
KPIS = {
    "Customers (status Active)": (
        "churn.customers",
        "churn.month",
        ["churn.is_complete_month equals true"],
    ),
    "Revenue": ("revenue.revenue", "revenue.invoice_date", ["revenue.invoice_date set"]),
    "Orders": ("revenue.orders", "revenue.ordered_at", ["revenue.ordered_at set"]),
    "Average order value": ("revenue.aov", "revenue.ordered_at", ["revenue.ordered_at set"]),
    "At-risk rate (inactivity rule)": (
        "churn.at_risk_rate",
        "churn.month",
        ["churn.is_complete_month equals true"],
    ),
}
TILES = """() => Array.from(document.querySelectorAll('.ci-kpi')).filter(t => t.offsetParent)
  .map(t => [t.querySelector('.ci-kpi-title').textContent, Number(t.dataset.value)])"""


def cli_value(
    config: Path, role: str, measure: str, time: str, filters: list[str], segment: str | None
) -> float:
    """The last month's value of `measure` for `segment` (None: every segment), from
    `custintel metrics query`."""
    view = measure.split(".", 1)[0]
    command = [
        sys.executable,
        "-m",
        "custintel",
        "metrics",
        "query",
        "-m",
        measure,
        "-t",
        f"{time}:month",
        "--role",
        role,
        "--format",
        "json",
    ]
    if segment is not None:
        command += ["--filter", f"{view}.segment equals {segment}"]
    for item in filters:
        command += ["--filter", item]
    output = subprocess.run(
        command,
        check=True,
        capture_output=True,
        text=True,
        env={"CUSTINTEL_CONFIG": str(config), "PATH": "/usr/bin:/bin"},
    )
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
        with running(create_app(settings, site_dir=folder, engine=served_engine(settings))) as url:
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
        page.goto(
            f"{parts.scheme}://{parts.netloc}/_app/login?"
            + urllib.parse.urlencode({"token": sign_in, "next": target})
        )
    else:
        page.goto(url)
    return page, problems


def _settled(page, mode: str) -> None:
    page.wait_for_selector(f'body[data-ci-mode="{mode}"]', timeout=30000)
    if mode == "served":
        page.wait_for_function("document.body.dataset.ciLoading === 'false'", timeout=60000)


def _expected(generated_warehouse, role: str, segment: str | None) -> dict[str, float]:
    return {
        title: cli_value(generated_warehouse.config, role, *spec, segment)
        for title, spec in KPIS.items()
    }


def _check_tiles(page, expected: dict[str, float]) -> None:
    tiles = dict(page.evaluate(TILES))
    assert set(tiles) == set(expected)
    for title, value in expected.items():
        assert tiles[title] == pytest.approx(value, rel=1e-9, abs=1e-9), title


def test_segment_dropdown_kpis_url_and_reload(browser, served, site, generated_warehouse) -> None:
    settings, _ = site
    expected = _expected(generated_warehouse, settings.reports.site_role, "SMB")
    page, problems = _open(browser, f"{served}/executive-overview.html")
    _settled(page, "served")
    everyone = dict(page.evaluate(TILES))
    page.select_option('.ci-input[data-ci-input="segment"] select', "SMB")
    page.wait_for_function(
        "(document.body.dataset.ciRendered || '').includes('segment=SMB')", timeout=60000
    )
    _settled(page, "served")
    assert "segment=SMB" in page.url
    _check_tiles(page, expected)
    assert dict(page.evaluate(TILES)) != everyone
    page.reload()
    _settled(page, "served")
    assert (
        page.eval_on_selector('.ci-input[data-ci-input="segment"] select', "s => s.value") == "SMB"
    )
    _check_tiles(page, expected)
    assert problems == []


def test_enterprise_bar_cross_filters_and_chip_clears(
    browser, served, site, generated_warehouse
) -> None:
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
    page.wait_for_function(
        "(document.body.dataset.ciRendered || '').includes('xf=')", timeout=60000
    )
    _settled(page, "served")
    assert "Enterprise" in page.inner_text(".ci-filter-chip")
    assert "xf=segment%3AEnterprise" in page.url
    _check_tiles(page, expected)
    page.click(".ci-filter-chip button")
    page.wait_for_function(
        "!document.querySelector('.ci-filter-chip') && "
        "!(document.body.dataset.ciRendered || '').includes('xf=')",
        timeout=60000,
    )
    _settled(page, "served")
    assert dict(page.evaluate(TILES)) == before and "xf=" not in page.url
    assert problems == []


def test_search_opens_a_customer_not_on_the_action_list(
    browser, served, site, generated_warehouse
) -> None:
    _, folder = site
    built = {path.stem for path in (folder / "customers").glob("*.html")}
    with duckdb.connect(str(generated_warehouse.settings.warehouse_path), read_only=True) as con:
        ids = [
            row[0]
            for row in con.execute(
                "select customer_id from warehouse.dim_customer where is_current "
                "order by customer_id"
            ).fetchall()
        ]
    target = next(customer for customer in ids if customer not in built)
    page, problems = _open(browser, f"{served}/index.html")
    _settled(page, "served")
    page.fill(".ci-customer-search input", target)
    link = page.wait_for_selector(
        f'.ci-customer-search a[href="/customers/{target}.html"]', timeout=30000
    )
    link.click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/customers/{target}.html")
    assert target in page.inner_text("article")
    assert page.query_selector("article .ci-kpi, article .ci-table, article figure")
    assert problems == []


def test_static_site_precomputes_the_segment_offline(browser, site, generated_warehouse) -> None:
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


# ---------------------------------------------------------------- every input type, served
ROLE = "analyst"  # the configured site role the tests sign in as
ACTIVITY = ["engagement.active_customers", "engagement.active_rate", "engagement.arpu"]
ACTIVITY_TITLES = {
    "engagement.active_customers": "Active customers (30 days)",
    "engagement.active_rate": "Active rate",
    "engagement.arpu": "Revenue per active customer",
}
ACTION_TABLE = "table.ci-data:has(th[data-member='customer_health.churn_action_1'])"
SEARCH_TABLE = "table.ci-data:has(th[data-member='customer_health.status'])"


def _load(generated_warehouse, query: dict) -> object:
    """`semantic.api.load` as the site role: the figure the page must show."""
    from semantic import load

    return load(
        query, role=ROLE, settings=generated_warehouse.settings, as_of=generated_warehouse.as_of
    )


def _rendered(page, fragment: str) -> None:
    page.wait_for_function(
        f"(document.body.dataset.ciRendered || '').includes({json.dumps(fragment)})", timeout=60000
    )
    _settled(page, "served")


def _table_ids(page, table: str) -> list[str]:
    """The customer ids of a table, every page of it (its paging is client-side)."""
    return page.evaluate(f"""() => Array.from(document.querySelectorAll(
        "{table} tbody tr")).map(r => r.cells[0].textContent.trim())""")


def test_date_range_and_segment_multiselect_requery(browser, served, generated_warehouse) -> None:
    with duckdb.connect(str(generated_warehouse.settings.warehouse_path), read_only=True) as con:
        segments = [
            row[0]
            for row in con.execute(
                "select distinct customer_segment from marts.customer_360_view order by 1"
            ).fetchall()
        ]
    chosen = segments[:2]
    period = ("2024-03-01", "2024-06-30")
    frame = _load(
        generated_warehouse,
        {
            "measures": ACTIVITY,
            "timeDimensions": [
                {"dimension": "engagement.month", "granularity": "month", "dateRange": list(period)}
            ],
            "filters": [
                {
                    "member": "engagement.is_complete_month",
                    "operator": "equals",
                    "values": ["true"],
                },
                {"member": "engagement.segment", "operator": "equals", "values": chosen},
            ],
            "order": {"engagement.month.month": "asc"},
        },
    )
    expected = {ACTIVITY_TITLES[m]: float(frame[m].iloc[-1]) for m in ACTIVITY}
    page, problems = _open(browser, f"{served}/engagement-activity.html")
    _settled(page, "served")
    before = dict(page.evaluate(TILES))
    page.select_option('.ci-input[data-ci-input="segments"] select', chosen)
    page.fill('.ci-input[data-ci-input="period"] input[name="period-from"]', period[0])
    page.fill('.ci-input[data-ci-input="period"] input[name="period-to"]', period[1])
    page.dispatch_event('.ci-input[data-ci-input="period"] input[name="period-to"]', "change")
    _rendered(page, "period=2024-03-01%2C2024-06-30")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query)
    assert query["period"] == [",".join(period)] and query["segments"] == [",".join(chosen)]
    tiles = dict(page.evaluate(TILES))
    assert tiles != before
    for title, value in expected.items():
        assert tiles[title] == pytest.approx(value, rel=1e-9), title
    page.reload()
    _settled(page, "served")
    assert dict(page.evaluate(TILES)) == tiles
    assert page.eval_on_selector('input[name="period-from"]', "i => i.value") == period[0]
    assert (
        page.eval_on_selector_all(
            '.ci-input[data-ci-input="segments"] option:checked', "os => os.map(o => o.value)"
        )
        == chosen
    )
    assert problems == []


def _gold_at_risk(generated_warehouse) -> list[str]:
    """The action list's customers of the Gold tier, by `semantic.api.load`."""
    query = {
        "dimensions": ["customer_health.customer_id", "customer_health.revenue_90d_amount"],
        "filters": [
            {"member": "customer_health.is_at_risk", "operator": "equals", "values": ["true"]},
            {"member": "customer_health.tier", "operator": "equals", "values": ["Gold"]},
        ],
        "order": {
            "customer_health.revenue_90d_amount": "desc",
            "customer_health.customer_id": "asc",
        },
        "limit": 50,
    }
    return [str(v) for v in _load(generated_warehouse, query)["customer_health.customer_id"]]


def test_tier_buttons_filter_the_action_list(browser, served, generated_warehouse) -> None:
    expected = _gold_at_risk(generated_warehouse)
    assert expected, "the generated warehouse has at-risk Gold customers"
    page, problems = _open(browser, f"{served}/risk-revenue-prioritisation.html")
    _settled(page, "served")
    everyone = _table_ids(page, ACTION_TABLE)
    page.click('.ci-input[data-ci-input="tier"] button[data-value="Gold"]')
    _rendered(page, "tier=Gold")
    assert "tier=Gold" in page.url
    assert (
        page.get_attribute(
            '.ci-input[data-ci-input="tier"] button[data-value="Gold"]', "aria-pressed"
        )
        == "true"
    )
    assert sorted(_table_ids(page, ACTION_TABLE)) == sorted(expected) != sorted(everyone)
    page.reload()
    _settled(page, "served")
    assert sorted(_table_ids(page, ACTION_TABLE)) == sorted(expected)
    assert problems == []


def test_text_input_searches_customers_and_every_id_links(
    browser, served, generated_warehouse
) -> None:
    with duckdb.connect(str(generated_warehouse.settings.warehouse_path), read_only=True) as con:
        ids = [
            row[0]
            for row in con.execute(
                "select customer_id from marts.customer_360_view order by 1"
            ).fetchall()
        ]
    fragment = ids[7][-3:]
    expected = sorted(i for i in ids if fragment.lower() in i.lower())
    assert 0 < len(expected) <= 25
    page, problems = _open(browser, f"{served}/risk-revenue-prioritisation.html")
    _settled(page, "served")
    page.fill('.ci-input[data-ci-input="customer"] input', fragment)
    _rendered(page, f"customer={fragment}")
    assert f"customer={fragment}" in page.url
    assert sorted(_table_ids(page, SEARCH_TABLE)) == expected
    # the search table has no `link:`: the customer-id column links from the model
    links = page.eval_on_selector_all(
        f"{SEARCH_TABLE} tbody tr td:first-child a", "as => as.map(a => a.getAttribute('href'))"
    )
    assert sorted(links) == [f"/customers/{i}.html" for i in expected]
    page.reload()
    _settled(page, "served")
    assert (
        page.eval_on_selector('.ci-input[data-ci-input="customer"] input', "i => i.value")
        == fragment
    )
    assert sorted(_table_ids(page, SEARCH_TABLE)) == expected
    page.click(f'{SEARCH_TABLE} a[href="/customers/{expected[0]}.html"]')
    page.wait_for_url(f"**/customers/{expected[0]}.html")
    assert expected[0] in page.inner_text("article")
    assert problems == []


HUGE = "A" * 20000


@pytest.mark.parametrize(
    "path, text",
    [
        (
            "/risk-revenue-prioritisation.html?customer=%27%3B%20drop%20table%20customers%3B%20--",
            "No customer matches.",
        ),
        (
            "/risk-revenue-prioritisation.html?customer=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
            "No customer matches.",
        ),
        (f"/risk-revenue-prioritisation.html?customer={HUGE}", "No customer matches."),
        (
            "/executive-overview.html?segment=%27%3B%20drop%20table%20x%3B%20--",
            "is not one of its options",
        ),
        (
            "/executive-overview.html?segment=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
            "is not one of its options",
        ),
        ("/risk-revenue-prioritisation.html?tier=Diamond", "is not one of its options"),
        ("/engagement-activity.html?segments=SMB,%27%20or%201%3D1", "is not one of its options"),
        ("/engagement-activity.html?period=2024-02-30,2024-03-01", "a date range is two dates"),
        ("/engagement-activity.html?period=2024-06-01,2024-01-01", "starts after it ends"),
        ("/engagement-activity.html?period=%27;drop", "a date range is two dates"),
        ("/executive-overview.html?nope=1", "no input 'nope'"),
        ("/executive-overview.html?xf=segment%27%3B%20drop:x", "is not a member name"),
    ],
)
def test_hostile_url_values_are_refused_or_data(
    browser, served, generated_warehouse, path: str, text: str
) -> None:
    page, problems = _open(browser, f"{served}{path}")
    _settled(page, "served")
    page.wait_for_function("document.body.dataset.ciRendered !== undefined", timeout=60000)
    assert text in page.inner_text("article")
    assert page.query_selector("article h1") is not None
    assert [p for p in problems if "400" not in p] == []  # a refused render logs its 400
    with duckdb.connect(str(generated_warehouse.settings.warehouse_path), read_only=True) as con:
        assert con.execute("select count(*) from marts.customer_360_view").fetchone()[0] > 0


def test_static_build_hides_served_only_inputs_and_precomputes_the_tier(
    browser, site, generated_warehouse
) -> None:
    _, folder = site
    offline, problems = _open(browser, (folder / "engagement-activity.html").as_uri(), {})
    _settled(offline, "static")
    for name in ("period", "segments"):
        box = f'.ci-input[data-ci-input="{name}"]'
        assert offline.is_hidden(f"{box} .ci-input-control")
        assert "needs the served app" in offline.inner_text(f"{box} .ci-input-note")
    risk, _ = _open(browser, (folder / "risk-revenue-prioritisation.html").as_uri(), {})
    _settled(risk, "static")
    assert risk.is_hidden('.ci-input[data-ci-input="customer"] .ci-input-control')
    risk.click('.ci-input[data-ci-input="tier"] button[data-value="Gold"]')
    expected = _gold_at_risk(generated_warehouse)
    shown = risk.evaluate(f"""() => Array.from(document.querySelectorAll(
        "[data-ci-variant='Gold'] {ACTION_TABLE} tbody tr"))
        .map(r => r.cells[0].textContent.trim())""")
    assert sorted(shown) == sorted(expected)
    assert [p for p in problems if p.startswith("page error") and "search_index" not in p] == []
