"""Page inputs (reports/inputs.py): `${inputs.x}` binding, choices checked against options,
cross-filters, static variants; a page rendered with the fixture runner per input value
equals pandas on the fixture orders."""

from __future__ import annotations

import re

import pytest

from reports.errors import ReportError
from reports.inputs import (
    InputSpec,
    PageInput,
    bind,
    choice,
    cross_filtered,
    merge_variants,
    parse_input,
)
from reports.page import PageContext, render_page
from reports.specs import SpecError
from tests.reports_support import SEGMENTS, fixture_orders, fixture_runner

SEGMENT = PageInput("segment", InputSpec(values=tuple(SEGMENTS)), tuple(SEGMENTS))
MANY = PageInput("many", InputSpec(values=tuple(SEGMENTS), multiple=True), tuple(SEGMENTS))
PERIOD = PageInput("period", InputSpec(type="date_range"), None)
INPUTS = {"segment": SEGMENT, "many": MANY, "period": PERIOD}
QUERY = {
    "measures": ["sales.revenue"],
    "filters": [
        {"member": "sales.segment", "operator": "equals", "values": ["${inputs.segment}"]},
        {"member": "sales.segment", "operator": "equals", "values": ["${inputs.many}"]},
    ],
    "timeDimensions": [{"dimension": "sales.ordered_at", "dateRange": "${inputs.period}"}],
}


def test_unset_inputs_drop_their_filters_and_date_range() -> None:
    bound = bind(QUERY, INPUTS, {})
    assert bound["filters"] == []
    assert bound["timeDimensions"] == [{"dimension": "sales.ordered_at"}]


def test_set_inputs_bind_values_lists_and_ranges() -> None:
    bound = bind(
        QUERY,
        INPUTS,
        {"segment": "SMB", "many": ["SMB", "Enterprise"], "period": ["2024-01-01", "2024-03-31"]},
    )
    assert bound["filters"][0]["values"] == ["SMB"]
    assert bound["filters"][1]["values"] == ["SMB", "Enterprise"]
    assert bound["timeDimensions"][0]["dateRange"] == ["2024-01-01", "2024-03-31"]


def test_unknown_input_reference_is_an_error() -> None:
    with pytest.raises(SpecError, match=r"no such input on this page \(inputs: segment\)"):
        bind(
            {"filters": [{"member": "a.b", "operator": "equals", "values": ["${inputs.nope}"]}]},
            {"segment": SEGMENT},
            {},
        )


@pytest.mark.parametrize(
    "page_input, raw, message",
    [
        (SEGMENT, "x' or '1'='1", "is not one of its options"),
        (SEGMENT, ["SMB", "Enterprise"], "takes one value"),
        (PERIOD, "2024-01-01", "two dates"),
        (PERIOD, "2024-01-01,drop table", "two dates"),
    ],
)
def test_choices_outside_the_options_are_refused(page_input, raw, message) -> None:
    with pytest.raises(SpecError, match=message):
        choice(page_input, raw)


def test_choice_accepts_options_and_comma_lists() -> None:
    assert choice(SEGMENT, "SMB") == "SMB"
    assert choice(SEGMENT, "") is None
    assert choice(PERIOD, "2024-01-01,2024-02-01") == ["2024-01-01", "2024-02-01"]
    assert SEGMENT.precomputed and not MANY.precomputed and not PERIOD.precomputed


def test_input_spec_errors_name_the_field() -> None:
    with pytest.raises(SpecError, match="exactly one of `values` or `dimension`"):
        parse_input("segment", "type: dropdown\n")
    with pytest.raises(SpecError, match="colour"):
        parse_input("segment", "values: [a]\ncolour: red\n")


def test_cross_filter_applies_only_where_the_view_has_the_member() -> None:
    query = {"measures": ["revenue.revenue"], "dimensions": ["revenue.tier"]}
    filtered = cross_filtered(query, "segment", "SMB", lambda name: name == "revenue.segment")
    assert filtered["filters"] == [
        {"member": "revenue.segment", "operator": "equals", "values": ["SMB"]}
    ]
    assert cross_filtered(query, "segment", "SMB", lambda name: False) == query


def test_merge_variants_keeps_changed_slots_once_per_option() -> None:
    default = {0: "<select>", 1: '<div id="p-chart-1">all</div>', 2: "<p>same</p>"}
    variants = {
        "SMB": {0: "<select>", 1: '<div id="p-v0-chart-1">smb</div>', 2: "<p>same</p>"},
        "Enterprise": {0: "<x>", 1: '<div id="p-v1-chart-1">all</div>', 2: "<p>same</p>"},
    }
    merged = merge_variants(default, None, variants, "segment", frozenset({0}))
    assert merged[0] == "<select>" and merged[2] == "<p>same</p>"
    assert merged[1].count("data-ci-variant=") == 3
    assert (
        'data-ci-variant="SMB" hidden data-search-exclude><div id="p-v0-chart-1">smb' in merged[1]
    )


PAGE = """# Sales

```input segment
values: [Enterprise, SMB, Residential]
```

```query by_month
measures: [sales.revenue]
filters: [{member: sales.segment, operator: equals, values: ["${inputs.segment}"]}]
```

```kpi
data: by_month
value: sales.revenue
```
"""


@pytest.mark.parametrize("segment", [None, *SEGMENTS])
def test_page_renders_the_governed_value_per_input(segment: str | None) -> None:
    orders = fixture_orders()
    context = PageContext(
        source="sales.md",
        runner=fixture_runner(orders),
        chosen={"segment": segment} if segment else {},
    )
    rendered = render_page(PAGE, context)
    tile = next(html for html in rendered.slots.values() if "ci-kpi" in html)
    value = float(re.search(r'data-value="([^"]+)"', tile)[1])
    rows = orders if segment is None else orders[orders["segment"] == segment]
    assert value == pytest.approx(rows["revenue"].sum(), rel=1e-9)
    assert (
        rendered.input_slots
        and 'data-ci-precomputed="true"' in rendered.slots[min(rendered.input_slots)]
    )


def test_page_refuses_a_hostile_choice_with_the_page_name() -> None:
    context = PageContext(
        source="sales.md", runner=fixture_runner(fixture_orders()), chosen={"segment": "<script>"}
    )
    with pytest.raises(ReportError, match="sales.md.*not one of its options"):
        render_page(PAGE, context)


def test_a_group_of_filters_from_unset_inputs_is_dropped() -> None:
    text = PageInput("q", InputSpec(type="text"), None)
    query = {
        "measures": ["sales.revenue"],
        "filters": [
            {
                "or": [
                    {
                        "member": "sales.customer_id",
                        "operator": "contains",
                        "values": ["${inputs.q}"],
                    },
                    {"member": "sales.name", "operator": "contains", "values": ["${inputs.q}"]},
                ]
            }
        ],
    }
    assert bind(query, {"q": text}, {})["filters"] == []
    bound = bind(query, {"q": text}, {"q": "'; drop table x; --"})
    assert [f["values"] for f in bound["filters"][0]["or"]] == [["'; drop table x; --"]] * 2


def test_url_values_multi_select_dates_and_text_are_checked() -> None:
    assert choice(MANY, "SMB,Enterprise") == ["SMB", "Enterprise"]
    with pytest.raises(SpecError, match="not one of its options"):
        choice(MANY, "SMB,'; drop table x")
    with pytest.raises(SpecError, match="two dates.*day is out of range"):
        choice(PERIOD, "2024-02-30,2024-03-01")
    with pytest.raises(SpecError, match="starts after it ends"):
        choice(PERIOD, "2024-06-01,2024-01-01")
    text = PageInput("q", InputSpec(type="text"), None)
    assert choice(text, "x" * 5000) == "x" * 200
    assert choice(text, "<script>") == "<script>"  # data; escaped where shown


def test_customer_id_columns_are_found_from_the_model() -> None:
    from reports.runner import MemberInfo, QueryRunner
    from reports.templates import key_columns

    members = {
        name: MemberInfo(name=name, kind=kind, source=source)
        for name, kind, source in [
            ("health.customer_id", "dimension", "customers.customer_id"),
            ("revenue.customer_id", "dimension", "invoices.customer_id"),
            ("revenue.customer_ref", "dimension", "invoices.customer_ref"),
            ("health.segment", "dimension", "customers.segment"),
            ("health.customers", "measure", "customers.count"),
        ]
    }
    template = "---\npages_from:\n  dimensions: [health.customer_id, health.segment]\n---\n# x\n"
    template_of = key_columns(
        QueryRunner(load=lambda q: None, members=members), {"customers/[customer_id].md": template}
    )
    assert template_of("health.customer_id") == "customers/[customer_id].md"
    assert template_of("revenue.customer_id") == "customers/[customer_id].md"
    assert template_of("revenue.customer_ref") is None
    assert template_of("health.segment") is None
    assert template_of("health.customers") is None
    assert template_of("not.a_member") is None


SEARCH_PAGE = """# Find

```input q
type: text
```

```query found
dimensions: [sales.customer_id, sales.segment]
filters: [{member: sales.customer_id, operator: equals, values: ["${inputs.q}"]}]
```

```table
data: found
```
"""


def test_a_table_without_link_links_customer_ids_found_from_the_model() -> None:
    orders = fixture_orders()
    context = PageContext(
        source="find.md",
        runner=fixture_runner(orders),
        chosen={"q": "C03"},
        link_for=lambda template, value: f"/customers/{value}.html",
        key_links=lambda column: (
            "customers/[customer_id].md" if column == "sales.customer_id" else None
        ),
    )
    rendered = render_page(SEARCH_PAGE, context)
    table = next(html for html in rendered.slots.values() if "ci-data" in html)
    assert re.findall(r'href="/customers/([^"]+)\.html"', table) == ["C03"]
    unset = render_page(
        SEARCH_PAGE,
        PageContext(
            source="find.md",
            runner=fixture_runner(orders),
            link_for=context.link_for,
            key_links=context.key_links,
        ),
    )
    table = next(html for html in unset.slots.values() if "ci-data" in html)
    assert sorted(re.findall(r'href="/customers/([^"]+)\.html"', table)) == sorted(
        set(orders["customer_id"])
    )
