"""Fixture warehouse and model for the semantic-layer tests (tests/test_semantic_*.py).

`fixture_frames()` builds small deterministic tables with pandas; `build_warehouse(path)`
writes them to a DuckDB file under the schemas the fixture model reads. Tests compute their
expected values from the same frames with pandas, independently of the engine.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import duckdb
import pandas as pd

FIXTURE_ROOT = Path(__file__).parent / "fixtures" / "semantic"
MODEL_PATH = FIXTURE_ROOT / "model"
METRIC_TESTS_PATH = FIXTURE_ROOT / "metric_tests"
AS_OF = dt.date(2024, 6, 30)

TABLES = {
    "marts.fixture_customers": "customers",
    "warehouse.fact_order": "orders",
    "warehouse.fact_support_ticket": "tickets",
    "warehouse.fact_activity": "activity",
}


def fixture_frames(seed: int = 11) -> dict[str, pd.DataFrame]:
    """Customers, orders, tickets and daily activity for 24 customers over H1 2024."""
    rng = random.Random(seed)
    segments = ["Residential", "SMB", "Enterprise", "Government"]
    customers = []
    for number in range(1, 25):
        segment = segments[number % 4]
        customers.append(
            {
                "customer_id": f"C{number:03d}",
                "full_name": f"Customer {number} O'Brien" if number == 3 else f"Customer {number}",
                "email": f"customer{number}@example{number % 3}.com",
                "phone": f"555-01{number:02d}",
                "segment": segment,
                "account_manager_id": None if segment == "Residential" else f"am_{number % 2 + 1}",
                "status": "Churned" if number % 5 == 0 else "Active",
                "signup_date": dt.date(2023, 1 + number % 12, 1 + number % 27),
            }
        )
    orders, tickets, activity = [], [], []
    for customer in customers:
        number = int(customer["customer_id"][1:])
        for index in range(number % 4):  # customers 4, 8, ... have no orders
            orders.append(
                {
                    "order_id": f"O{number:03d}{index}",
                    "customer_id": customer["customer_id"],
                    "ordered_at": dt.date(2024, 1 + (number + index) % 6, 1 + (number * 3) % 28),
                    "amount": float(rng.randint(20, 400)),
                    "discount_amount": float(rng.choice([0, 0, 5, 10])),
                    "status": "completed" if (number + index) % 3 else "cancelled",
                }
            )
        for index in range(number % 3):
            tickets.append(
                {
                    "ticket_id": f"T{number:03d}{index}",
                    "customer_id": customer["customer_id"],
                    "opened_at": dt.datetime(2024, 1 + (number + 2 * index) % 6, 2 + index, 9, 30),
                    "csat": None if (number + index) % 4 == 0 else rng.randint(1, 5),
                }
            )
        day = dt.date(2024, 1, 1) + dt.timedelta(days=number * 2)
        while day <= AS_OF:
            if rng.random() < 0.15:
                activity.append(
                    {
                        "activity_id": f"A{number:03d}{day:%m%d}",
                        "customer_id": customer["customer_id"],
                        "activity_date": day,
                    }
                )
            day += dt.timedelta(days=1 + number % 5)
    frames = {
        "customers": pd.DataFrame(customers),
        "orders": pd.DataFrame(orders),
        "tickets": pd.DataFrame(tickets),
        "activity": pd.DataFrame(activity),
    }
    frames["orders"]["ordered_at"] = pd.to_datetime(frames["orders"]["ordered_at"])
    frames["activity"]["activity_date"] = pd.to_datetime(frames["activity"]["activity_date"])
    frames["customers"]["signup_date"] = pd.to_datetime(frames["customers"]["signup_date"])
    frames["tickets"]["csat"] = frames["tickets"]["csat"].astype("Int64")
    return frames


def write_tables(con: duckdb.DuckDBPyConnection, frames: dict[str, pd.DataFrame]) -> None:
    """Create the fixture tables (dates as DATE, like the warehouse) in `con`."""
    date_columns = {
        "orders": ["ordered_at"],
        "activity": ["activity_date"],
        "customers": ["signup_date"],
    }
    for table, key in TABLES.items():
        schema = table.split(".")[0]
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        frame = frames[key]
        con.register("frame", frame)
        casts = ", ".join(
            f"CAST({column} AS DATE) AS {column}" if column in date_columns.get(key, []) else column
            for column in frame.columns
        )
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT {casts} FROM frame")
        con.unregister("frame")


def build_warehouse(path: Path, frames: dict[str, pd.DataFrame] | None = None) -> Path:
    """A DuckDB file holding the fixture tables; returns its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        write_tables(con, frames or fixture_frames())
    finally:
        con.close()
    return path
