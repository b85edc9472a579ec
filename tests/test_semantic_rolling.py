"""Rolling windows as Cube plans them, on hand-made rows checked against pandas.

Month windows: each bucket counts rows in (bucket end - interval, bucket end] with the bucket end
its last instant, so month-end clamping (March 30 - 1 month = February 28) follows Cube.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from semantic.engine import Engine

MODEL = Path(__file__).parent / "fixtures" / "rolling_months"
DAYS = pd.to_datetime(
    [
        "2024-11-30",
        "2024-12-31",
        "2025-01-15",
        "2025-02-27",
        "2025-02-28",
        "2025-03-01",
        "2025-03-29",
        "2025-03-30",
        "2025-03-31",
        "2025-05-02",
    ]
)
CUSTOMERS = ["a", "b", "a", "c", "a", "b", "c", "c", "a", "b"]


@pytest.fixture(scope="module")
def engine() -> Engine:
    con = duckdb.connect()
    frame = pd.DataFrame({"id": range(len(DAYS)), "happened_at": DAYS, "customer_id": CUSTOMERS})
    con.register("events_frame", frame)
    con.execute("create table events as select * from events_frame")
    return Engine(MODEL, con, allow_private=True)


def _trailing(last: pd.Timestamp, offset: pd.DateOffset, grain: str = "D") -> pd.Series:
    """Rows in (last - offset, last] (pandas clamps month ends the way Cube's SQL does). Cube
    pre-aggregates additive measures at the finer of the window's and the query's granularity,
    so a row's time is first truncated to `grain` ("D" day, "MS" month)."""
    times = DAYS.to_period("M").to_timestamp() if grain == "MS" else DAYS.normalize()
    return (times > last - offset) & (times <= last)


def _as_list(frame: pd.DataFrame, column: str) -> list:
    return [None if pd.isna(v) else int(v) for v in frame[column]]


def test_trailing_month_by_day_clamps_at_month_ends(engine: Engine) -> None:
    result = engine.load(
        {
            "measures": ["events.count_1_month"],
            "timeDimensions": [
                {
                    "dimension": "events.happened_at",
                    "granularity": "day",
                    "dateRange": ["2025-03-27", "2025-03-31"],
                }
            ],
        }
    )
    expected = []
    for day in pd.date_range("2025-03-27", "2025-03-31"):
        last = day + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
        count = int(_trailing(last, pd.DateOffset(months=1)).sum())
        expected.append(count or None)  # Cube: an empty count window is NULL
    assert _as_list(result, "events.count_1_month") == expected
    # Feb 28 counts for March 27 (Feb 27 23:59 < row) but not for March 28-31 (clamped to Feb 28)
    assert expected[0] == expected[1] + 1


def test_trailing_three_months_by_month(engine: Engine) -> None:
    result = engine.load(
        {
            "measures": ["events.count_3_months"],
            "timeDimensions": [
                {
                    "dimension": "events.happened_at",
                    "granularity": "month",
                    "dateRange": ["2025-01-01", "2025-05-31"],
                }
            ],
        }
    )
    expected = []
    for month in pd.date_range("2025-01-01", "2025-05-01", freq="MS"):
        last = month + pd.offsets.MonthBegin(1) - pd.Timedelta(microseconds=1)
        expected.append(int(_trailing(last, pd.DateOffset(months=3), "MS").sum()) or None)
    assert _as_list(result, "events.count_3_months") == expected
    # February: Nov 30 2024 is inside (Nov 28, Feb 28] but its month start Nov 1 is not
    assert expected[1] == 4


def test_without_granularity_the_window_ends_at_the_range_end(engine: Engine) -> None:
    result = engine.load(
        {
            "measures": ["events.customers_30d"],
            "timeDimensions": [
                {"dimension": "events.happened_at", "dateRange": ["2025-03-01", "2025-03-31"]}
            ],
        }
    )
    last = pd.Timestamp("2025-03-31 23:59:59.999999")
    window = _trailing(last, pd.DateOffset(days=30))
    assert result["events.customers_30d"].tolist() == [
        len({c for c, inside in zip(CUSTOMERS, window, strict=True) if inside})
    ]


def test_rolling_next_to_regular_measure_keeps_only_common_rows(engine: Engine) -> None:
    """Cube inner-joins the rolling part with the regular one: days without rows drop out."""
    result = engine.load(
        {
            "measures": ["events.count", "events.count_1_month"],
            "timeDimensions": [
                {
                    "dimension": "events.happened_at",
                    "granularity": "day",
                    "dateRange": ["2025-03-01", "2025-03-31"],
                }
            ],
        }
    )
    in_range = sorted({d for d in DAYS if dt.date(2025, 3, 1) <= d.date() <= dt.date(2025, 3, 31)})
    assert result["events.happened_at.day"].tolist() == in_range


def test_empty_count_distinct_window_is_zero(engine: Engine) -> None:
    """count_distinct is not additive: Cube aggregates raw rows, so an empty window is 0."""
    result = engine.load(
        {
            "measures": ["events.customers_30d"],
            "timeDimensions": [
                {
                    "dimension": "events.happened_at",
                    "granularity": "day",
                    "dateRange": ["2025-04-30", "2025-05-01"],
                }
            ],
        }
    )
    assert result["events.customers_30d"].tolist() == [0, 0]
