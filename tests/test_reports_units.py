"""Formats, markdown escaping, block parsing, parameters and CSV safety of the report plugin."""

from __future__ import annotations

import datetime as dt
import html
import io
import json

import markdown
import numpy as np
import pandas as pd
import pytest

from reports.blocks import parse_markdown
from reports.components.data import Dataset
from reports.components.kpis import kpi_values
from reports.formats import format_delta, format_value
from reports.inline import escape_markdown, substitute_params
from reports.page import PageContext, render_page
from reports.plugin import _csv_text, _front_matter_lines
from reports.specs import KpiSpec, SpecError
from reports.templates import expand_template
from tests.reports_support import fixture_orders, fixture_runner


@pytest.mark.parametrize(
    ("value", "fmt", "compact", "text"),
    [
        (1234567.891, "currency", False, "$1,234,568"),
        (1234567.891, "currency", True, "$1.23M"),
        (12.5, "currency", False, "$12.50"),
        (-45000, "currency", True, "-$45.0K"),
        (99999, None, True, "100K"),
        (999999, "currency", True, "$1.00M"),
        (0.1234, "percent", False, "12.3%"),
        (3.14159, None, False, "3.14"),
        (1500, None, False, "1,500"),
        (None, "currency", False, "–"),
        (float("nan"), None, False, "–"),
        (pd.Timestamp("2024-03-01"), "month", False, "2024-03"),
        (pd.Timestamp("2024-08-01"), "quarter", False, "2024-Q3"),
        (dt.date(2024, 3, 5), None, False, "2024-03-05"),
        ("C001", "id", False, "C001"),
        (True, None, False, "yes"),
        (np.bool_(False), None, False, "no"),
    ],
)
def test_format_value(value: object, fmt: str | None, compact: bool, text: str) -> None:
    assert format_value(value, fmt, compact) == text


def test_percent_deltas_are_percentage_points() -> None:
    assert format_delta(-0.012, "percent") == "-1.2 pp"
    assert format_delta(1234.5, "currency") == "+$1,234"


@pytest.mark.parametrize(
    "text",
    [
        '<script>alert("x")</script>',
        "*bold* _it_ `code` [link](http://x)",
        "# not a heading",
        "O'Brien & Sons",
        "1. not a list",
        "a\\b {{ x }}",
    ],
)
def test_escaped_values_render_as_the_same_text(text: str) -> None:
    rendered = markdown.markdown(f"Name: {escape_markdown(text)}")
    assert rendered.startswith("<p>") and rendered.endswith("</p>")
    inner = rendered[3:-4]
    assert "<" not in inner.replace("&lt;", "")  # no tag came out of the value
    assert html.unescape(inner) == f"Name: {text}"


def test_other_code_fences_are_left_alone() -> None:
    parsed = parse_markdown("a\n```python\n{{ q.x }}\n```query no\n```\n```query q\nm: 1\n```")
    assert [(b.kind, b.name, b.first, b.last) for b in parsed.blocks] == [("query", "q", 5, 7)]
    assert parsed.code_lines == frozenset({1, 2, 3, 4})


def test_params_keep_their_type_in_whole_values_and_become_text_inside_strings() -> None:
    query = {
        "filters": [
            {
                "member": "v.id",
                "operator": "equals",
                "values": ["{{ params.id }}", "x-{{ params.id }}"],
            }
        ],
        "limit": 5,
    }
    assert substitute_params(query, {"id": 7})["filters"][0]["values"] == [7, "x-7"]
    with pytest.raises(SpecError, match="unknown page parameter 'other'"):
        substitute_params({"a": "{{ params.other }}"}, {"id": 7})


def test_csv_cells_that_look_like_formulas_are_neutralised() -> None:
    frame = pd.DataFrame({"name": ['=HYPERLINK("x")', "+1", "Bob"], "amount": [-5.0, 1.0, 2.0]})
    back = pd.read_csv(io.StringIO(_csv_text(frame)))
    assert back["name"].tolist() == ['\'=HYPERLINK("x")', "'+1", "Bob"]
    assert back["amount"].tolist() == [-5.0, 1.0, 2.0]  # numbers are not touched


def test_front_matter_lines_are_counted_for_error_lines() -> None:
    raw = "---\ntitle: x\n---\n\n# Body\ntext\n"
    assert _front_matter_lines(raw, "# Body\ntext\n") == 4


def test_kpi_without_time_compares_with_the_previous_query() -> None:
    spec = KpiSpec(data="now", value="v.m", previous="before")
    values = kpi_values(
        spec,
        {
            "now": Dataset("now", pd.DataFrame({"v.m": [120.0]}), True),
            "before": Dataset("before", pd.DataFrame({"v.m": [100.0]}), True),
        },
    )
    assert (values.current, values.previous, values.delta, values.change) == (
        120.0,
        100.0,
        20.0,
        0.2,
    )


def test_kpi_change_is_undefined_when_the_previous_value_is_zero() -> None:
    frame = pd.DataFrame(
        {"v.t.month": pd.to_datetime(["2024-01-01", "2024-02-01"]), "v.m": [0.0, 5.0]}
    )
    values = kpi_values(KpiSpec(data="q", value="v.m"), {"q": Dataset("q", frame, True)})
    assert values.delta == 5.0 and values.change is None and values.previous_period == "2024-01"


def test_template_makes_one_page_per_row_with_unique_file_names() -> None:
    orders = fixture_orders()
    orders.loc[orders["customer_id"] == "C02", "customer_name"] = "a/b"
    orders.loc[orders["customer_id"] == "C04", "customer_name"] = "a b"
    source = "---\npages_from:\n  dimensions: [sales.customer_name]\n---\n# x\n"
    pages = expand_template("people/[customer_name].md", source, fixture_runner(orders))
    names = sorted(orders["customer_name"].unique())
    assert [p.params["customer_name"] for p in pages] == names
    uris = [p.src_uri for p in pages]
    assert len(set(uris)) == len(names) and "people/a-b.md" in uris and "people/a-b-2.md" in uris


def test_chart_of_an_empty_result_says_so_instead_of_drawing_nothing() -> None:
    text = (
        "```query none\nmeasures: [sales.revenue]\ndimensions: [sales.segment]\n"
        "filters: [{member: sales.segment, operator: equals, values: [Nowhere]}]\n```\n\n"
        "```chart\ntype: bar\ndata: none\nx: sales.segment\ny: sales.revenue\n```\n"
    )
    rendered = render_page(text, PageContext(source="empty.md", runner=fixture_runner()))
    assert rendered.datasets["none"].frame.empty
    chart = next(html for html in rendered.slots.values() if "ci-empty" in html)
    assert '<p class="ci-empty">No data to show for the period covered.</p>' in chart
    assert 'data-query="none"' in chart
    assert "ci-chart" not in chart


ONE_MONTH = (
    "```query one_month\nmeasures: [sales.revenue]\n"
    "timeDimensions: [{dimension: sales.ordered_at, granularity: month, "
    "dateRange: [2024-03-01, 2024-03-31]}]\n```\n\n"
)


def one_month_chart(kind: str) -> str:
    return f"```chart\ntype: {kind}\ndata: one_month\nx: sales.ordered_at\ny: sales.revenue\n```\n"


def test_a_time_axis_with_one_period_spans_that_period() -> None:
    text = ONE_MONTH + one_month_chart("bar")
    rendered = render_page(text, PageContext(source="one.md", runner=fixture_runner()))
    chart = next(html for html in rendered.slots.values() if "ci-chart-spec" in html)
    layout = json.loads(chart.split('class="ci-chart-spec">')[1].split("</script>")[0])["layout"]
    assert layout["xaxis"]["range"] == ["2024-02-15T00:00:00", "2024-03-16T00:00:00"]


def test_a_line_over_one_period_shows_its_value_instead_of_a_dot() -> None:
    orders = fixture_orders()
    march = orders[orders["ordered_at"].dt.month == 3]["revenue"].sum()
    text = ONE_MONTH + one_month_chart("line")
    rendered = render_page(text, PageContext(source="one.md", runner=fixture_runner()))
    (shown,) = [h for h in rendered.slots.values() if "ci-chart-values" in h]
    assert "ci-chart-spec" not in shown
    assert "Only one period so far (2024-03)" in shown
    shown_march = f"${march:,.0f}" if march >= 1000 else f"${march:,.2f}"
    assert f"<li>Revenue: <strong>{shown_march}</strong></li>" in shown


def test_escaped_values_keep_a_table_row_whole() -> None:
    value = "Smith | Jones <b>Ltd</b>"
    rendered = markdown.markdown(
        f"| a | b |\n| --- | --- |\n| x | {escape_markdown(value)} |", extensions=["tables"]
    )
    cells = [html.unescape(c) for c in rendered.split("<td>")[1:]]
    assert [c.split("</td>")[0] for c in cells] == ["x", value]


def _slots(text: str, frame: pd.DataFrame | None = None) -> list[str]:
    return list(
        render_page(
            text, PageContext(source="rules.md", runner=fixture_runner(frame))
        ).slots.values()
    )


def test_a_chart_whose_points_all_show_one_value_says_it_in_a_sentence() -> None:
    orders = fixture_orders()
    per_segment = orders.groupby("segment")["customer_id"].nunique()
    assert per_segment.nunique() == 1  # the fixture's 12 customers, 4 in each segment
    text = (
        "```query by_segment\nmeasures: [sales.customers]\ndimensions: [sales.segment]\n```"
        "\n\n```chart\ntype: bar\ndata: by_segment\nx: sales.segment\ny: sales.customers\n"
        "title: Customers by segment\n```\n"
    )
    (shown,) = [h for h in _slots(text) if "ci-chart" in h]
    assert "ci-chart-spec" not in shown
    assert f"Customers: <strong>{per_segment.iloc[0]}</strong> for every segment" in shown
    # one value more and it is a chart again
    more = pd.concat([orders, orders.head(1).assign(customer_id="C99", order_id="O99")])
    (drawn,) = [h for h in _slots(text, more) if "ci-chart" in h]
    assert "ci-chart-spec" in drawn


def _drawn_chart(text: str, frame: pd.DataFrame) -> tuple[str, dict]:
    """The page's one drawn chart: its HTML and its Plotly figure."""
    (chart,) = [h for h in _slots(text, frame) if "ci-chart-spec" in h]
    return chart, json.loads(chart.split('class="ci-chart-spec">')[1].split("</script>")[0])


def test_a_series_of_zeros_or_a_twin_series_is_not_drawn_and_the_caption_says_so() -> None:
    orders = fixture_orders()
    orders.loc[orders["segment"] == "SMB", "revenue"] = 0.0
    by_month = (
        "```query by_month\nmeasures: [sales.revenue]\ndimensions: [sales.segment]\n"
        "timeDimensions: [{dimension: sales.ordered_at, granularity: month}]\n```\n\n"
        "```chart\ntype: line\ndata: by_month\nx: sales.ordered_at\ny: sales.revenue\n"
        "series: sales.segment\n```\n"
    )
    chart, figure = _drawn_chart(by_month, orders)
    assert sorted(t["name"] for t in figure["data"]) == ["Enterprise", "Residential"]
    assert "SMB: 0 throughout (not drawn)." in chart
    assert 'data-points-left-out="6"' in chart  # SMB's six months
    # one order per customer and month: orders and customers are the same line (February
    # without SMB's orders, so the line is not flat)
    orders = fixture_orders()
    orders = orders[~((orders["ordered_at"].dt.month == 2) & (orders["segment"] == "SMB"))]
    assert (
        not orders.assign(month=orders["ordered_at"].dt.month)
        .duplicated(["customer_id", "month"])
        .any()
    )
    twins = (
        "```query twins\nmeasures: [sales.order_count, sales.customers]\n"
        "timeDimensions: [{dimension: sales.ordered_at, granularity: month}]\n```\n\n"
        "```chart\ntype: line\ndata: twins\nx: sales.ordered_at\n"
        "y: [sales.order_count, sales.customers]\n```\n"
    )
    chart, figure = _drawn_chart(twins, orders)
    assert [t["name"] for t in figure["data"]] == ["Orders"]
    assert "Customers: the same as Orders throughout (drawn once)." in chart


def test_a_measure_the_same_on_every_row_is_said_once_above_the_table() -> None:
    orders = fixture_orders()
    text = (
        "```query by_segment\nmeasures: [sales.revenue, sales.customers]\n"
        "dimensions: [sales.segment]\n```\n\n```table\ndata: by_segment\n```\n"
    )
    (table,) = [h for h in _slots(text) if "ci-table" in h]
    assert "The same on every row: Customers 4." in table
    assert 'data-member="sales.customers"' not in table
    assert 'data-member="sales.revenue"' in table
    # two rows are too few to call anything "the same on every row"
    two = orders[orders["segment"] != "SMB"]
    (table,) = [h for h in _slots(text, two) if "ci-table" in h]
    assert "The same on every row" not in table
    assert 'data-member="sales.customers"' in table
