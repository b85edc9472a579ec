"""The fixture site renders every component with the values of its query, escaped and offline."""

from __future__ import annotations

import html
import json
import re
import time
from pathlib import Path

import pandas as pd
import plotly
import pytest

from reports.plugin import PLOTLY_BUNDLE
from reports.theme import color_of, palettes
from tests.reports_support import AS_OF, EVIL_NAME, build_fixture_site, fixture_orders


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    started = time.perf_counter()
    built = build_fixture_site(tmp_path_factory.mktemp("reports"))
    print(f"fixture site built in {time.perf_counter() - started:.2f}s")
    return built


@pytest.fixture(scope="module")
def orders() -> pd.DataFrame:
    return fixture_orders()


def page(site: Path, name: str) -> str:
    return (site / name).read_text()


def chart(text: str, query: str, kind: str) -> dict:
    pattern = (
        rf'<figure class="ci-chart" data-chart-type="{kind}" data-query="{query}"'
        r'.*?<script type="application/json" class="ci-chart-spec">(.*?)</script>'
    )
    match = re.search(pattern, text, re.S)
    assert match, f"no {kind} chart of {query}"
    return json.loads(match[1])


def table_rows(text: str, after: str) -> list[dict[str, str]]:
    """Rows of the first data table after `after`: result column -> cell text (unescaped)."""
    start = text.index(after)
    head = text[text.index("<thead>", start) : text.index("</thead>", start)]
    names = re.findall(r'<th [^>]*data-member="([^"]+)"', head)
    body = text[text.index("<tbody>", start) : text.index("</tbody>", start)]
    rows = re.findall(r"<tr(?: [^>]*)?>(.*?)</tr>", body, re.S)
    return [
        dict(
            zip(
                names,
                [
                    html.unescape(re.sub(r"<[^>]+>", "", cell))
                    for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
                ],
                strict=True,
            )
        )
        for row in rows
    ]


def test_inline_values_show_the_first_row_formatted(site: Path, orders: pd.DataFrame) -> None:
    total = orders["revenue"].sum()
    assert f"Total revenue is ${total:,.0f} from {len(orders)} orders." in page(site, "index.html")


def test_bar_chart_holds_the_query_result(site: Path, orders: pd.DataFrame) -> None:
    spec = chart(page(site, "index.html"), "by_segment", "bar")
    expected = orders.groupby("segment")["revenue"].sum().sort_values(ascending=False)
    (trace,) = spec["data"]
    assert trace["x"] == list(expected.index)
    assert trace["y"] == pytest.approx(list(expected.values))
    assert spec["layout"]["yaxis"]["tickprefix"] == "$"  # currency format of sales.revenue
    assert spec["layout"]["xaxis"]["title"]["text"] == "Segment"  # titles, not member ids
    assert spec["layout"]["yaxis"]["title"]["text"] == "Revenue"
    assert trace["hovertemplate"] == "Segment: %{x}<br>Revenue: %{y:$,.2f}"
    # each segment in its theme colour; the axis in business order (reports/theme.yml)
    assert trace["marker"]["color"] == [color_of("segment", s) for s in expected.index]
    assert spec["layout"]["xaxis"]["categoryarray"] == [
        s for s in palettes()["segment"].order if s in expected.index
    ]
    # the site's one template is not copied into figures: it is chart-theme.js, once
    assert "template" not in spec["layout"]
    theme = (site / "assets/custintel/chart-theme.js").read_text()
    assert '"plot_bgcolor": "#ffffff"' in theme


@pytest.mark.parametrize("kind", ["line", "area"])
def test_series_charts_have_one_trace_per_segment(
    site: Path, orders: pd.DataFrame, kind: str
) -> None:
    spec = chart(page(site, "index.html"), "segment_month", kind)
    monthly = orders.groupby(["segment", orders["ordered_at"].dt.month])["revenue"].sum()
    assert sorted(t["name"] for t in spec["data"]) == sorted(orders["segment"].unique())
    for trace in spec["data"]:
        assert trace["y"] == pytest.approx(list(monthly[trace["name"]].values))
        months = monthly[trace["name"]].index
        assert [x[:7] for x in trace["x"]] == [f"2024-{m:02d}" for m in months]


def test_heatmap_is_a_segment_by_month_grid(site: Path, orders: pd.DataFrame) -> None:
    (trace,) = chart(page(site, "index.html"), "segment_month", "heatmap")["data"]
    grid = orders.pivot_table(
        index="segment", columns=orders["ordered_at"].dt.month, values="revenue", aggfunc="sum"
    ).sort_index()
    assert trace["y"] == ["Residential", "SMB", "Enterprise"]  # business order (theme.yml)
    grid = grid.reindex(trace["y"])
    assert trace["x"] == [f"2024-{m:02d}" for m in grid.columns]
    assert trace["z"] == [pytest.approx(row) for row in grid.to_numpy().tolist()]
    assert (trace["zmin"], trace["zmax"]) == (0, pytest.approx(grid.to_numpy().max()))


def test_scatter_sizes_follow_order_counts_and_labels_are_escaped(
    site: Path, orders: pd.DataFrame
) -> None:
    spec = chart(page(site, "index.html"), "customers", "scatter")
    points = sum(len(t["x"]) for t in spec["data"])
    assert points == orders["customer_id"].nunique()
    labels = [label for t in spec["data"] for label in t["hovertext"]]
    assert html.escape(EVIL_NAME) in labels and EVIL_NAME not in labels


def test_kpi_compares_the_last_period_with_the_one_before(site: Path, orders: pd.DataFrame) -> None:
    monthly = orders.groupby(orders["ordered_at"].dt.month)["revenue"].sum()
    june, may = monthly[6], monthly[5]
    tile = re.search(
        r'<div class="ci-kpi-title">Revenue</div>(.*?)</div></div>', page(site, "index.html"), re.S
    )[1]
    assert f"${june:,.2f}" in tile
    assert f"{(june - may) / may * 100:+.1f}%" in tile and "vs 2024-05" in tile
    assert ("ci-good" if june >= may else "ci-bad") in tile


def test_kpi_where_down_is_good_marks_a_rise_as_bad(site: Path, orders: pd.DataFrame) -> None:
    monthly = orders.groupby(orders["ordered_at"].dt.month)["churn_probability"].mean()
    june, may = monthly[6], monthly[5]
    tile = re.search(
        r'<div class="ci-kpi-title">Churn risk</div>(.*?)</div></div>',
        page(site, "index.html"),
        re.S,
    )[1]
    assert f"{june * 100:.1f}%" in tile
    assert f"{(june - may) * 100:+.1f} pp" in tile
    assert ("ci-bad" if june > may else "ci-good") in tile


def test_table_formats_cells_by_member_format(site: Path, orders: pd.DataFrame) -> None:
    rows = table_rows(page(site, "index.html"), 'data-query="customers"')
    by_id = orders.groupby("customer_id").agg(
        revenue=("revenue", "sum"), churn=("churn_probability", "mean")
    )
    assert len(rows) == len(by_id)
    row = next(r for r in rows if r["sales.customer_id"] == "C07")
    assert row["sales.order_count"] == str(len(orders[orders["customer_id"] == "C07"]))
    assert row["sales.revenue"] == f"${by_id.loc['C07', 'revenue']:,.2f}"
    assert row["sales.avg_churn_probability"] == f"{by_id.loc['C07', 'churn'] * 100:.1f}%"
    evil = next(r for r in rows if r["sales.customer_id"] == "C03")
    assert evil["sales.customer_name"] == EVIL_NAME


def test_table_links_segments_to_their_generated_pages(site: Path) -> None:
    text = page(site, "index.html")
    links = set(re.findall(r'<a href="(segments/[^"]+)">', text))
    assert links == {f"segments/{s}.html" for s in ("Enterprise", "SMB", "Residential")}


def test_csv_download_holds_the_unformatted_query_result(site: Path, orders: pd.DataFrame) -> None:
    assert 'href="downloads/index/customers.csv" download' in page(site, "index.html")
    csv = pd.read_csv(site / "downloads" / "index" / "customers.csv")
    expected = orders.groupby("customer_id")["revenue"].sum()
    # a reader's CSV: columns by title (the member ids are in the queries panel)
    assert list(csv.columns) == [
        "Customer ID",
        "Customer name",
        "Segment",
        "Revenue",
        "Average churn probability",
        "Orders",
    ]
    assert csv.set_index("Customer ID")["Revenue"].to_dict() == pytest.approx(expected.to_dict())


def test_templated_page_per_segment_shows_that_segment(site: Path, orders: pd.DataFrame) -> None:
    for segment, revenue in orders.groupby("segment")["revenue"].sum().items():
        text = page(site, f"segments/{segment}.html")
        assert f"<title>Segment {segment} - " in text
        assert f"Revenue in {segment}: ${revenue:,.0f}." in text
        (trace,) = chart(text, "segment_customers", "bar")["data"]
        names = orders[orders["segment"] == segment]["customer_name"].unique()
        assert sorted(trace["x"]) == sorted(html.escape(n) for n in names)
    assert not (site / "segments" / "[segment].html").exists()


def test_customer_pages_only_for_the_template_query_rows(site: Path) -> None:
    assert sorted(p.name for p in (site / "customers").iterdir()) == ["C03.html", "C05.html"]


def test_ungoverned_sql_is_badged_where_it_is_used(site: Path, orders: pd.DataFrame) -> None:
    text = page(site, "index.html")
    assert "ungoverned SQL: big_orders" in text
    assert text.count("ungoverned SQL: ") == 1  # governed components carry no badge
    assert '<span class="ci-badge ci-ungoverned"' in text.split("sql <code>big_orders")[0][-400:]
    rows = table_rows(text, "ungoverned SQL: big_orders")
    expected = orders[orders["revenue"] > 100].groupby("customer_id").size()
    assert {r["customer_id"]: int(r["order_count"]) for r in rows} == expected.to_dict()


def test_every_page_shows_the_data_as_of_date(site: Path) -> None:
    pages = [p for p in site.rglob("*.html") if p.name != "404.html"]
    assert len(pages) == 1 + 3 + 2
    for path in pages:
        assert f'Data as of <time datetime="{AS_OF.isoformat()}">' in path.read_text(), path


def test_data_values_are_escaped_everywhere(site: Path) -> None:
    for path in site.rglob("*.html"):
        text = path.read_text()
        assert "<script>alert" not in text, path
        assert "<b>Co</b>" not in text, path
    customer = page(site, "customers/C03.html")
    escaped = html.escape(EVIL_NAME, quote=False)
    assert f"Customer {escaped} (C03)" in customer.replace("&quot;", '"')
    assert "<title>Customer &lt;script&gt;" in customer


def test_site_is_offline_with_plotly_bundled(site: Path) -> None:
    shipped = (site / "assets/custintel/plotly.min.js").read_bytes()
    assert shipped == PLOTLY_BUNDLE.read_bytes()
    # the partial bundle of the plotly.js version the plotly package wraps
    full = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()
    version = re.search(rb"plotly\.js v([\d.]+)", full)[1]
    assert shipped.startswith(
        b"/**\n* plotly.js (custintel: bar, heatmap, scatter - minified) v" + version + b"\n"
    )
    assert PLOTLY_BUNDLE.name == f"plotly-custintel-{version.decode()}.min.js"
    assert len(shipped) < len(full) / 4
    assert [p.name for p in (site / "assets/custintel").glob("plotly*")] == ["plotly.min.js"]
    # one bundle for every page with charts (the overview has a heatmap, a segment page bars)
    assert 'src="assets/custintel/plotly.min.js"' in page(site, "index.html")
    assert 'src="../assets/custintel/plotly.min.js"' in page(site, "segments/SMB.html")
    assert not list(site.rglob("*.map"))  # no source maps
    for path in [*site.rglob("*.js"), *site.rglob("*.css")]:
        assert "sourceMappingURL" not in path.read_text(), path
    for path in site.rglob("*.html"):
        sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', path.read_text())
        assert sources and not [s for s in sources if "://" in s or s.startswith("//")], path
