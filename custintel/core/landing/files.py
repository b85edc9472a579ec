"""Find the landing files of each contract table, and refuse by name every file that is not one.

Layout (documented in contract.yaml): `<system>/<table><suffix>` and/or any number of files
under `<system>/<table>/`, at any depth. Suffixes are matched case-insensitively: `.parquet`
(any codec inside), `.csv`, and compressed CSV as DuckDB reads it (`.csv.gz`, `.csv.zst`).

Inside a contract system's folder every entry is a file of a contract table or an error naming
it (an unknown table, an unsupported suffix, a symbolic link leaving the landing folder, a
symlinked folder, a FIFO or device). Names starting with `_` or `.` are metadata, never data
(the Hadoop / Spark convention: `_SUCCESS`, `.part-0.parquet.crc`, the generator's
`_manifest/`); they, files at the top of the landing folder (a README) and top-level folders
that are no contract system are listed as ignored, so every file is accounted for. Nothing is
opened here: a refused file is never read.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from custintel.core.landing.contract import Contract, Table

#: data file suffixes (lower case) -> (format, compression of the whole file)
SUPPORTED_SUFFIXES: dict[str, tuple[str, str | None]] = {
    ".csv.gz": ("csv", "gzip"),
    ".csv.zst": ("csv", "zstd"),
    ".parquet": ("parquet", None),
    ".csv": ("csv", None),
}


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
    format: str
    compression: str | None = None


@dataclass(frozen=True)
class Refusal:
    relative_path: str
    reason: str


@dataclass
class Discovery:
    """Every file under the landing folder: by table, refused (with why) or ignored (with why)."""

    root: Path
    files: dict[str, list[LandingFile]] = field(default_factory=dict)
    refused: list[Refusal] = field(default_factory=list)
    ignored: list[Refusal] = field(default_factory=list)

    @property
    def file_count(self) -> int:
        return sum(len(files) for files in self.files.values())

    def raise_if_refused(self) -> None:
        if not self.refused:
            return
        first, others = self.refused[0], self.refused[1:]
        more = ""
        if others:
            names = ", ".join(refusal.relative_path for refusal in others[:5])
            more = f" (and {len(others)} more refused: {names}{', ...' if len(others) > 5 else ''})"
        raise LandingError(self.root / first.relative_path, first.reason + more)


def data_suffix(name: str) -> str | None:
    """The supported suffix a file name ends with (case-insensitive), longest first."""
    lower = name.lower()
    for suffix in SUPPORTED_SUFFIXES:
        if lower.endswith(suffix) and len(name) > len(suffix):
            return suffix
    return None


def _is_metadata(name: str) -> bool:
    return name.startswith(("_", "."))


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _refusal_of_entry(path: Path, root: Path) -> str | None:
    """Why a directory entry cannot be read as data (checked with lstat/realpath, no open)."""
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        target = Path(os.path.realpath(path))
        if not _inside(target, root):
            return "symbolic link to a file outside the landing folder: refused, not read"
        if not target.exists():
            return "broken symbolic link"
        if target.is_dir():
            return "symbolic link to a folder: not followed (copy or link its files one by one)"
        info = target.stat()
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file (FIFO, socket or device): refused, not read"
    return None


class _Walker:
    """Classify every entry under one system folder."""

    def __init__(self, discovery: Discovery, tables: dict[str, Table]) -> None:
        self.discovery = discovery
        self.tables = tables

    def relative(self, path: Path) -> str:
        return path.relative_to(self.discovery.root).as_posix()

    def refuse(self, path: Path, reason: str) -> None:
        self.discovery.refused.append(Refusal(self.relative(path), reason))

    def ignore(self, path: Path, reason: str) -> None:
        self.discovery.ignored.append(Refusal(self.relative(path), reason))

    def accept(self, path: Path, table: Table, suffix: str) -> None:
        file_format, compression = SUPPORTED_SUFFIXES[suffix]
        self.discovery.files.setdefault(table.qualified_name, []).append(
            LandingFile(table, path, self.relative(path), file_format, compression)
        )

    def system_entry(self, path: Path) -> None:
        """An entry directly inside `<system>/`: a table file or a table's folder."""
        if _is_metadata(path.name):
            self.ignore(path, "name starts with '_' or '.': metadata, not data")
            return
        if path.is_dir() and not path.is_symlink():
            table = self.tables.get(path.name)
            if table is None:
                self.refuse(path, "folder of no contract table")
            else:
                self.table_folder(path, table)
            return
        reason = _refusal_of_entry(path, self.discovery.root)
        if reason:
            self.refuse(path, reason)
            return
        suffix = data_suffix(path.name)
        table = self.tables.get(path.name[: -len(suffix)]) if suffix else None
        if suffix is None:
            self.refuse(path, f"unsupported file type (expected {_suffix_list()})")
        elif table is None:
            self.refuse(path, "file of no contract table")
        else:
            self.accept(path, table, suffix)

    def table_folder(self, folder: Path, table: Table) -> None:
        """Every file under a table's folder, at any depth."""
        for entry in sorted(folder.iterdir()):
            if _is_metadata(entry.name):
                self.ignore(entry, "name starts with '_' or '.': metadata, not data")
            elif entry.is_dir() and not entry.is_symlink():
                self.table_folder(entry, table)
            elif reason := _refusal_of_entry(entry, self.discovery.root):
                self.refuse(entry, reason)
            elif (suffix := data_suffix(entry.name)) is None:
                self.refuse(entry, f"unsupported file type (expected {_suffix_list()})")
            else:
                self.accept(entry, table, suffix)


def _suffix_list() -> str:
    return ", ".join(SUPPORTED_SUFFIXES)


def scan(landing_dir: Path, contract: Contract) -> Discovery:
    """Classify every file under the landing folder (nothing is opened)."""
    if not landing_dir.is_dir():
        raise LandingError(landing_dir, "landing folder does not exist")
    root = Path(os.path.realpath(landing_dir))
    discovery = Discovery(root)
    for entry in sorted(root.iterdir()):
        if entry.name in contract.system_descriptions and entry.is_dir():
            if entry.is_symlink():
                discovery.refused.append(
                    Refusal(entry.name, "symbolic link to a folder: not followed")
                )
                continue
            tables = {t.name: t for t in contract.tables if t.system == entry.name}
            walker = _Walker(discovery, tables)
            for child in sorted(entry.iterdir()):
                walker.system_entry(child)
        else:
            what = "folder" if entry.is_dir() else "file"
            discovery.ignored.append(
                Refusal(entry.name, f"{what} at the top of the landing folder, not a system")
            )
    for files in discovery.files.values():
        files.sort(key=lambda file: file.relative_path)
    return discovery


def discover(landing_dir: Path, contract: Contract) -> dict[str, list[LandingFile]]:
    """All landing files by `<system>__<table>`; an error naming a refused or missing file."""
    return checked(scan(landing_dir, contract), contract).files


def checked(discovery: Discovery, contract: Contract) -> Discovery:
    """The discovery, or a LandingError for its first refused file or first missing table."""
    discovery.raise_if_refused()
    for table in contract.tables:
        if not discovery.files.get(table.qualified_name):
            raise LandingError(
                discovery.root / table.system / table.name,
                f"no landing file for {table.system}/{table.name}: expected "
                f"{table.name}.parquet, {table.name}.csv[.gz|.zst] or a folder {table.name}/ "
                "of such files",
            )
    return discovery


def is_empty(landing_dir: Path) -> bool:
    """True when the landing folder is missing or holds no data file at all."""
    if not landing_dir.is_dir():
        return True
    return not any(
        data_suffix(path.name)
        for path in landing_dir.rglob("*")
        if not any(_is_metadata(part) for part in path.relative_to(landing_dir).parts)
    )
