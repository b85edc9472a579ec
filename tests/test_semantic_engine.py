"""Embedded engine: Cube query semantics on the fixture model, checked against pandas."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
import sqlglot

from semantic.engine import Engine
from semantic.errors import QueryError
from tests.semantic_support import AS_OF, MODEL_PATH, build_warehouse, fixture_frames

V = "customer_360"


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return fixture_frames()


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, frames: dict[str, pd.DataFrame]) -> Engine:
    path = build_warehouse(tmp_path_factory.mktemp("semantic") / "w.duckdb", frames)
    return Engine(MODEL_PATH, path, as_of=AS_OF)


def run(engine: Engine, query: dict, role: str = "executive", **context: str) -> pd.DataFrame:
    return engine.load(query, role=role, security_context=context or None)


def as_series(frame: pd.DataFrame, key: str, value: str) -> dict:
    return {k: (None if pd.isna(v) else v) for k, v in zip(frame[key], frame[value], strict=True)}


def with_segment(frames: dict[str, pd.DataFrame], table: str) -> pd.DataFrame:
    return frames[table].merge(frames["customers"][["customer_id", "segment"]], on="customer_id")


def test_measures_of_different_cubes_do_not_fan_out(engine, frames):
    both = run(
        engine, {"measures": [f"{V}.count", f"{V}.ticket_count"], "dimensions": [f"{V}.segment"]}
    )
    customers = run(engine, {"measures": [f"{V}.count"], "dimensions": [f"{V}.segment"]})
    tickets = run(engine, {"measures": [f"{V}.ticket_count"], "dimensions": [f"{V}.segment"]})
    expected_customers = frames["customers"].groupby("segment").size().to_dict()
    expected_tickets = with_segment(frames, "tickets").groupby("segment").size()
    expected_tickets = expected_tickets.reindex(expected_customers, fill_value=0).to_dict()
    assert as_series(both, f"{V}.segment", f"{V}.count") == expected_customers
    assert as_series(both, f"{V}.segment", f"{V}.ticket_count") == expected_tickets
    assert as_series(customers, f"{V}.segment", f"{V}.count") == expected_customers
    assert as_series(tickets, f"{V}.segment", f"{V}.ticket_count") == expected_tickets


def test_three_cubes_together_keep_each_grain(engine, frames):
    result = run(
        engine,
        {
            "measures": [f"{V}.count", f"{V}.revenue", f"{V}.ticket_count", f"{V}.order_count"],
            "dimensions": [f"{V}.size_band"],
        },
    )
    customers = frames["customers"].assign(
        size_band=lambda f: f.segment.isin(["Enterprise", "Government"]).map(
            {True: "large", False: "small"}
        )
    )
    orders = frames["orders"].merge(customers[["customer_id", "size_band"]])
    tickets = frames["tickets"].merge(customers[["customer_id", "size_band"]])
    revenue = (orders.amount - orders.discount_amount).groupby(orders.size_band).sum()
    by_band = result.set_index(f"{V}.size_band")
    for band in ("large", "small"):
        assert by_band.loc[band, f"{V}.count"] == (customers.size_band == band).sum()
        assert by_band.loc[band, f"{V}.revenue"] == pytest.approx(revenue[band])
        assert by_band.loc[band, f"{V}.ticket_count"] == (tickets.size_band == band).sum()
        assert by_band.loc[band, f"{V}.order_count"] == (orders.size_band == band).sum()


def test_many_to_one_join_counts_each_customer_once(engine, frames):
    result = engine.load(
        {
            "measures": ["order_lines.customers_count", "order_lines.count"],
            "dimensions": ["order_lines.status"],
        }
    )
    orders = frames["orders"]
    expected_customers = orders.groupby("status").customer_id.nunique().to_dict()
    assert (
        as_series(result, "order_lines.status", "order_lines.customers_count") == expected_customers
    )
    assert (
        as_series(result, "order_lines.status", "order_lines.count")
        == orders.groupby("status").size().to_dict()
    )
    assert expected_customers != orders.groupby("status").size().to_dict()  # fan-out would show


def test_number_measures_compute_over_aggregates(engine, frames):
    result = run(
        engine,
        {
            "measures": [f"{V}.aov", f"{V}.revenue_per_customer", f"{V}.active_rate"],
            "dimensions": [f"{V}.segment"],
        },
    )
    orders = with_segment(frames, "orders").assign(net=lambda f: f.amount - f.discount_amount)
    customers = frames["customers"]
    revenue = orders.groupby("segment").net.sum()
    order_count = orders.groupby("segment").size()
    customer_count = customers.groupby("segment").size()
    active = customers[customers.status == "Active"].groupby("segment").size()
    by_segment = result.set_index(f"{V}.segment")
    for segment in revenue.index:
        assert by_segment.loc[segment, f"{V}.aov"] == pytest.approx(
            revenue[segment] / order_count[segment]
        )
        assert by_segment.loc[segment, f"{V}.revenue_per_customer"] == pytest.approx(
            revenue[segment] / customer_count[segment]
        )
    for segment in customer_count.index:
        assert by_segment.loc[segment, f"{V}.active_rate"] == pytest.approx(
            active.get(segment, 0) / customer_count[segment]
        )
    assert pd.isna(by_segment.loc["Residential", f"{V}.aov"])  # no orders: NULL, not 0


def test_measure_definition_filters_and_query_measure_filters(engine, frames):
    result = run(
        engine,
        {
            "measures": [f"{V}.completed_revenue", f"{V}.order_count"],
            "dimensions": [f"{V}.customer_id"],
            "filters": [{"member": f"{V}.order_count", "operator": "gte", "values": ["3"]}],
        },
    )
    orders = frames["orders"].assign(net=lambda f: f.amount - f.discount_amount)
    counts = orders.groupby("customer_id").size()
    keep = counts[counts >= 3].index
    completed = orders[orders.status == "completed"].groupby("customer_id").net.sum()
    assert sorted(result[f"{V}.customer_id"]) == sorted(keep)
    for row in result.itertuples(index=False):
        assert row[2] == 3
        assert row[1] == pytest.approx(completed.get(row[0], float("nan")), nan_ok=True)


def trailing_active(activity: pd.DataFrame, day: pd.Timestamp, days: int = 30) -> int:
    window = activity[
        (activity.activity_date > day - pd.Timedelta(days=days)) & (activity.activity_date <= day)
    ]
    return window.customer_id.nunique()


def test_rolling_window_counts_customers_active_in_trailing_30_days(engine, frames):
    result = run(
        engine,
        {
            "measures": [f"{V}.active_customers"],
            "timeDimensions": [
                {
                    "dimension": f"{V}.activity_date",
                    "granularity": "day",
                    "dateRange": ["2024-03-01", "2024-03-20"],
                }
            ],
        },
    )
    days = pd.date_range("2024-03-01", "2024-03-20", freq="D")
    expected = {day: trailing_active(frames["activity"], day) for day in days}
    assert as_series(result, f"{V}.activity_date.day", f"{V}.active_customers") == expected


def test_rolling_window_by_month_uses_the_month_end(engine, frames):
    result = run(
        engine,
        {
            "measures": [f"{V}.active_customers", f"{V}.count"],
            "timeDimensions": [
                {
                    "dimension": f"{V}.activity_date",
                    "granularity": "month",
                    "dateRange": ["2024-01-01", "2024-06-30"],
                }
            ],
        },
    )
    activity = frames["activity"]
    months = pd.date_range("2024-01-01", "2024-06-01", freq="MS")
    month_ends = [m + pd.offsets.MonthEnd(0) for m in months]
    expected = {
        m: trailing_active(activity, end) for m, end in zip(months, month_ends, strict=True)
    }
    assert as_series(result, f"{V}.activity_date.month", f"{V}.active_customers") == expected
    in_month = activity.assign(month=activity.activity_date.dt.to_period("M").dt.start_time)
    assert (
        as_series(result, f"{V}.activity_date.month", f"{V}.count")
        == in_month.groupby("month").customer_id.nunique().to_dict()
    )


def test_rolling_window_needs_a_date_range(engine):
    with pytest.raises(QueryError, match="dateRange"):
        run(
            engine,
            {
                "measures": [f"{V}.active_customers"],
                "timeDimensions": [{"dimension": f"{V}.activity_date", "granularity": "month"}],
            },
        )


def test_time_dimension_granularity_and_relative_date_range(engine, frames):
    result = run(
        engine,
        {
            "measures": [f"{V}.order_count"],
            "timeDimensions": [
                {
                    "dimension": f"{V}.ordered_at",
                    "granularity": "month",
                    "dateRange": "last 3 months",
                }
            ],
        },
    )
    orders = frames["orders"]
    window = orders[(orders.ordered_at >= "2024-03-01") & (orders.ordered_at < "2024-06-01")]
    expected = window.groupby(window.ordered_at.dt.to_period("M").dt.start_time).size()
    assert as_series(result, f"{V}.ordered_at.month", f"{V}.order_count") == expected.to_dict()
    assert result[f"{V}.ordered_at.month"].dtype.kind == "M"


def test_segment_restricts_rows(engine, frames):
    result = run(engine, {"measures": [f"{V}.count"], "segments": [f"{V}.enterprise"]})
    assert result[f"{V}.count"].tolist() == [(frames["customers"].segment == "Enterprise").sum()]


@pytest.mark.parametrize(
    ("filters", "predicate"),
    [
        (
            [{"member": f"{V}.full_name", "operator": "equals", "values": ["Customer 3 O'Brien"]}],
            lambda c: c.full_name == "Customer 3 O'Brien",
        ),
        (
            [{"member": f"{V}.full_name", "operator": "contains", "values": ["o'brien"]}],
            lambda c: c.full_name.str.lower().str.contains("o'brien", regex=False),
        ),
        (
            [{"member": f"{V}.segment", "operator": "equals", "values": ["SMB' OR '1'='1"]}],
            lambda c: c.segment == "SMB' OR '1'='1",
        ),
        # Cube's contains is ILIKE '%' || value || '%': `%` and `_` in the value are wildcards
        (
            [{"member": f"{V}.full_name", "operator": "contains", "values": ["%"]}],
            lambda c: c.full_name.notna(),
        ),
        (
            [{"member": f"{V}.full_name", "operator": "contains", "values": ["r_3"]}],
            lambda c: c.full_name.str.lower().str.contains("r.3", regex=True),
        ),
        (
            [{"member": f"{V}.full_name", "operator": "startsWith", "values": ["cust%3"]}],
            lambda c: c.full_name.str.lower().str.match("cust.*3"),
        ),
        (
            [{"member": f"{V}.account_manager_id", "operator": "notEquals", "values": ["am_1"]}],
            lambda c: c.account_manager_id.ne("am_1") | c.account_manager_id.isna(),
        ),
        (
            [{"member": f"{V}.account_manager_id", "operator": "notSet"}],
            lambda c: c.account_manager_id.isna(),
        ),
        (
            [{"member": f"{V}.email", "operator": "endsWith", "values": ["@example1.com"]}],
            lambda c: c.email.str.endswith("@example1.com"),
        ),
        (
            [
                {
                    "member": f"{V}.signup_date",
                    "operator": "inDateRange",
                    "values": ["2023-03-01", "2023-06-30"],
                }
            ],
            lambda c: c.signup_date.between("2023-03-01", "2023-06-30"),
        ),
        (
            [{"member": f"{V}.signup_date", "operator": "afterDate", "values": ["2023-10-05"]}],
            lambda c: c.signup_date > "2023-10-05",
        ),
        (
            [
                {
                    "or": [
                        {"member": f"{V}.segment", "operator": "equals", "values": ["SMB"]},
                        {
                            "and": [
                                {
                                    "member": f"{V}.segment",
                                    "operator": "equals",
                                    "values": ["Enterprise"],
                                },
                                {
                                    "member": f"{V}.status",
                                    "operator": "equals",
                                    "values": ["Churned"],
                                },
                            ]
                        },
                    ]
                }
            ],
            lambda c: (
                (c.segment == "SMB") | ((c.segment == "Enterprise") & (c.status == "Churned"))
            ),
        ),
    ],
)
def test_filters_match_pandas(engine, frames, filters, predicate):
    result = run(engine, {"measures": [f"{V}.count"], "filters": filters})
    customers = frames["customers"]
    assert result[f"{V}.count"].tolist() == [int(predicate(customers).sum())]


def test_filter_values_are_bound_parameters_not_sql(engine):
    hostile = "x'; DROP TABLE warehouse.fact_order; --"
    compiled = engine.compile(
        {
            "measures": [f"{V}.count"],
            "filters": [{"member": f"{V}.segment", "operator": "equals", "values": [hostile]}],
        },
        role="executive",
    )
    assert hostile not in compiled.sql
    assert compiled.params == [hostile]
    assert run(
        engine,
        {
            "measures": [f"{V}.count"],
            "filters": [{"member": f"{V}.segment", "operator": "equals", "values": [hostile]}],
        },
    )[f"{V}.count"].tolist() == [0]
    assert run(engine, {"measures": [f"{V}.order_count"]})[f"{V}.order_count"].iloc[0] > 0


def test_unknown_member_error_names_it_and_suggests(engine):
    with pytest.raises(
        QueryError,
        match=r"unknown member 'customer_360\.revenu'.*"
        r"customer_360\.revenue",
    ):
        run(engine, {"measures": [f"{V}.revenu"]})
    with pytest.raises(QueryError, match="no view or cube named 'nowhere'"):
        run(engine, {"measures": ["nowhere.count"]})


def test_unknown_operator_error_names_it(engine):
    with pytest.raises(QueryError, match="unknown operator 'like'.*equals"):
        run(
            engine,
            {
                "measures": [f"{V}.count"],
                "filters": [{"member": f"{V}.segment", "operator": "like", "values": ["S%"]}],
            },
        )
    with pytest.raises(QueryError, match="needs a string dimension"):
        run(
            engine,
            {
                "measures": [f"{V}.count"],
                "filters": [
                    {"member": f"{V}.signup_date", "operator": "contains", "values": ["2023"]}
                ],
            },
        )


def test_query_shape_errors_are_clear(engine):
    with pytest.raises(QueryError, match="measure"):
        run(engine, {"measure": [f"{V}.count"]})
    with pytest.raises(QueryError, match="is a measure"):
        run(engine, {"dimensions": [f"{V}.count"]})
    with pytest.raises(QueryError, match="not public"):
        engine.load({"measures": ["customers.count"]})


def test_order_limit_offset(engine, frames):
    result = run(
        engine,
        {
            "measures": [f"{V}.count"],
            "dimensions": [f"{V}.customer_id"],
            "order": {f"{V}.customer_id": "desc"},
            "limit": 3,
            "offset": 2,
        },
    )
    expected = sorted(frames["customers"].customer_id, reverse=True)[2:5]
    assert result[f"{V}.customer_id"].tolist() == expected


def test_compiled_sql_transpiles_to_other_dialects(engine):
    compiled = engine.compile(
        {
            "measures": [f"{V}.revenue", f"{V}.ticket_count"],
            "timeDimensions": [
                {
                    "dimension": f"{V}.ordered_at",
                    "granularity": "month",
                    "dateRange": ["2024-01-01", "2024-03-31"],
                }
            ],
        },
        role="executive",
    )
    assert compiled.params == [
        dt.datetime(2024, 1, 1),
        dt.datetime(2024, 3, 31, 23, 59, 59, 999999),
    ]
    for dialect in ("postgres", "duckdb"):
        reparsed = sqlglot.parse_one(compiled.to_sql(dialect), read=dialect)
        # `$1` parses as a Placeholder, or as a Parameter once SQLMesh has extended the dialects
        markers = reparsed.find_all(sqlglot.exp.Placeholder, sqlglot.exp.Parameter)
        names = {marker.name for marker in markers}
        assert names == {"1", "2"}  # one range, used by both cubes' subqueries
    assert "@1" in compiled.to_sql("bigquery") and ":1" in compiled.to_sql("snowflake")
    assert "TIMESTAMP_TRUNC" in compiled.to_sql("bigquery")
    assert "'2024-01-01 00:00:00'" in compiled.printable()


def test_engine_reports_missing_warehouse(tmp_path: Path):
    engine = Engine(MODEL_PATH, tmp_path / "missing.duckdb", as_of=AS_OF)
    with pytest.raises(QueryError, match="warehouse not found"):
        engine.load({"measures": [f"{V}.count"]}, role="executive")
