"""Typed view of `contract.yaml`: source systems, their tables and columns."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

CONTRACT_PATH = Path(__file__).with_name("contract.yaml")

#: contract type -> DuckDB type used in the landing schema
DUCKDB_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool
    description: str
    allowed: tuple[str, ...] = ()
    pii: bool = False
    unit: str | None = None

    @property
    def duckdb_type(self) -> str:
        return DUCKDB_TYPES[self.type]


@dataclass(frozen=True)
class Table:
    system: str
    name: str
    description: str
    key: tuple[str, ...]
    columns: tuple[Column, ...] = field(default_factory=tuple)
    #: the date a row takes effect: a corrected, added or removed row restates the warehouse
    #: from it (custintel/core/landing/changes.py); None = from the beginning of history
    effective_date: str | None = None

    @property
    def qualified_name(self) -> str:
        """`<system>__<table>`: the table's name in the landing schema."""
        return f"{self.system}__{self.name}"

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.qualified_name} has no column {name!r}")

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]


@dataclass(frozen=True)
class Contract:
    version: int
    tables: tuple[Table, ...]
    system_descriptions: dict[str, str]

    def table(self, system: str, name: str) -> Table:
        for table in self.tables:
            if table.system == system and table.name == name:
                return table
        raise KeyError(f"the landing contract has no table {system}/{name}")


def _parse_column(name: str, spec: dict) -> Column:
    if spec["type"] not in DUCKDB_TYPES:
        raise ValueError(f"column {name}: unknown type {spec['type']!r}")
    return Column(
        name=name,
        type=spec["type"],
        nullable=bool(spec["nullable"]),
        description=spec["description"],
        allowed=tuple(spec.get("allowed", ())),
        pii=bool(spec.get("pii", False)),
        unit=spec.get("unit"),
    )


@cache
def load_contract(path: Path = CONTRACT_PATH) -> Contract:
    """Parse the landing contract (cached: it is read-only at run time)."""
    raw = yaml.safe_load(path.read_text())
    tables: list[Table] = []
    descriptions: dict[str, str] = {}
    for system, system_spec in raw["sources"].items():
        descriptions[system] = system_spec["description"]
        for table_name, spec in system_spec["tables"].items():
            columns = tuple(_parse_column(n, c) for n, c in spec["columns"].items())
            table = Table(
                system,
                table_name,
                spec["description"],
                tuple(spec["key"]),
                columns,
                spec.get("effective_date"),
            )
            missing = set(table.key) - set(table.column_names)
            if missing:
                raise ValueError(f"{table.qualified_name}: key columns {missing} not declared")
            if table.effective_date and table.column(table.effective_date).type not in (
                "date",
                "timestamp",
            ):
                raise ValueError(f"{table.qualified_name}: effective_date must be a date column")
            tables.append(table)
    return Contract(int(raw["version"]), tuple(tables), descriptions)
