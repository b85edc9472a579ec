"""SQL of cubes and members as SQLGlot expressions, with every cube aliased by its own name.

`MemberSql` renders: a cube's table (`sql_table`, or `sql` as a subquery), a join condition,
a dimension (time dimensions cast to TIMESTAMP), a segment, a measure's aggregate (`SUM(CASE
WHEN <filters> THEN <sql> END)`), a calculated measure over other measures, and masks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlglot import exp

from semantic.definitions import (
    AGGREGATE_TYPES,
    Cube,
    DataModel,
    Dimension,
    Join,
    Mask,
    Measure,
)
from semantic.errors import QueryError
from semantic.references import (
    Template,
    TemplateError,
    parse_query_template,
    parse_template,
    render,
)

TableMapper = Callable[[exp.Table], exp.Table]
SQL_TYPES = {"string": "VARCHAR", "number": "DOUBLE", "time": "TIMESTAMP", "boolean": "BOOLEAN"}


def sql_type(member_type: str) -> str:
    return SQL_TYPES.get(member_type, "DOUBLE")


def measure_result_type(measure: Measure) -> str:
    return measure.type if measure.type in ("string", "time", "boolean") else "number"


class MemberSql:
    """Renders model SQL for one query; `table_mapper` may redirect tables (e.g. dev schemas)."""

    def __init__(self, model: DataModel, table_mapper: TableMapper | None = None):
        self.model = model
        self.table_mapper = table_mapper
        self._stack: list[tuple[str, str]] = []

    # -- templates -------------------------------------------------------------------------
    def _template(self, sql: str, where: str) -> Template:
        try:
            return parse_template(sql)
        except TemplateError as exc:
            raise QueryError(f"{where}: {exc}") from exc

    def _render(
        self,
        cube: Cube,
        sql: str,
        where: str,
        member_sql: Callable[[str | None, str], exp.Expr] | None = None,
    ) -> exp.Expr:
        template = self._template(sql, where)

        def default_member(ref_cube: str | None, name: str) -> exp.Expr:
            return self.dimension(ref_cube or cube.name, name)

        try:
            return render(
                template,
                table_alias=lambda ref: ref or cube.name,
                member_sql=member_sql or default_member,
                self_alias=cube.name,
            )
        except TemplateError as exc:
            raise QueryError(f"{where}: {exc}") from exc

    def _guard(self, cube: str, name: str) -> None:
        if (cube, name) in self._stack:
            chain = " -> ".join(f"{c}.{n}" for c, n in [*self._stack, (cube, name)])
            raise QueryError(f"circular member reference: {chain}")

    # -- tables and joins ------------------------------------------------------------------
    def table(self, cube_name: str) -> exp.Expr:
        cube = self.model.cubes[cube_name]
        if cube.sql_table is not None:
            table = exp.to_table(cube.sql_table, dialect="duckdb")
            if self.table_mapper:
                table = self.table_mapper(table)
            return table.as_(cube.name)
        query = parse_query_template(cube.sql or "").expression.copy()
        if self.table_mapper:
            mapper = self.table_mapper
            query = query.transform(
                lambda node: mapper(node) if isinstance(node, exp.Table) else node
            )
        return exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier(cube.name)))

    def join_condition(self, join: Join) -> exp.Expr:
        cube = self.model.cubes[join.cube]
        return self._render(cube, join.sql, f"cube {cube.name} join {join.name}")

    # -- dimensions and segments -----------------------------------------------------------
    def dimension(self, cube_name: str, name: str) -> exp.Expr:
        cube = self.model.cubes[cube_name]
        dimension = cube.dimensions.get(name)
        if dimension is None:
            kind = "a measure" if name in cube.measures else "unknown"
            raise QueryError(f"cube {cube_name}: '{name}' is {kind}, not a dimension")
        self._guard(cube_name, name)
        self._stack.append((cube_name, name))
        try:
            expression = self._dimension_body(cube, dimension)
        finally:
            self._stack.pop()
        if dimension.type == "time":
            return exp.cast(expression, "TIMESTAMP")
        return expression

    def _dimension_body(self, cube: Cube, dimension: Dimension) -> exp.Expr:
        where = f"cube {cube.name} dimension {dimension.name}"
        if dimension.case is None:
            return self._render(cube, dimension.sql or "", where)
        case = exp.Case()
        for item in dimension.case.get("when", []):
            case = case.when(
                self._render(cube, str(item["sql"]), where), self._label(cube, item["label"], where)
            )
        otherwise = dimension.case.get("else")
        if isinstance(otherwise, dict) and "label" in otherwise:
            case = case.else_(self._label(cube, otherwise["label"], where))
        return case

    def _label(self, cube: Cube, label: Any, where: str) -> exp.Expr:
        if isinstance(label, dict) and "sql" in label:
            return self._render(cube, str(label["sql"]), where)
        return exp.Literal.string(str(label))

    def segment(self, cube_name: str, name: str) -> exp.Expr:
        cube = self.model.cubes[cube_name]
        return self._render(cube, cube.segments[name].sql, f"cube {cube_name} segment {name}")

    # -- measures --------------------------------------------------------------------------
    def measure(self, cube_name: str, name: str) -> Measure:
        return self.model.cubes[cube_name].measures[name]

    def is_leaf(self, cube_name: str, name: str) -> bool:
        """True when the measure aggregates rows itself (not SQL over other measures)."""
        measure = self.measure(cube_name, name)
        if measure.type in AGGREGATE_TYPES:
            return True
        return not self.measure_references(cube_name, name)

    def measure_references(self, cube_name: str, name: str) -> list[tuple[str, str]]:
        measure = self.measure(cube_name, name)
        template = self._template(measure.sql or "", f"cube {cube_name} measure {name}")
        found = []
        for ref in template.member_references():
            target = ref.cube or cube_name
            if ref.member in self.model.cubes[target].measures:
                found.append((target, ref.member))
        return found

    def leaves(self, cube_name: str, name: str) -> list[tuple[str, str]]:
        """The aggregating measures a (possibly calculated) measure is computed from."""
        if self.is_leaf(cube_name, name):
            return [(cube_name, name)]
        self._guard(cube_name, name)
        self._stack.append((cube_name, name))
        try:
            found: list[tuple[str, str]] = []
            for target in self.measure_references(cube_name, name):
                for leaf in self.leaves(*target):
                    if leaf not in found:
                        found.append(leaf)
            return found
        finally:
            self._stack.pop()

    def aggregate(self, cube_name: str, name: str) -> exp.Expr:
        """A leaf measure's aggregate over the joined rows (cube aliases in scope)."""
        cube = self.model.cubes[cube_name]
        measure = cube.measures[name]
        where = f"cube {cube_name} measure {name}"
        if measure.type not in AGGREGATE_TYPES:
            return self._render(cube, measure.sql or "", where)
        conditions = [self._render(cube, condition, where) for condition in measure.filters]
        if measure.sql is not None:
            value: exp.Expr = self._render(cube, measure.sql, where)
        elif cube.primary_keys:
            value = self.dimension(cube_name, cube.primary_keys[0].name)
            if measure.type == "count":
                value, conditions = _counted_key(value, conditions)
        else:
            value = exp.Literal.number(1)
        if conditions:
            value = exp.Case().when(exp.and_(*conditions), value)
        return _aggregate(
            measure.type,
            value,
            star=measure.sql is None and not conditions and not cube.primary_keys,
        )

    def calculated(
        self, cube_name: str, name: str, leaf: Callable[[str, str], exp.Expr]
    ) -> exp.Expr:
        """A measure over other measures, with `leaf(cube, measure)` for aggregated values."""
        if self.is_leaf(cube_name, name):
            return leaf(cube_name, name)
        cube = self.model.cubes[cube_name]
        measure = cube.measures[name]

        def member_sql(ref_cube: str | None, member: str) -> exp.Expr:
            target = ref_cube or cube_name
            if member in self.model.cubes[target].measures:
                return self.calculated(target, member, leaf)
            raise QueryError(
                f"cube {cube_name} measure {name}: calculated measures may only "
                f"reference measures, not '{target}.{member}'"
            )

        self._guard(cube_name, name)
        self._stack.append((cube_name, name))
        try:
            return self._render(
                cube, measure.sql or "", f"cube {cube_name} measure {name}", member_sql
            )
        finally:
            self._stack.pop()

    # -- masks -----------------------------------------------------------------------------
    def mask(self, cube_name: str, mask: Mask | None, member_type: str) -> exp.Expr:
        """The value a masked member shows: static value, mask SQL, or a typed NULL."""
        if mask is not None and mask.sql is not None:
            cube = self.model.cubes[cube_name]
            return self._render(cube, mask.sql, f"cube {cube_name} mask")
        if mask is not None and mask.value is not None:
            return exp.cast(exp.convert(mask.value), sql_type(member_type))
        return exp.cast(exp.null(), sql_type(member_type))


_NULL_PROPAGATING = (exp.DPipe, exp.Cast, exp.Column, exp.Paren, exp.Identifier)


def _counted_key(key: exp.Expr, conditions: list[exp.Expr]) -> tuple[exp.Expr, list[exp.Expr]]:
    """`count` without `sql` counts rows with a non-null primary key (Cube: `count(pk)`). A key
    built with `||` and casts from columns (`{CUBE}.id || '/' || CAST(month AS VARCHAR)`) is
    null exactly when one of its columns is, so the count tests those columns instead of
    building a string per row (the same count, without the string work)."""
    nodes = list(key.walk())
    literals = [n for n in nodes if isinstance(n, exp.Literal)]
    others = [n for n in nodes if not isinstance(n, exp.Literal | exp.DataType)]
    columns = [n for n in nodes if isinstance(n, exp.Column)]
    if (
        len(columns) < 2
        or not all(isinstance(n, _NULL_PROPAGATING) for n in others)
        or any(not isinstance(n.parent, exp.DPipe | exp.Paren) for n in literals)
    ):
        return key, conditions
    present = [
        exp.Not(this=exp.Is(this=column.copy(), expression=exp.Null())) for column in columns
    ]
    return exp.Literal.number(1), [*conditions, *present]


def _aggregate(measure_type: str, value: exp.Expr, star: bool) -> exp.Expr:
    if measure_type == "count":
        return exp.Count(this=exp.Star() if star else value)
    if measure_type == "count_distinct":
        return exp.Count(this=exp.Distinct(expressions=[value]))
    if measure_type == "count_distinct_approx":
        return exp.ApproxDistinct(this=value)
    if measure_type in ("sum", "running_total"):
        return exp.Sum(this=value)
    if measure_type == "avg":
        return exp.Avg(this=value)
    if measure_type == "min":
        return exp.Min(this=value)
    if measure_type == "max":
        return exp.Max(this=value)
    raise QueryError(f"measure type '{measure_type}' is not supported")
