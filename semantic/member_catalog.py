"""The metric catalogue: every public view member with its description, owner, format and SQL."""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from semantic.definitions import DataModel, Dimension, Measure
from semantic.engine.members import MemberSql


@dataclass(frozen=True)
class CatalogEntry:
    name: str  # view.member, as queried
    kind: str  # measure, dimension or segment
    type: str
    title: str | None
    description: str | None
    owner: str | None
    format: str | None  # Cube's format: currency, percent, number (or a dimension's id, link)
    unit: str | None  # meta.unit: days, months, hours (a number shown with its unit)
    decimals: int | None  # meta.decimals: digits shown (0: a whole number)
    certified: bool
    sql: str  # the member's definition compiled to SQL (DuckDB)
    source: str  # cube.member it reads


def member_sql(model: DataModel, cube: str, name: str) -> str:
    """A member's definition as SQL: aggregate for measures, expression for dimensions."""
    renderer = MemberSql(model)
    member = model.cubes[cube].member(name)
    expression: exp.Expr
    if isinstance(member, Measure):
        expression = renderer.calculated(cube, name, lambda c, n: renderer.aggregate(c, n))
        if member.rolling_window is not None:
            window = member.rolling_window
            parts = [
                f"trailing {window.trailing}" if window.trailing else "",
                f"leading {window.leading}" if window.leading else "",
            ]
            window_text = " ".join(part for part in parts if part)
            return f"{expression.sql('duckdb')}  -- rolling window: {window_text}"
    elif isinstance(member, Dimension):
        expression = renderer.dimension(cube, name)
    else:
        expression = renderer.segment(cube, name)
    return expression.sql("duckdb")


def build_catalog(model: DataModel, include_private: bool = False) -> list[CatalogEntry]:
    """Entries for the members of public views (all views with include_private)."""
    entries = []
    for view in sorted(model.views.values(), key=lambda v: v.name):
        if not view.public and not include_private:
            continue
        for member in view.members.values():
            definition = model.cubes[member.cube].member(member.member)
            if definition is None or (not definition.public and not include_private):
                continue
            meta = getattr(definition, "meta", {}) or {}
            entries.append(
                CatalogEntry(
                    name=f"{view.name}.{member.name}",
                    kind=member.kind,
                    type=getattr(definition, "type", "boolean"),
                    title=member.title,
                    description=member.description,
                    owner=meta.get("owner"),
                    format=getattr(definition, "format", None),
                    unit=meta.get("unit"),
                    decimals=meta.get("decimals"),
                    certified=bool(meta.get("certified", False)),
                    sql=member_sql(model, member.cube, member.member),
                    source=f"{member.cube}.{member.member}",
                )
            )
    return entries
