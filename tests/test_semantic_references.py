"""The one walk over member references (semantic/references.py) on a hand-built model.

orders: revenue = sum(amount) filtered by {status} = 'paid'; aov = {revenue} / {CUBE.count};
net = {customers.discount} + {orders.revenue}; loop_a <-> loop_b reference each other;
ghost reads {missing_cube.x}; region (case dimension) reads {customers}.region.
customers: discount = {CUBE}.discount_rate; tier reads {orders.status}.
"""

from __future__ import annotations

from pathlib import Path

from semantic.definitions import Cube, DataModel, Dimension, Measure, Segment
from semantic.engine.planner import referenced_cubes
from semantic.references import (
    member_snippets,
    member_templates,
    reachable_members,
    referenced_members,
)


def _model() -> DataModel:
    orders = Cube(name="orders", file=Path("orders.yml"), sql_table="fact_order")
    customers = Cube(name="customers", file=Path("customers.yml"), sql_table="dim_customer")
    orders.dimensions = {
        "status": Dimension("status", "orders", "string", "status"),
        "region": Dimension(
            "region",
            "orders",
            "string",
            None,
            case={
                "when": [
                    {"sql": "{customers}.region = 'EU'", "label": "EU"},
                    "not a mapping",
                    {"label": "no sql"},
                ],
            },
        ),
    }
    orders.measures = {
        "count": Measure("count", "orders", "count", None),
        "revenue": Measure("revenue", "orders", "sum", "amount", filters=["{status} = 'paid'"]),
        "aov": Measure("aov", "orders", "number", "{revenue} / {CUBE.count}"),
        "net": Measure("net", "orders", "number", "{customers.discount} + {orders.revenue}"),
        "loop_a": Measure("loop_a", "orders", "number", "{loop_b} + 1"),
        "loop_b": Measure("loop_b", "orders", "number", "{loop_a} * 2"),
        "ghost": Measure("ghost", "orders", "number", "{missing_cube.x}"),
        "broken": Measure("broken", "orders", "number", "{revenue} +* ("),
    }
    orders.segments = {"paid": Segment("paid", "orders", "{status} = 'paid'")}
    customers.dimensions = {
        "discount": Dimension("discount", "customers", "number", "{CUBE}.discount_rate"),
        "tier": Dimension("tier", "customers", "string", "{orders.status}"),
    }
    return DataModel(root=Path("."), cubes={"orders": orders, "customers": customers})


def test_snippets_of_each_member_kind_in_order():
    model = _model()
    orders = model.cubes["orders"]
    assert member_snippets(orders.measures["revenue"]) == ["amount", "{status} = 'paid'"]
    assert member_snippets(orders.measures["count"]) == []  # no sql: nothing to read
    # case items that are not mappings are skipped; a mapping without sql adds nothing
    assert member_snippets(orders.dimensions["region"]) == ["{customers}.region = 'EU'"]
    assert member_snippets(orders.segments["paid"]) == ["{status} = 'paid'"]
    assert member_snippets(None) == []


def test_direct_references_resolve_the_owning_cube_and_skip_unparsable_sql():
    model = _model()
    orders = model.cubes["orders"]
    assert referenced_members(orders.measures["aov"], "orders") == [
        ("orders", "revenue"),
        ("orders", "count"),
    ]
    assert referenced_members(orders.measures["net"], "orders") == [
        ("customers", "discount"),
        ("orders", "revenue"),
    ]
    assert referenced_members(orders.measures["revenue"], "orders") == [("orders", "status")]
    # `{customers}.region` is a table reference, not a member
    assert referenced_members(orders.dimensions["region"], "orders") == []
    assert member_templates(orders.measures["broken"]) == []
    assert referenced_members(orders.measures["broken"], "orders") == []


def test_reachable_members_are_transitive_each_once_and_stop_at_unknown_cubes():
    model = _model()
    assert list(reachable_members(model, "orders", "net")) == [
        ("customers", "discount"),
        ("orders", "revenue"),
        ("orders", "status"),
    ]
    assert sorted(reachable_members(model, "orders", "aov")) == [
        ("orders", "count"),
        ("orders", "revenue"),
        ("orders", "status"),
    ]
    # a cycle leads back to the member itself, which is yielded once
    assert list(reachable_members(model, "orders", "loop_a")) == [
        ("orders", "loop_b"),
        ("orders", "loop_a"),
    ]
    assert list(reachable_members(model, "orders", "ghost")) == [("missing_cube", "x")]
    assert list(reachable_members(model, "nowhere", "x")) == []


def test_referenced_cubes_follow_member_and_table_references():
    model = _model()
    assert referenced_cubes(model, "orders", "net") == {"customers"}
    assert referenced_cubes(model, "orders", "region") == {"customers"}
    assert referenced_cubes(model, "orders", "aov") == set()
    assert referenced_cubes(model, "customers", "tier") == {"orders"}
    assert referenced_cubes(model, "orders", "ghost") == {"missing_cube"}
