"""What a generation run produced: rows per table, planted defects per kind, elapsed time."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class GenerationReport:
    out_dir: Path
    customers: int
    months: int
    seed: int
    #: rows written per `<system>/<table>` (including planted extra rows)
    rows: dict[str, int] = field(default_factory=dict)
    #: planted defects per defect kind (duplicate_row, missing_key, ...)
    defects: dict[str, int] = field(default_factory=dict)
    #: rows carrying a case/whitespace variant that staging must standardise
    variants: int = 0
    files: int = 0
    seconds: float = 0.0

    def add(self, name: str, rows: int, defect_kinds: list[str]) -> None:
        """Count one written file: its rows and the kinds of its planted defects/variants."""
        self.rows[name] = self.rows.get(name, 0) + rows
        self.files += 1
        counts = Counter(defect_kinds)
        self.variants += counts.pop("standardisable_variant", 0)
        for kind, count in counts.items():
            self.defects[kind] = self.defects.get(kind, 0) + count

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def total_defects(self) -> int:
        return sum(self.defects.values())
