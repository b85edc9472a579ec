"""`count` without `sql` on a cube whose primary key is built with `||` (e.g. customer and
month): Cube counts rows with a non-null key; the engine tests the key's columns instead of
building the string per row. Same counts, including rows where a key column is NULL."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml

from semantic.engine import Engine

ROWS = [
    ("c1", "2024-01-01", True, "SMB"),
    ("c1", "2024-02-01", False, "SMB"),
    ("c2", "2024-01-01", True, "Enterprise"),
    ("c2", None, True, "Enterprise"),
    (None, "2024-01-01", True, "SMB"),
    ("c3", "2024-02-01", True, None),
]


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    model = {
        "cubes": [
            {
                "name": "months",
                "sql_table": "main.months",
                "dimensions": [
                    {
                        "name": "month_id",
                        "type": "string",
                        "primary_key": True,
                        "sql": "{CUBE}.customer_id || '/' || CAST({CUBE}.month_start AS VARCHAR)",
                    },
                    {"name": "segment", "type": "string", "sql": "segment"},
                    {"name": "month", "type": "time", "sql": "month_start"},
                ],
                "measures": [
                    {"name": "count", "type": "count"},
                    {"name": "active", "type": "count", "filters": [{"sql": "{CUBE}.is_active"}]},
                    {
                        "name": "active_ids",
                        "type": "count_distinct",
                        "sql": "customer_id",
                        "filters": [{"sql": "{CUBE}.is_active"}],
                    },
                ],
            }
        ]
    }
    root = tmp_path / "model"
    (root / "cubes").mkdir(parents=True)
    (root / "cubes" / "months.yml").write_text(yaml.safe_dump(model))
    con = duckdb.connect()
    con.execute(
        "create table months (customer_id varchar, month_start date, "
        "is_active boolean, segment varchar)"
    )
    con.executemany("insert into months values (?, ?, ?, ?)", ROWS)
    return Engine(root, con, allow_private=True)


def test_counts_skip_rows_with_a_null_key_column(engine: Engine) -> None:
    query = {
        "measures": ["months.count", "months.active"],
        "dimensions": ["months.segment"],
        "order": {"months.segment": "asc"},
    }
    compiled = engine.compile(query)
    assert "||" not in compiled.sql.split("FROM")[0]  # no key string built to count
    frame = engine.load(query)
    got = {(s if s == s else None): (c, a) for s, c, a in frame.itertuples(index=False, name=None)}
    expected: dict[str | None, tuple[int, int]] = {}
    for customer, month, active, segment in ROWS:
        counted = customer is not None and month is not None
        total, actives = expected.get(segment, (0, 0))
        expected[segment] = (total + counted, actives + (counted and active))
    assert got == expected  # by hand: c1 x2 and c3 counted, the NULL-key rows are not


def test_the_same_counts_as_counting_the_key_itself(engine: Engine) -> None:
    with engine.connection() as con:
        by_key = con.execute("""
            select count(customer_id || '/' || cast(month_start as varchar)),
                   count(case when is_active
                              then customer_id || '/' || cast(month_start as varchar) end)
            from months""").fetchone()
    frame = engine.load({"measures": ["months.count", "months.active"]})
    assert tuple(frame.iloc[0]) == by_key == (4, 3)
