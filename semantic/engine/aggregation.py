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
    expression: exp.Expr
    raw_time: exp.Expr | None = None  # untruncated time for rolling windows


@dataclass
class RollingSpec:
    """The time dimension rolling windows run over, as Cube's planner uses it.

    With a granularity: a series of buckets (date_from, date_to inclusive) joined to the rows
    over each measure's window; `series_dims` are the grouped time columns of that dimension
    (alias -> granularity; each shows its bucket start truncated to its granularity). Without a
    granularity: the window is one condition on the rows, anchored at the date range.
    """

    raw_time: exp.Expr  # the dimension in the query's time zone, untruncated
    granularity: str | None  # the series granularity (the finest requested); None: no series
    buckets: list[tuple[dt.datetime, dt.datetime]]
    range_from: dt.datetime
    range_to: dt.datetime
    range_condition_keys: set[int]  # date-range conditions the window replaces
    series_dims: dict[str, str] = field(default_factory=dict)


@dataclass
class Group:
    """Leaf measures of one cube (and one rolling window) aggregated together."""

    name: str
    cube: str
    window: RollingWindow | None
    multiplied: bool
    primary_keys: list[exp.Expr]
    measures: dict[tuple[str, str], exp.Expr] = field(default_factory=dict)
    aliases: dict[tuple[str, str], str] = field(default_factory=dict)
    types: dict[tuple[str, str], str] = field(default_factory=dict)
    additive: bool = True


RUNNING_TOTAL = RollingWindow(type="running_total")
ADDITIVE_TYPES = ("sum", "count", "count_distinct_approx", "min", "max", "running_total")
_GRANULARITY_PARENTS = {
    "year": ("year", "quarter", "month", "day", "hour", "minute", "second"),
    "quarter": ("quarter", "month", "day", "hour", "minute", "second"),
    "month": ("month", "day", "hour", "minute", "second"),
    "week": ("week", "day", "hour", "minute", "second"),
    "day": ("day", "hour", "minute", "second"),
    "hour": ("hour", "minute", "second"),
    "minute": ("minute", "second"),
    "second": ("second",),
}


def min_granularity(first: str | None, second: str | None) -> str | None:
    """The coarsest granularity both divide into (Cube's `minGranularity`: day for week and
    month)."""
    if first is None or second is None:
        return first or second
    return next(g for g in _GRANULARITY_PARENTS[first] if g in _GRANULARITY_PARENTS[second])


def window_granularity(window: RollingWindow) -> str | None:
    """Cube's `windowGranularity`: the finest unit named by the window's intervals."""
    if window.type == "to_date":
        return window.granularity
    found = None
    for text in (window.leading, window.trailing):
        if not text:
            continue
        for unit in ("day", "month", "year", "week", "hour"):  # Cube's matching order
            if unit in text:
                found = min_granularity(found, unit)
                break
    return found


def _shift(anchor: exp.Expr, text: str, sign: int) -> exp.Expr:
    parsed = parse_interval(text)
    assert parsed is not None
    count, unit = parsed
    node = exp.DateAdd if sign > 0 else exp.DateSub
    return node(this=anchor, expression=exp.Literal.number(count), unit=exp.var(unit.upper()))


def window_condition(
    window: RollingWindow,
    time: exp.Expr,
    date_from: exp.Expr,
    date_to: exp.Expr,
    range_from: exp.Expr,
    from_start_to_end: bool = False,
) -> exp.Expr:
    """Rows of the bucket [date_from, date_to] (date_to its last instant) under a window, as
    Cube's `rollingWindowDateJoinCondition` / `runningTotalDateJoinCondition` /
    `rollingWindowToDateJoinCondition` write it. A missing trailing or leading interval is
    zero; offset `end` (the default) anchors at the bucket's last instant: (to - trailing,
    to + leading]; offset `start` at its first: [from - trailing, from + leading)."""
    if window.type == "running_total":
        return exp.and_(
            exp.GTE(this=time.copy(), expression=range_from.copy()),
            exp.LTE(this=time.copy(), expression=date_to.copy()),
        )
    if window.type == "to_date":
        unit = exp.var((window.granularity or "day").upper())
        start = exp.TimestampTrunc(this=date_from.copy(), unit=unit)
        return exp.and_(
            exp.GTE(this=time.copy(), expression=start),
            exp.LTE(this=time.copy(), expression=date_to.copy()),
        )
    conditions: list[exp.Expr] = []
    at_start = window.offset == "start"
    node: type[exp.Binary]
    if window.trailing != "unbounded":
        anchor = date_from if (from_start_to_end or at_start) else date_to
        lower = _shift(anchor.copy(), window.trailing, -1) if window.trailing else anchor.copy()
        node = exp.GTE if at_start else exp.GT
        conditions.append(node(this=time.copy(), expression=lower))
    if window.leading != "unbounded":
        anchor = date_to if (from_start_to_end or not at_start) else date_from
        upper = _shift(anchor.copy(), window.leading, 1) if window.leading else anchor.copy()
        node = exp.LTE if not at_start else exp.LT
        conditions.append(node(this=time.copy(), expression=upper))
    return exp.and_(*conditions) if conditions else exp.true()


def _referenced_columns(
    expressions: list[exp.Expr], aliases: set[str]
) -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for expression in expressions:
        for column in expression.find_all(exp.Column):
            if column.table in aliases and not column.find_ancestor(exp.Select):
                key = (column.table, column.name)
                found.setdefault(key, f"c{len(found)}")
    return found


def _rewrite(expression: exp.Expr, columns: dict[tuple[str, str], str]) -> exp.Expr:
    def swap(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and (node.table, node.name) in columns:
            return exp.column(columns[(node.table, node.name)], table=BASE_ALIAS)
        return node

    return expression.copy().transform(swap)


def _series(binder: ParamBinder, buckets: list[tuple[dt.datetime, dt.datetime]]) -> exp.Expr:
    rows = [
        exp.tuple_(binder.bind(start, "TIMESTAMP"), binder.bind(last, "TIMESTAMP"))
        for start, last in buckets
    ]
    return exp.Values(expressions=rows)


def _window_where(
    group: Group, rolling: RollingSpec, binder: ParamBinder, from_start_to_end: bool
) -> exp.Expr:
    """The window as a condition on the rows: over the whole series (Cube's pre-filter of a
    rolling query's base rows), or, without a granularity, anchored at the date range."""
    assert group.window is not None
    if from_start_to_end:
        date_from, date_to = rolling.buckets[0][0], rolling.buckets[-1][1]
    else:
        date_from, date_to = rolling.range_from, rolling.range_to
    return window_condition(
        group.window,
        rolling.raw_time,
        binder.bind(date_from, "TIMESTAMP"),
        binder.bind(date_to, "TIMESTAMP"),
        binder.bind(rolling.range_from, "TIMESTAMP"),
        from_start_to_end,
    )


def group_ctes(
    group: Group,
    dims: list[DimColumn],
    source: exp.Select,
    conditions: dict[int, exp.Expr],
    cube_aliases: set[str],
    rolling: RollingSpec | None,
    binder: ParamBinder,
) -> list[tuple[str, exp.Expr]]:
    """The CTEs computing one group: (name, query) pairs, the last one named `group.name`."""
    windowed = group.window is not None and rolling is not None
    where = [
        c.copy()
        for key, c in conditions.items()
        if not (windowed and rolling is not None and key in rolling.range_condition_keys)
    ]
    series = rolling if windowed and rolling is not None and rolling.granularity else None
    if windowed and rolling is not None:
        where.append(_window_where(group, rolling, binder, from_start_to_end=series is not None))
    if not group.multiplied and series is None:
        select = source.copy()
        for dim in dims:
            select = select.select(exp.alias_(dim.expression.copy(), dim.alias))
        for key, aggregate in group.measures.items():
            select = select.select(exp.alias_(aggregate.copy(), group.aliases[key]))
        if where:
            select = select.where(*where)
        if dims:
            select = select.group_by(*[dim.expression.copy() for dim in dims])
        return [(group.name, select)]
    return _grouped_from_base(group, dims, source, where, cube_aliases, series, binder)


def _grouped_from_base(
    group: Group,
    dims: list[DimColumn],
    source: exp.Select,
    where: list[exp.Expr],
    cube_aliases: set[str],
    rolling: RollingSpec | None,
    binder: ParamBinder,
) -> list[tuple[str, exp.Expr]]:
    """Aggregation over base rows: de-duplicated rows of a multiplied cube, and/or a rolling
    window's time series LEFT JOINed to the rows (Cube's `overTimeSeriesQuery`)."""
    base_name, series_name = f"{group.name}_rows", f"{group.name}_series"
    columns = _referenced_columns(list(group.measures.values()), cube_aliases)
    base = source.copy()
    series_dims = rolling.series_dims if rolling else {}
    for dim in dims:
        if dim.alias not in series_dims:
            base = base.select(exp.alias_(dim.expression.copy(), dim.alias))
    if rolling is not None:
        assert group.window is not None
        time = rolling.raw_time.copy()
        grain = min_granularity(window_granularity(group.window), rolling.granularity)
        if group.additive and grain is not None:  # Cube pre-aggregates additive measures
            time = exp.TimestampTrunc(this=time, unit=exp.var(grain.upper()))
        base = base.select(exp.alias_(time, "__t"))
    if group.multiplied:
        for index, primary_key in enumerate(group.primary_keys):
            base = base.select(exp.alias_(primary_key.copy(), f"__pk{index}"))
    for (table, name), alias in columns.items():
        base = base.select(exp.alias_(exp.column(name, table=table), alias))
    if not base.expressions:
        base = base.select(exp.alias_(exp.Literal.number(1), "__row"))
    if where:
        base = base.where(*where)
    if group.multiplied:
        base = base.distinct()
    ctes: list[tuple[str, exp.Expr]] = [(base_name, base)]
    aggregated = exp.select()
    group_by: list[exp.Expr] = []
    if rolling is not None:
        assert group.window is not None
        ctes.append(
            (
                series_name,
                exp.select("__from", "__to").from_(
                    exp.Subquery(
                        this=_series(binder, rolling.buckets),
                        alias=exp.TableAlias(
                            this=exp.to_identifier("v"),
                            columns=[exp.to_identifier("__from"), exp.to_identifier("__to")],
                        ),
                    )
                ),
            )
        )
        condition = window_condition(
            group.window,
            exp.column("__t", table=BASE_ALIAS),
            exp.column("__from", table=SERIES_ALIAS),
            exp.column("__to", table=SERIES_ALIAS),
            binder.bind(rolling.range_from, "TIMESTAMP"),
        )
        aggregated = aggregated.from_(exp.to_table(series_name).as_(SERIES_ALIAS)).join(
            exp.to_table(base_name).as_(BASE_ALIAS), on=condition, join_type="left"
        )
    else:
        aggregated = aggregated.from_(exp.to_table(base_name).as_(BASE_ALIAS))
    for dim in dims:
        if dim.alias in series_dims:
            value: exp.Expr = exp.column("__from", table=SERIES_ALIAS)
            if rolling is not None and series_dims[dim.alias] != rolling.granularity:
                value = exp.TimestampTrunc(this=value, unit=exp.var(series_dims[dim.alias].upper()))
        else:
            value = exp.column(dim.alias, table=BASE_ALIAS)
        aggregated = aggregated.select(exp.alias_(value, dim.alias))
        group_by.append(value.copy())
    for key, aggregate in group.measures.items():
        value = _rewrite(aggregate, columns)
        if rolling is not None and group.types.get(key) == "count":
            # Cube sums per-bucket counts: a window without rows is NULL, not 0
            matched = exp.Count(this=exp.column("__t", table=BASE_ALIAS))
            value = exp.Case().when(exp.GT(this=matched, expression=exp.Literal.number(0)), value)
        aggregated = aggregated.select(exp.alias_(value, group.aliases[key]))
    if group_by:
        aggregated = aggregated.group_by(*group_by)
    ctes.append((group.name, aggregated))
    return ctes


def combined_source(
    groups: list[str], dims: list[DimColumn]
) -> tuple[list[tuple[str, exp.Expr]], exp.Select, str]:
    """FROM clause joining group results, as Cube's `fullKeyQueryAggregate` does: INNER JOINs
    on the dimensions (NULL matching NULL), or a cross join of one-row results without
    dimensions; returns (extra CTEs, select, alias holding the dimension columns)."""
    select = exp.select().from_(exp.to_table(groups[0]))
    for previous, name in zip(groups, groups[1:], strict=False):
        if not dims:
            select = select.join(exp.to_table(name), join_type="cross")
            continue
        on = exp.and_(
            *[
                exp.NullSafeEQ(
                    this=exp.column(dim.alias, table=previous),
                    expression=exp.column(dim.alias, table=name),
                )
                for dim in dims
            ]
        )
        select = select.join(exp.to_table(name), on=on, join_type="inner")
    return [], select, groups[0]
