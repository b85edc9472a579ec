"""Typed Arrow tables in the landing contract's column order, and where each file goes.

Small tables are written as `<out>/<system>/<table>.parquet`; the large event tables as one
part file per month, `<out>/<system>/<table>/part-YYYY-MM.parquet`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from custintel.core.landing import Table, load_contract
from custintel.generate import churn, defects, offers
from custintel.generate.report import GenerationReport
from custintel.generate.streams import Stream, global_rng, month_rng

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "integer": pa.int64(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
}
#: tables written as monthly part files
PART_TABLES = frozenset(
    {
        ("network", "usage"),
        ("billing", "invoices"),
        ("billing", "orders"),
        ("marketing", "campaign_targets"),
        ("marketing", "retention_offers"),
        ("support", "kb_article_views"),
        ("support", "tickets"),
    }
)
MANIFEST_PATH = "_manifest/defects.parquet"
#: the simulation's planted truth beside the defect manifest (not part of the contract)
TRUTH_MANIFESTS = (offers.MANIFEST_PATH, churn.MANIFEST_PATH)
#: the defect stream of each table; tables added later go at the end so the defects planted in
#: the older tables do not move
DEFECT_STREAM_ORDER = (
    "crm/account_managers",
    "crm/customers",
    "crm/opportunities",
    "marketing/campaigns",
    "marketing/campaign_targets",
    "support/tickets",
    "support/kb_articles",
    "support/kb_article_views",
    "provisioning/services",
    "provisioning/service_assignments",
    "billing/invoices",
    "billing/orders",
    "network/usage",
    "marketing/retention_offers",
)
ColumnData: TypeAlias = pa.Array | pa.ChunkedArray | np.ndarray


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
            raise ValueError(
                f"{name}.{column.name}: {values.null_count} nulls in a non-nullable column"
            )
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


class FileWriter:
    """Appends chunks of one table's rows to one Parquet file, planting defects in each."""

    def __init__(
        self,
        sink: pq.ParquetWriter,
        table: Table,
        relative: str,
        rngs: Iterator[np.random.Generator],
        rate: float,
    ) -> None:
        self.sink, self.table, self.relative, self.rngs, self.rate = (
            sink,
            table,
            relative,
            rngs,
            rate,
        )
        self.rows = 0
        self.manifest: list[pa.Table] = []

    def write(self, data: Mapping[str, ColumnData]) -> None:
        clean = to_arrow(self.table, data)
        planted, manifest = defects.plant(
            clean, self.table, self.rate, next(self.rngs), self.relative
        )
        shifted = pc.add(manifest.column("source_row_number"), self.rows)
        self.manifest.append(
            manifest.set_column(
                manifest.schema.get_field_index("source_row_number"), "source_row_number", shifted
            )
        )
        self.sink.write_table(planted)
        self.rows += planted.num_rows


class LandingWriter:
    """Writes contract tables under `out_dir`, collecting the defect manifest and the report."""

    def __init__(self, out_dir: Path, seed: int, rate: float, report: GenerationReport) -> None:
        self.out_dir, self.seed, self.rate, self.report = out_dir, seed, rate, report
        self.contract = load_contract()
        self.manifest: list[pa.Table] = []

    def clear_previous(self) -> None:
        """Remove part files and the manifest of an earlier run (so no stale month survives)."""
        for table in self.contract.tables:
            if (table.system, table.name) in PART_TABLES:
                for part in (self.out_dir / table.system / table.name).glob("part-*.parquet"):
                    part.unlink()
        (self.out_dir / MANIFEST_PATH).unlink(missing_ok=True)
        for relative in TRUTH_MANIFESTS:
            (self.out_dir / relative).unlink(missing_ok=True)

    def _rngs(self, table: Table, month: int | None) -> Iterator[np.random.Generator]:
        index = DEFECT_STREAM_ORDER.index(f"{table.system}/{table.name}")
        chunk = 0
        while True:
            sub = index * 10_000 + chunk
            yield (
                global_rng(self.seed, Stream.DEFECTS, sub)
                if month is None
                else month_rng(self.seed, Stream.DEFECTS, month, sub)
            )
            chunk += 1

    @contextmanager
    def file(
        self, system: str, name: str, month: int | None = None, label: str | None = None
    ) -> Iterator[FileWriter]:
        """A writer for one file: a small table, or one month's part of an event table."""
        table = self.contract.table(system, name)
        relative = relative_path(table, label)
        path = self.out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with pq.ParquetWriter(path, _loose_schema(table), compression="zstd") as sink:
            file_writer = FileWriter(sink, table, relative, self._rngs(table, month), self.rate)
            yield file_writer
        manifest = pa.concat_tables([defects.MANIFEST_SCHEMA.empty_table(), *file_writer.manifest])
        self.manifest.append(manifest)
        self.report.add(
            f"{system}/{name}", file_writer.rows, manifest.column("defect_kind").to_pylist()
        )

    def write(
        self,
        system: str,
        name: str,
        data: Mapping[str, ColumnData],
        month: int | None = None,
        label: str | None = None,
    ) -> None:
        with self.file(system, name, month, label) as file_writer:
            file_writer.write(data)

    def write_manifest(self) -> None:
        manifest = pa.concat_tables([defects.MANIFEST_SCHEMA.empty_table(), *self.manifest])
        path = self.out_dir / MANIFEST_PATH
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(manifest, path, compression="zstd")

    def write_truth(self, relative: str, data: Mapping[str, ColumnData]) -> None:
        """One of the planted-truth manifests (`TRUTH_MANIFESTS`): the retention-offer
        experiment's effect per offer, the churn hazard per customer and month."""
        if relative not in TRUTH_MANIFESTS:
            raise ValueError(f"{relative}: not one of the truth manifests {TRUTH_MANIFESTS}")
        path = self.out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table(dict(data)), path, compression="zstd")
