"""The ```catalog``` component: every governed member with description, owner, format, SQL and
lineage (the cube member it reads and the SQLMesh models behind that cube)."""

from __future__ import annotations

from reports.components.html_table import Cell, Column, render_table
from reports.formats import MISSING
from reports.runner import QueryRunner
from reports.specs import CatalogSpec

COLUMNS = [Column("Member"), Column("Kind"), Column("Title"), Column("Description"),
           Column("Format"), Column("Owner"), Column("Certified"), Column("SQL"),
           Column("Reads"), Column("SQLMesh models")]


def catalog_html(spec: CatalogSpec, runner: QueryRunner) -> str:
    rows = []
    for info in sorted(runner.members.values(), key=lambda m: m.name):
        if spec.certified_only and not info.certified:
            continue
        rows.append([
            Cell(info.name, info.name, code=True),
            Cell(info.kind or MISSING),
            Cell(info.title or MISSING),
            Cell(info.description or MISSING),
            Cell(info.format or MISSING),
            Cell(info.owner or MISSING),
            Cell("yes" if info.certified else "no"),
            Cell(info.sql or MISSING, code=bool(info.sql)),
            Cell(info.source or MISSING, code=bool(info.source)),
            Cell(", ".join(info.models) or MISSING, code=bool(info.models)),
        ])
    return render_table(COLUMNS, rows, title=spec.title)
