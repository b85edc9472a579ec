"""Find the landing files of each contract table: a Parquet or CSV file, or a folder of parts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from custintel.landing.contract import Contract, Table

SUPPORTED_SUFFIXES = (".parquet", ".csv")


class LandingError(ValueError):
    """A landing file is missing or cannot be read as its contract says.

    The message names the file and, where it applies, the row and the column.
    """

    def __init__(
        self, file: Path | str, reason: str, *, column: str | None = None, row: int | None = None
    ) -> None:
        self.file = str(file)
        self.column = column
        self.row = row
        self.reason = reason
        where = [f"file {self.file}"]
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {reason}")


@dataclass(frozen=True)
class LandingFile:
    table: Table
    path: Path
    relative_path: str

    @property
    def format(self) -> str:
        return self.path.suffix.lstrip(".")


def table_files(landing_dir: Path, table: Table) -> list[LandingFile]:
    """The files holding one table, in a stable order; an error if there are none."""
    system_dir = landing_dir / table.system
    candidates: list[Path] = [system_dir / f"{table.name}{s}" for s in SUPPORTED_SUFFIXES]
    found = [path for path in candidates if path.is_file()]
    part_dir = system_dir / table.name
    if part_dir.is_dir():
        found += sorted(
            path
            for path in part_dir.iterdir()
            if path.is_file() and path.suffix in SUPPORTED_SUFFIXES
        )
    if not found:
        raise LandingError(
            system_dir / table.name,
            f"no landing file for {table.system}/{table.name}: expected {table.name}.parquet, "
            f"{table.name}.csv or a folder {table.name}/ of .parquet/.csv parts",
        )
    return [LandingFile(table, path, path.relative_to(landing_dir).as_posix()) for path in found]


def discover(landing_dir: Path, contract: Contract) -> dict[str, list[LandingFile]]:
    """All landing files by `<system>__<table>`; folders starting with '_' are not sources."""
    if not landing_dir.is_dir():
        raise LandingError(landing_dir, "landing folder does not exist")
    return {table.qualified_name: table_files(landing_dir, table) for table in contract.tables}


def is_empty(landing_dir: Path) -> bool:
    """True when the landing folder is missing or holds no data file at all."""
    if not landing_dir.is_dir():
        return True
    return not any(
        path.suffix in SUPPORTED_SUFFIXES
        for path in landing_dir.rglob("*")
        if not any(part.startswith("_") for part in path.relative_to(landing_dir).parts)
    )
