"""The warehouse's "as of" date: the last day present in the landed event data.

Marts and SQLMesh intervals are computed up to this date, never up to `now()`, so a build is
reproducible and a new month of landing data is exactly a new set of intervals. Dates later than
today are planted defects (quarantined downstream) and are ignored here.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

#: landed event tables and their date columns that define the data's extent
EVENT_DATE_COLUMNS: dict[str, str] = {
    "network__usage": "usage_date",
    "billing__invoices": "invoice_date",
    "billing__orders": "ordered_at",
}


def landing_as_of_date(warehouse_path: Path, today: dt.date | None = None) -> dt.date | None:
    """The last event date (<= today) in the landing schema, or None when nothing is landed."""
    today = today or dt.date.today()
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        values = []
        for table, column in EVENT_DATE_COLUMNS.items():
            row = con.execute(
                f'select max(cast("{column}" as date)) from landing.{table} '
                f'where cast("{column}" as date) <= ?',
                [today],
            ).fetchone()
            if row and row[0]:
                values.append(row[0])
    return max(values) if values else None
