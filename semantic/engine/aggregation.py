"""Per-cube aggregation subqueries, and the final query that joins them on the dimensions.

Fan-out is avoided the way Cube does: measures are grouped by the cube that owns them (and by
rolling window); each group aggregates at its own grain with the requested dimensions, and the
groups are joined on the dimension values (null-safe). When the join tree multiplies a cube's
rows, its group first takes the DISTINCT (dimensions, primary key, referenced columns) rows, so
each row of the cube counts once per dimension value. Rolling-window groups join a series of
time buckets (bound parameters) to their rows over the window, like Cube's time series.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlglot import exp

from semantic.definitions import RollingWindow, parse_interval
from semantic.engine.params import ParamBinder

BASE_ALIAS = "b"
SERIES_ALIAS = "s"


@dataclass
class DimColumn:
    """A dimension column of the result: `alias` (d0, d1...) and its base-row expression."""

    alias: str
    expression: exp.Expression
    raw_time: exp.Expression | None = None  # untruncated time for rolling windows


@dataclass
class RollingSpec:
    """The time dimension a rolling window runs over, its buckets, and its output column."""

    dim_alias: str | None  # None when the query has a date range but no granularity
    raw_time: exp.Expression
    buckets: list[tuple[dt.datetime, dt.datetime]]
    range_condition_key: int  # index of the date-range condition the series replaces


@dataclass
class Group:
    """Leaf measures of one cube (and one rolling window) aggregated together."""

    name: str
    cube: str
    window: RollingWindow | None
    multiplied: bool
    primary_keys: list[exp.Expression]
    measures: dict[tuple[str, str], exp.Expression] = field(default_factory=dict)
    aliases: dict[tuple[str, str], str] = field(default_factory=dict)


def _interval(text: str) -> tuple[int, str] | None:
    return parse_interval(text)


def _shift(anchor: exp.Expression, text: str | None, sign: int) -> exp.Expression | None:
    """anchor +/- interval; None when the interval is unbounded."""
    if text is None:
        return anchor
    parsed = _interval(text)
    if parsed is None:
        return None
    count, unit = parsed
    node = exp.DateAdd if sign > 0 else exp.DateSub
    return node(this=anchor, expression=exp.Literal.number(count), unit=exp.var(unit.upper()))


def window_condition(window: RollingWindow, time: exp.Expression, start: exp.Expression,
                     following: exp.Expression, from_start_to_end: bool) -> exp.Expression:
    """Rows of a bucket [start, following) under Cube's rolling_window semantics."""
    conditions: list[exp.Expression] = []
    if window.trailing != "unbounded" and not (window.trailing is None and window.leading
                                               is None):
        anchor = start if (from_start_to_end or window.offset == "start") else following
        lower = _shift(anchor.copy(), window.trailing, -1)
        if lower is not None:
            conditions.append(exp.GTE(this=time.copy(), expression=lower))
    if window.leading != "unbounded":
        anchor = following if (from_start_to_end or window.offset == "end") else start
        upper = _shift(anchor.copy(), window.leading, 1)
        if upper is not None:
            conditions.append(exp.LT(this=time.copy(), expression=upper))
    return exp.and_(*conditions) if conditions else exp.true()


def _referenced_columns(expressions: list[exp.Expression], aliases: set[str]
                        ) -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for expression in expressions:
        for column in expression.find_all(exp.Column):
            if column.table in aliases and not column.find_ancestor(exp.Select):
                key = (column.table, column.name)
                found.setdefault(key, f"c{len(found)}")
    return found


def _rewrite(expression: exp.Expression, columns: dict[tuple[str, str], str]) -> exp.Expression:
    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and (node.table, node.name) in columns:
            return exp.column(columns[(node.table, node.name)], table=BASE_ALIAS)
        return node

    return expression.copy().transform(swap)


def _series(binder: ParamBinder, buckets: list[tuple[dt.datetime, dt.datetime]]
            ) -> exp.Expression:
    rows = [exp.tuple_(binder.bind(start, "TIMESTAMP"), binder.bind(following, "TIMESTAMP"))
            for start, following in buckets]
    return exp.Values(expressions=rows)


def group_ctes(
    group: Group,
    dims: list[DimColumn],
    source: exp.Select,
    conditions: dict[int, exp.Expression],
    cube_aliases: set[str],
    rolling: RollingSpec | None,
    binder: ParamBinder,
) -> list[tuple[str, exp.Expression]]:
    """The CTEs computing one group: (name, query) pairs, the last one named `group.name`."""
    use_rolling = group.window is not None and rolling is not None
    where = [c for key, c in conditions.items()
             if not (use_rolling and rolling is not None and key == rolling.range_condition_key)]
    if not group.multiplied and not use_rolling:
        select = source.copy()
        for dim in dims:
            select = select.select(exp.alias_(dim.expression.copy(), dim.alias))
        for key, aggregate in group.measures.items():
            select = select.select(exp.alias_(aggregate.copy(), group.aliases[key]))
        if where:
            select = select.where(*[c.copy() for c in where])
        if dims:
            select = select.group_by(*[dim.expression.copy() for dim in dims])
        return [(group.name, select)]
    return _grouped_from_base(group, dims, source, where, cube_aliases,
                              rolling if use_rolling else None, binder)


def _grouped_from_base(group: Group, dims: list[DimColumn], source: exp.Select,
                       where: list[exp.Expression], cube_aliases: set[str],
                       rolling: RollingSpec | None, binder: ParamBinder
                       ) -> list[tuple[str, exp.Expression]]:
    base_name, series_name = f"{group.name}_rows", f"{group.name}_series"
    columns = _referenced_columns(list(group.measures.values()), cube_aliases)
    base = source.copy()
    rolling_alias = rolling.dim_alias if rolling else None
    for dim in dims:
        if rolling is not None and dim.alias == rolling_alias:
            continue
        base = base.select(exp.alias_(dim.expression.copy(), dim.alias))
    if rolling is not None:
        base = base.select(exp.alias_(rolling.raw_time.copy(), "__t"))
    if group.multiplied:
        for index, key in enumerate(group.primary_keys):
            base = base.select(exp.alias_(key.copy(), f"__pk{index}"))
    for (table, name), alias in columns.items():
        base = base.select(exp.alias_(exp.column(name, table=table), alias))
    if not base.expressions:
        base = base.select(exp.alias_(exp.Literal.number(1), "__row"))
    if where:
        base = base.where(*[c.copy() for c in where])
    if group.multiplied:
        base = base.distinct()
    ctes: list[tuple[str, exp.Expression]] = [(base_name, base)]
    aggregated = exp.select()
    group_by: list[exp.Expression] = []
    if rolling is not None:
        ctes.append((series_name, exp.select("__start", "__next").from_(
            exp.Subquery(this=_series(binder, rolling.buckets),
                         alias=exp.TableAlias(this=exp.to_identifier("v"),
                                              columns=[exp.to_identifier("__start"),
                                                       exp.to_identifier("__next")])))))
        condition = window_condition(
            group.window or RollingWindow(), exp.column("__t", table=BASE_ALIAS),
            exp.column("__start", table=SERIES_ALIAS), exp.column("__next", table=SERIES_ALIAS),
            from_start_to_end=rolling.dim_alias is None)
        aggregated = aggregated.from_(exp.to_table(series_name).as_(SERIES_ALIAS)).join(
            exp.to_table(base_name).as_(BASE_ALIAS), on=condition, join_type="left")
    else:
        aggregated = aggregated.from_(exp.to_table(base_name).as_(BASE_ALIAS))
    for dim in dims:
        if rolling is not None and dim.alias == rolling_alias:
            value = exp.column("__start", table=SERIES_ALIAS)
        else:
            value = exp.column(dim.alias, table=BASE_ALIAS)
        aggregated = aggregated.select(exp.alias_(value, dim.alias))
        group_by.append(value.copy())
    for key, aggregate in group.measures.items():
        aggregated = aggregated.select(exp.alias_(_rewrite(aggregate, columns),
                                                  group.aliases[key]))
    if group_by:
        aggregated = aggregated.group_by(*group_by)
    ctes.append((group.name, aggregated))
    return ctes


def combined_source(groups: list[str], dims: list[DimColumn]
                    ) -> tuple[list[tuple[str, exp.Expression]], exp.Select, str]:
    """FROM clause joining group results on the dimensions; returns (extra CTEs, select,
    alias holding the dimension columns)."""
    if len(groups) == 1:
        return [], exp.select().from_(exp.to_table(groups[0])), groups[0]
    if not dims:
        select = exp.select().from_(exp.to_table(groups[0]))
        for name in groups[1:]:
            select = select.join(exp.to_table(name), join_type="cross")
        return [], select, groups[0]
    keys = exp.union(*[exp.select(*[dim.alias for dim in dims]).from_(name)
                       for name in groups], distinct=True)
    select = exp.select().from_(exp.to_table("keys"))
    for name in groups:
        on = exp.and_(*[exp.NullSafeEQ(this=exp.column(dim.alias, table="keys"),
                                       expression=exp.column(dim.alias, table=name))
                        for dim in dims])
        select = select.join(exp.to_table(name), on=on, join_type="left")
    return [("keys", keys)], select, "keys"
