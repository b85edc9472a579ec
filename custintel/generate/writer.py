"""Typed Arrow tables in the landing contract's column order, and where each file goes.

Small tables are written as `<out>/<system>/<table>.parquet`; the large event tables as one
part file per month, `<out>/<system>/<table>/part-YYYY-MM.parquet`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from custintel.landing import Table

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "integer": pa.int64(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
}
#: tables written as monthly part files
PART_TABLES = frozenset({
    ("network", "usage"),
    ("billing", "invoices"),
    ("billing", "orders"),
    ("marketing", "campaign_targets"),
    ("support", "kb_article_views"),
    ("support", "tickets"),
})
MANIFEST_PATH = "_manifest/defects.parquet"
ColumnData = pa.Array | pa.ChunkedArray | np.ndarray


def to_arrow(table: Table, data: Mapping[str, ColumnData]) -> pa.Table:
    """An Arrow table with the contract's columns and types; rejects missing/extra columns and
    nulls in non-nullable columns (the planted defects are added afterwards)."""
    name = f"{table.system}/{table.name}"
    missing = [c for c in table.column_names if c not in data]
    extra = [c for c in data if c not in table.column_names]
    if missing or extra:
        raise ValueError(f"{name}: columns missing {missing}, unexpected {extra}")
    arrays = []
    for column in table.columns:
        values = data[column.name]
        if isinstance(values, np.ndarray):
            values = pa.array(values)
        values = values.cast(ARROW_TYPES[column.type])
        if not column.nullable and values.null_count:
            raise ValueError(f"{name}.{column.name}: {values.null_count} nulls in a "
                             "non-nullable column")
        arrays.append(values)
    return pa.Table.from_arrays(arrays, schema=_loose_schema(table))


def _loose_schema(table: Table) -> pa.Schema:
    """The contract schema with every field nullable (planted missing keys are nulls)."""
    return pa.schema([pa.field(c.name, ARROW_TYPES[c.type]) for c in table.columns])


def relative_path(table: Table, month_label: str | None = None) -> str:
    """The file's path relative to the landing folder, as the loader records it."""
    if (table.system, table.name) in PART_TABLES:
        if month_label is None:
            raise ValueError(f"{table.system}/{table.name} is written in monthly parts")
        return f"{table.system}/{table.name}/part-{month_label}.parquet"
    return f"{table.system}/{table.name}.parquet"


def write(data: pa.Table, out_dir: Path, relative: str) -> None:
    path = out_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(data, path, compression="zstd")


def clear_previous(out_dir: Path, tables: list[Table]) -> None:
    """Remove part files and the manifest of an earlier run (so no stale month survives)."""
    for table in tables:
        if (table.system, table.name) in PART_TABLES:
            for part in (out_dir / table.system / table.name).glob("part-*.parquet"):
                part.unlink()
    manifest = out_dir / MANIFEST_PATH
    if manifest.exists():
        manifest.unlink()
