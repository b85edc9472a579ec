"""The ```catalog``` component: every governed member, by title, with its description, format,
owner, certification, member name, definition (SQL, collapsed) and lineage (the cube member it
reads and the SQLMesh models behind that cube). Each row's id is the member name, so a KPI
tile links to its definition (`metric-catalogue.html#customer_health.at_risk_rate`)."""

from __future__ import annotations

from reports.components.html_table import Cell, Column, render_table
from reports.formats import MISSING
from reports.runner import QueryRunner
from reports.specs import CatalogSpec

COLUMNS = [
    Column("Metric or attribute"),
    Column("Description"),
    Column("Kind"),
    Column("Format"),
    Column("Owner"),
    Column("Certified"),
    Column("Member"),
    Column("Definition"),
    Column("SQLMesh models"),
]


def catalog_html(spec: CatalogSpec, runner: QueryRunner) -> str:
    rows, ids = [], []
    members = sorted(runner.members.values(), key=lambda m: ((m.title or m.name).lower(), m.name))
    for info in members:
        if spec.certified_only and not info.certified:
            continue
        ids.append(info.name)
        rows.append(
            [
                Cell(info.title or info.name, (info.title or info.name).lower()),
                Cell(info.description or MISSING),
                Cell(info.kind or MISSING),
                Cell(info.format or MISSING),
                Cell(info.owner or MISSING),
                Cell("yes" if info.certified else "no"),
                Cell(info.name, info.name, code=True),
                Cell(
                    "SQL" if info.sql else MISSING,
                    details=info.sql or None,
                    sort=info.source or None,
                ),
                Cell(", ".join(info.models) or MISSING),
            ]
        )
    return render_table(COLUMNS, rows, title=spec.title, row_ids=ids, empty="No governed members.")
