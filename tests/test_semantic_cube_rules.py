"""Where the engine used to differ from Cube silently: each case here failed before.

Model rules (a to-many column in a measure, view names with alias and prefix), the query limit,
features the engine refuses by name, Cube's relative date ranges and query time zones.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from semantic.engine import Engine
from semantic.engine.dates import relative_range
from semantic.errors import ModelError, QueryError
from semantic.model_loader import load_model
from tests.semantic_support import AS_OF, MODEL_PATH, build_warehouse, fixture_frames

V = "customer_360"


def _edited_model(tmp_path: Path, file: str, change) -> Path:
    target = tmp_path / "model"
    shutil.copytree(MODEL_PATH, target)
    path = target / file
    document = yaml.safe_load(path.read_text())
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return target


def test_measure_reading_a_to_many_cube_is_refused(tmp_path: Path) -> None:
    def add_measure(document: dict) -> None:
        document["cubes"][0]["measures"].append(
            {"name": "order_amount", "type": "sum", "sql": "{orders}.net_amount"}
        )

    model = _edited_model(tmp_path, "cubes/customers.yml", add_measure)
    with pytest.raises(ModelError) as caught:
        load_model(model)
    text = str(caught.value)
    assert "customers.yml" in text and "measure order_amount" in text
    assert "one_to_many join customers -> orders" in text


def test_measure_reading_a_to_one_cube_is_allowed(tmp_path: Path) -> None:
    def add_measure(document: dict) -> None:
        document["cubes"][0]["measures"].append(
            {
                "name": "smb_orders",
                "type": "count",
                "filters": [{"sql": "{customers}.segment = 'SMB'"}],
            }
        )

    assert (
        "smb_orders"
        in load_model(_edited_model(tmp_path, "cubes/orders.yml", add_measure))
        .cubes["orders"]
        .measures
    )


def test_prefix_applies_to_an_include_alias(tmp_path: Path) -> None:
    model = _edited_model(
        tmp_path,
        "views/customer_360.yml",
        lambda d: d["views"][0]["cubes"][1].__setitem__("prefix", True),
    )
    members = load_model(model).views[V].members
    assert "orders_order_count" in members and "order_count" not in members
    assert members["orders_order_count"].member == "count"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    path = build_warehouse(tmp_path_factory.mktemp("rules") / "w.duckdb", fixture_frames())
    return Engine(MODEL_PATH, path, as_of=AS_OF)


def test_limit_is_capped_as_in_cube(engine: Engine) -> None:
    with pytest.raises(QueryError, match="limit 50001 exceeds the query limit of 50000"):
        engine.compile(
            {"measures": [f"{V}.count"], "dimensions": [f"{V}.segment"], "limit": 50_001},
            role="executive",
        )
    small = Engine(engine.model, engine.database, as_of=AS_OF, max_limit=2)
    result = small.load({"dimensions": [f"{V}.segment"]}, role="executive")  # default capped
    assert len(result) == 2
    with pytest.raises(QueryError, match="semantic.query_limit"):
        small.compile({"dimensions": [f"{V}.segment"], "limit": 3}, role="executive")


@pytest.mark.parametrize(
    ("extra", "feature"),
    [
        (
            {
                "timeDimensions": [
                    {
                        "dimension": f"{V}.signup_date",
                        "granularity": "month",
                        "compareDateRange": [
                            ["2023-01-01", "2023-06-30"],
                            ["2023-07-01", "2023-12-31"],
                        ],
                    }
                ]
            },
            "compareDateRange",
        ),
        ({"ungrouped": True}, "ungrouped"),
        ({"total": True}, "total"),
        (
            {"timeDimensions": [{"dimension": f"{V}.signup_date", "granularity": "fortnight"}]},
            "custom granularities",
        ),
        ({"timezone": "Mars/Olympus_Mons"}, "unknown timezone 'Mars/Olympus_Mons'"),
    ],
)
def test_unsupported_features_are_named(engine: Engine, extra: dict, feature: str) -> None:
    with pytest.raises(QueryError, match=feature):
        engine.compile({"measures": [f"{V}.count"], **extra})


NOW = dt.date(2024, 6, 12)  # a Wednesday


@pytest.mark.parametrize(
    ("phrase", "start", "end"),
    [
        ("from 7 days ago to now", "2024-06-05", "2024-06-12"),
        # Cube's dateParser tests `today` / `yesterday` before `from ... to ...`: these phrases
        # are today and yesterday, whatever else they say
        ("from 3 days ago to today", "2024-06-12", "2024-06-12"),
        ("from yesterday to in 2 days", "2024-06-11", "2024-06-11"),
        ("from 2 days ago to in 2 days", "2024-06-10", "2024-06-14"),
        ("from 2024-01-01 to 2 days ago", "2024-01-01", "2024-06-10"),
        ("next 3 months", "2024-07-01", "2024-09-30"),
        ("next 2 weeks", "2024-06-17", "2024-06-30"),
        ("next month", "2024-07-01", "2024-07-31"),
        ("next quarter", "2024-07-01", "2024-09-30"),
        ("last 2 weeks", "2024-05-27", "2024-06-09"),
        ("this week", "2024-06-10", "2024-06-16"),
        ("tomorrow", "2024-06-13", "2024-06-13"),
        ("last 12 months", "2023-06-01", "2024-05-31"),
    ],
)
def test_relative_ranges_read_as_cube_reads_them(phrase: str, start: str, end: str) -> None:
    first, last = relative_range(phrase, NOW)
    assert first == dt.datetime.fromisoformat(start)
    assert last == dt.datetime.fromisoformat(end) + dt.timedelta(days=1, microseconds=-1)


def test_unreadable_relative_range_names_the_phrase() -> None:
    with pytest.raises(QueryError, match="cannot read date 'soon'"):
        relative_range("from soon to later", NOW)


def test_timezone_groups_by_local_day_and_filters_local_range(engine: Engine) -> None:
    """Stored times are UTC; with a timezone, days are Los Angeles days (Cube's convertTz)."""
    orders = fixture_frames()["orders"]
    local = (
        pd.to_datetime(orders.ordered_at)
        .dt.tz_localize("UTC")
        .dt.tz_convert("America/Los_Angeles")
        .dt.tz_localize(None)
    )
    in_range = local[(local >= "2024-03-01") & (local < "2024-03-08")]
    expected = in_range.dt.normalize().value_counts().sort_index()
    result = engine.load(
        {
            "measures": [f"{V}.order_count"],
            "timeDimensions": [
                {
                    "dimension": f"{V}.ordered_at",
                    "granularity": "day",
                    "dateRange": ["2024-03-01", "2024-03-07"],
                }
            ],
            "timezone": "America/Los_Angeles",
        },
        role="executive",
    )
    got = dict(zip(result[f"{V}.ordered_at.day"], result[f"{V}.order_count"], strict=True))
    assert got == {day: count for day, count in expected.items()}
