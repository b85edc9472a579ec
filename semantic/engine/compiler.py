"""Compile a Cube REST query into one SQL statement (SQLGlot AST + bound parameters).

Steps: resolve every member (unknown ones are errors naming them), apply the security context
(denied members are errors, masked members show their mask, row-level filters join the WHERE),
plan the join tree, group leaf measures by cube (and rolling window), build one aggregation CTE
chain per group (`aggregation`), join the groups on the dimensions, then compute calculated
measures, measure filters, order, limit and offset over the joined result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from semantic.definitions import (
    GRANULARITIES,
    DataModel,
    Dimension,
    Measure,
    PolicyFilter,
    RollingWindow,
)
from semantic.engine import aggregation as agg
from semantic.engine.compiled import CompiledQuery, OutputColumn
from semantic.engine.dates import (
    buckets,
    check_timezone,
    local_to_utc,
    resolve_range,
    to_timezone,
)
from semantic.engine.filters import member_condition
from semantic.engine.members import MemberSql, TableMapper, measure_result_type
from semantic.engine.params import ParamBinder, compact
from semantic.engine.planner import (
    JoinTree,
    MemberResolver,
    ResolvedMember,
    build_tree,
    cube_hints,
    extend_hint,
    referenced_cubes,
)
from semantic.engine.security import (
    Access,
    SecurityContext,
    member_access,
    resolve_values,
    row_filters,
)
from semantic.errors import AccessDenied, QueryError
from semantic.query import Filter, LogicalFilter, MemberFilter, Query

DEFAULT_LIMIT = 10_000  # Cube's CUBEJS_DB_QUERY_DEFAULT_LIMIT
MAX_LIMIT = 50_000  # Cube's CUBEJS_DB_QUERY_LIMIT
UTC_NAMES = (None, "UTC", "Etc/UTC", "GMT")


@dataclass
class _TimeDim:
    member: ResolvedMember
    granularity: str | None
    date_range: tuple[dt.datetime, dt.datetime] | None
    output: str | None  # column name when grouped (granularity set)


class QueryCompiler:
    """Compiles queries against one model for one security context."""

    def __init__(
        self,
        model: DataModel,
        context: SecurityContext,
        *,
        as_of: dt.date,
        table_mapper: TableMapper | None = None,
        allow_private: bool = False,
        max_limit: int = MAX_LIMIT,
    ):
        self.model = model
        self.max_limit = max_limit
        self.context = context
        self.as_of = as_of
        self.resolver = MemberResolver(model, allow_private=allow_private)
        self.internal = MemberResolver(model, allow_private=True)
        self.sql = MemberSql(model, table_mapper)
        self.timezone: str | None = None
        # masked members shown in clear on some rows (callers in several groups): path ->
        # (owner of the policies, OR-groups of AND-ed row filters)
        self._unmask: dict[str, tuple[str, tuple[tuple[PolicyFilter, ...], ...]]] = {}
        self._binder = ParamBinder()

    # ------------------------------------------------------------------ entry point
    def compile(self, query: Query | dict[str, Any]) -> CompiledQuery:
        q = Query.parse(query)
        self._reject_unsupported(q)
        binder = self._binder = ParamBinder()
        self._unmask = {}
        dims, time_dims = self._resolve_dimensions(q)
        measures = [self.resolver.resolve(path, ("measure",)) for path in q.measures]
        segments = [self.resolver.resolve(path, ("segment",)) for path in q.segments]
        filter_members = self._filter_members(q.filters)
        used = [
            *measures,
            *dims,
            *(t.member for t in time_dims),
            *segments,
            *filter_members.values(),
        ]  # measures first: their cube roots a cube query
        if not dims and not time_dims and not measures:
            raise QueryError("a query needs at least one measure, dimension or time dimension")
        self._one_owner(used)
        masked = self._member_access(used)
        tree, security_conditions = self._plan(used)
        return self._assemble(
            q,
            binder,
            tree,
            dims,
            time_dims,
            measures,
            segments,
            filter_members,
            masked,
            security_conditions,
        )

    def _reject_unsupported(self, q: Query) -> None:
        if q.ungrouped:
            raise QueryError(
                "`ungrouped` queries are not supported by the embedded engine; "
                "group by the primary key instead"
            )
        if q.total:
            raise QueryError(
                "`total` is not supported by the embedded engine; run the query "
                "without a limit and count its rows"
            )
        for td in q.time_dimensions:
            if td.compare_date_range is not None:
                raise QueryError(
                    "`compareDateRange` is not supported by the embedded engine; "
                    "run one query per date range"
                )
        self.timezone = None if q.timezone in UTC_NAMES else q.timezone
        if self.timezone is not None:
            check_timezone(self.timezone)

    # ------------------------------------------------------------------ resolution
    def _resolve_dimensions(self, q: Query) -> tuple[list[ResolvedMember], list[_TimeDim]]:
        dims: list[ResolvedMember] = []
        time_dims: list[_TimeDim] = []
        for path in q.dimensions:
            parts = path.split(".")
            if len(parts) == 3 and parts[2] in GRANULARITIES:
                member = self._time_member(".".join(parts[:2]))
                time_dims.append(_TimeDim(member, parts[2], None, path))
            else:
                dims.append(self.resolver.resolve(path, ("dimension",)))
        for td in q.time_dimensions:
            member = self._time_member(td.dimension)
            date_range = (
                resolve_range(td.date_range, self.as_of) if td.date_range is not None else None
            )
            output = f"{td.dimension}.{td.granularity}" if td.granularity else None
            time_dims.append(_TimeDim(member, td.granularity, date_range, output))
        return dims, time_dims

    def _time_member(self, path: str) -> ResolvedMember:
        member = self.resolver.resolve(path, ("dimension",))
        if member.type != "time":
            raise QueryError(
                f"'{path}' is a {member.type} dimension; time dimensions need type time"
            )
        return member

    def _filter_members(self, filters: tuple[Filter, ...]) -> dict[str, ResolvedMember]:
        found: dict[str, ResolvedMember] = {}
        for item in filters:
            if isinstance(item, LogicalFilter):
                found.update(self._filter_members(item.items))
            else:
                found[item.member] = self.resolver.resolve(item.member, ("dimension", "measure"))
        return found

    def _one_owner(self, members: list[ResolvedMember]) -> None:
        views = {m.owner for m in members if m.owner_is_view}
        cubes = {m.owner for m in members if not m.owner_is_view}
        if len(views) > 1:
            raise QueryError(f"a query reads one view at a time; got {', '.join(sorted(views))}")
        if views and cubes:
            raise QueryError(
                f"a query cannot mix view {next(iter(views))} with cube(s) "
                f"{', '.join(sorted(cubes))}"
            )

    # ------------------------------------------------------------------ security
    def _member_access(self, members: list[ResolvedMember]) -> dict[str, Access]:
        masked: dict[str, Access] = {}
        for member in members:
            if member.owner_is_view:
                view = self.model.views[member.owner]
                policies, owner = view.access_policy, f"view {view.name}"
            else:
                cube = self.model.cubes[member.owner]
                policies, owner = cube.access_policy, f"cube {cube.name}"
            access = member_access(policies, member.local_name, self.context, owner)
            if access.access is Access.DENIED:
                who = ", ".join(self.context.roles) or "no role"
                raise AccessDenied(f"role(s) {who} may not query '{member.path}'")
            if access.access is Access.MASKED:
                masked[member.path] = access.access
                if access.unmask_when:
                    self._unmask[member.path] = (member.owner, access.unmask_when)
        return masked

    def _policy_members(
        self, owner: str, is_view: bool, groups: list[tuple[PolicyFilter, ...]]
    ) -> list[ResolvedMember]:
        found: list[ResolvedMember] = []

        def walk(item: PolicyFilter) -> None:
            for nested in (*(item.and_ or ()), *(item.or_ or ())):
                walk(nested)
            if item.member is not None:
                found.append(self._policy_member(owner, item.member))

        for group in groups:
            for item in group:
                walk(item)
        return found

    def _policy_member(self, owner: str, name: str) -> ResolvedMember:
        local = name.strip()
        for prefix in ("{CUBE}.", "{ CUBE }.", f"{owner}."):
            if local.startswith(prefix):
                local = local[len(prefix) :]
        return self.internal.resolve(f"{owner}.{local}", ("dimension",))

    def _plan(
        self, used: list[ResolvedMember]
    ) -> tuple[JoinTree, list[tuple[str, list[tuple[PolicyFilter, ...]]]]]:
        view = next((m.owner for m in used if m.owner_is_view), None)
        rules: list[tuple[str, list[tuple[PolicyFilter, ...]]]] = []
        extra: list[ResolvedMember] = []
        if view is not None:
            groups = row_filters(self.model.views[view].access_policy, self.context, f"view {view}")
            if groups is not None:
                rules.append((view, groups))
                extra += self._policy_members(view, True, groups)
        for owner, unmask_groups in self._unmask.values():
            extra += self._policy_members(owner, owner in self.model.views, list(unmask_groups))
        checked: set[str] = set()
        tree = self._tree([*used, *extra], view)
        while set(tree.cubes) - checked:
            for cube in [c for c in tree.cubes if c not in checked]:
                checked.add(cube)
                groups = row_filters(
                    self.model.cubes[cube].access_policy, self.context, f"cube {cube}"
                )
                if groups is not None:
                    rules.append((cube, groups))
                    extra += self._policy_members(cube, False, groups)
            tree = self._tree([*used, *extra], view, anchor=tree)
        return tree, rules

    def _tree(
        self, members: list[ResolvedMember], view: str | None, anchor: JoinTree | None = None
    ) -> JoinTree:
        if view is not None:
            root = self.model.views[view].cubes[0].join_path[0]
            hints = [(root,)] + [self._hint_in_view(m, anchor) for m in members]
        else:
            cubes = [m.cube for m in members]
            if anchor is not None:
                cubes = [anchor.root, *cubes]
            hints = cube_hints(self.model, cubes)
        by_cube = {hint[-1]: hint for hint in hints}
        for member in members:
            targets = referenced_cubes(self.model, member.cube, member.name)
            hint = by_cube.get(member.cube, member.join_hint)
            hints += extend_hint(self.model, hint, member.cube, targets)
        return build_tree(self.model, hints)

    def _hint_in_view(self, member: ResolvedMember, anchor: JoinTree | None) -> tuple[str, ...]:
        if member.owner_is_view:
            return member.join_hint
        if anchor is not None and member.cube in anchor.cubes:  # cube-level policy member
            path = [member.cube]
            parents = {join.name: join.cube for join in anchor.joins}
            while path[0] in parents:
                path.insert(0, parents[path[0]])
            return tuple(path)
        return member.join_hint

    # ------------------------------------------------------------------ expressions
    def _dimension_expr(self, member: ResolvedMember, masked: dict[str, Access]) -> exp.Expr:
        definition = member.definition
        assert isinstance(definition, Dimension)
        if member.path in masked:
            mask = self.sql.mask(member.cube, definition.mask, definition.type)
            if definition.type == "time":
                mask = exp.cast(mask, "TIMESTAMP")
            if member.path in self._unmask:
                owner, groups = self._unmask[member.path]
                label = f"{'view' if owner in self.model.views else 'cube'} {owner}"
                clear = exp.paren(
                    exp.or_(
                        *[
                            exp.and_(
                                *[
                                    self._policy_condition(owner, f, self._binder, label)
                                    for f in group
                                ]
                            )
                            if group
                            else exp.true()
                            for group in groups
                        ]
                    )
                )
                return (
                    exp.Case().when(clear, self.sql.dimension(member.cube, member.name)).else_(mask)
                )
            return mask
        return self.sql.dimension(member.cube, member.name)

    def _time_expr(self, member: ResolvedMember, masked: dict[str, Access]) -> exp.Expr:
        """A time dimension in the query's time zone (stored times are UTC, as in Cube)."""
        expression = self._dimension_expr(member, masked)
        return to_timezone(expression, self.timezone) if self.timezone else expression

    def _condition(
        self,
        item: Filter,
        binder: ParamBinder,
        masked: dict[str, Access],
        members: dict[str, ResolvedMember],
        measure_expr: Callable[[ResolvedMember], exp.Expr] | None,
    ) -> exp.Expr:
        """A query filter; dimension filters when measure_expr is None, else measure ones."""
        if isinstance(item, LogicalFilter):
            parts = [self._condition(i, binder, masked, members, measure_expr) for i in item.items]
            if not parts:
                return exp.true()
            return exp.paren(exp.and_(*parts) if item.operator == "and" else exp.or_(*parts))
        member = members[item.member]
        if member.kind == "measure":
            assert measure_expr is not None, "measure filters are compiled with measure_expr"
            expression = measure_expr(member)
            return member_condition(
                expression,
                "number",
                item.operator,
                item.values,
                binder,
                item.member,
                is_measure=True,
            )
        return member_condition(
            self._dimension_expr(member, masked),
            member.type,
            item.operator,
            item.values,
            binder,
            item.member,
            timezone=self.timezone,
        )

    def _split_filters(
        self, filters: tuple[Filter, ...], members: dict[str, ResolvedMember]
    ) -> tuple[list[Filter], list[Filter]]:
        dimension_filters: list[Filter] = []
        measure_filters: list[Filter] = []
        for item in filters:
            kinds = self._filter_kinds(item, members)
            if kinds == {"measure"}:
                measure_filters.append(item)
            elif kinds <= {"dimension"}:
                dimension_filters.append(item)
            else:
                raise QueryError(
                    "a logical filter cannot mix dimension and measure filters "
                    "(Cube rule); split it into separate filters"
                )
        return dimension_filters, measure_filters

    def _filter_kinds(self, item: Filter, members: dict[str, ResolvedMember]) -> set[str]:
        if isinstance(item, MemberFilter):
            return {members[item.member].kind}
        kinds: set[str] = set()
        for nested in item.items:
            kinds |= self._filter_kinds(nested, members)
        return kinds

    def _security_conditions(
        self, rules: list[tuple[str, list[tuple[PolicyFilter, ...]]]], binder: ParamBinder
    ) -> list[exp.Expr]:
        conditions: list[exp.Expr] = []
        for owner, groups in rules:
            label = f"{'view' if owner in self.model.views else 'cube'} {owner}"
            alternatives = [
                exp.and_(*[self._policy_condition(owner, f, binder, label) for f in group])
                if group
                else exp.true()
                for group in groups
            ]
            conditions.append(exp.paren(exp.or_(*alternatives)) if alternatives else exp.false())
        return conditions

    def _policy_condition(
        self, owner: str, item: PolicyFilter, binder: ParamBinder, label: str
    ) -> exp.Expr:
        if item.and_ is not None or item.or_ is not None:
            parts = [
                self._policy_condition(owner, nested, binder, label)
                for nested in (item.and_ or item.or_ or ())
            ]
            if not parts:
                return exp.true() if item.and_ is not None else exp.false()
            return exp.paren(exp.and_(*parts) if item.and_ is not None else exp.or_(*parts))
        member = self._policy_member(owner, item.member or "")
        values = resolve_values(item.values, self.context, label)
        return member_condition(
            self.sql.dimension(member.cube, member.name),
            member.type,
            item.operator or "",
            values,
            binder,
            member.path,
        )

    # ------------------------------------------------------------------ assembly
    def _assemble(
        self,
        q: Query,
        binder: ParamBinder,
        tree: JoinTree,
        dims: list[ResolvedMember],
        time_dims: list[_TimeDim],
        measures: list[ResolvedMember],
        segments: list[ResolvedMember],
        filter_members: dict[str, ResolvedMember],
        masked: dict[str, Access],
        rules: list[tuple[str, list[tuple[PolicyFilter, ...]]]],
    ) -> CompiledQuery:
        dim_columns, outputs = self._dim_columns(dims, time_dims, masked)
        dimension_filters, measure_filters = self._split_filters(q.filters, filter_members)
        conditions: dict[int, exp.Expr] = {}
        for item in dimension_filters:
            conditions[len(conditions)] = self._condition(
                item, binder, masked, filter_members, None
            )
        for segment in segments:
            conditions[len(conditions)] = self.sql.segment(segment.cube, segment.name)
        for condition in self._security_conditions(rules, binder):
            conditions[len(conditions)] = condition
        range_keys: dict[int, int] = {}
        for index, td in enumerate(time_dims):
            if td.date_range is not None:
                range_keys[index] = len(conditions)
                conditions[len(conditions)] = self._range_condition(td, binder)
        hidden = [m for m in filter_members.values() if m.kind == "measure"]
        groups = self._groups(tree, [*measures, *hidden], masked, time_dims)
        rolling = self._rolling(groups, time_dims, dim_columns, outputs, range_keys)
        ctes: list[tuple[str, exp.Expr]] = []
        aliases = set(tree.cubes)
        if not groups:
            groups = [agg.Group("g0", tree.root, None, False, [])]
        shared = [*(d.expression for d in dim_columns), *conditions.values()]
        if rolling is not None:
            shared.append(rolling.raw_time)
        for group in groups:
            pruned = self._pruned(tree, [*shared, *group.measures.values()], group.cube)
            group.multiplied = pruned.multiplied(group.cube)
            ctes += agg.group_ctes(
                group, dim_columns, self._from(pruned), conditions, aliases, rolling, binder
            )
        extra, select, dims_from = agg.combined_source([g.name for g in groups], dim_columns)
        ctes += extra
        leaf_columns = {
            key: exp.column(group.aliases[key], table=group.name)
            for group in groups
            for key in group.aliases
        }

        def measure_expr(member: ResolvedMember) -> exp.Expr:
            definition = member.definition
            assert isinstance(definition, Measure)
            if member.path in masked:
                if definition.mask is not None and definition.mask.sql is not None:
                    raise QueryError(
                        f"'{member.path}' is masked with SQL; measures support static masks only"
                    )
                return self.sql.mask(member.cube, definition.mask, measure_result_type(definition))
            return self.sql.calculated(
                member.cube, member.name, lambda c, n: leaf_columns[(c, n)].copy()
            )

        for column, (name, _kind, _type) in zip(dim_columns, outputs, strict=True):
            select = select.select(
                exp.alias_(exp.column(column.alias, table=dims_from), name, quoted=True)
            )
        for member in measures:
            select = select.select(exp.alias_(measure_expr(member), member.path, quoted=True))
            definition = member.definition
            assert isinstance(definition, Measure)
            outputs.append((member.path, "measure", measure_result_type(definition)))
        for item in measure_filters:
            select = select.where(
                self._condition(item, binder, masked, filter_members, measure_expr)
            )
        select = self._order(select, q, outputs, dims, time_dims, measures)
        if q.limit is not None and q.limit > self.max_limit:
            raise QueryError(
                f"limit {q.limit} exceeds the query limit of {self.max_limit} rows "
                "(as Cube's CUBEJS_DB_QUERY_LIMIT; setting semantic.query_limit)"
            )
        select = select.limit(
            q.limit if q.limit is not None else min(DEFAULT_LIMIT, self.max_limit)
        )
        if q.offset:
            select = select.offset(q.offset)
        for name, cte in ctes:
            select = select.with_(name, as_=cte)
        columns = tuple(OutputColumn(name, kind, kind_type) for name, kind, kind_type in outputs)
        expression, params = compact(select, binder.values)
        return CompiledQuery(expression=expression, params=params, columns=columns)

    def _dim_columns(
        self, dims: list[ResolvedMember], time_dims: list[_TimeDim], masked: dict[str, Access]
    ) -> tuple[list[agg.DimColumn], list[tuple[str, str, str]]]:
        columns: list[agg.DimColumn] = []
        outputs: list[tuple[str, str, str]] = []
        for member in dims:
            columns.append(agg.DimColumn(f"d{len(columns)}", self._dimension_expr(member, masked)))
            outputs.append((member.path, "dimension", member.type))
        seen: set[str] = set()
        for td in time_dims:
            if td.granularity is None or td.output is None or td.output in seen:
                continue
            seen.add(td.output)
            raw = self._time_expr(td.member, masked)
            truncated = exp.TimestampTrunc(this=raw.copy(), unit=exp.var(td.granularity.upper()))
            columns.append(agg.DimColumn(f"d{len(columns)}", truncated, raw_time=raw))
            outputs.append((td.output, "time_dimension", "time"))
        return columns, outputs

    def _range_condition(self, td: _TimeDim, binder: ParamBinder) -> exp.Expr:
        assert td.date_range is not None
        expression = self._dimension_expr(td.member, {})
        start, end = (local_to_utc(value, self.timezone) for value in td.date_range)
        return exp.and_(
            exp.GTE(this=expression.copy(), expression=binder.bind(start, "TIMESTAMP")),
            exp.LTE(this=expression.copy(), expression=binder.bind(end, "TIMESTAMP")),
        )

    def _groups(
        self,
        tree: JoinTree,
        measures: list[ResolvedMember],
        masked: dict[str, Access],
        time_dims: list[_TimeDim],
    ) -> list[agg.Group]:
        has_time = any(td.granularity or td.date_range for td in time_dims)
        groups: dict[tuple[str, RollingWindow | None, bool], agg.Group] = {}
        for member in measures:
            if member.path in masked:
                continue
            for cube, name in self.sql.leaves(member.cube, member.name):
                if cube not in tree.cubes:
                    raise QueryError(
                        f"measure '{member.path}' needs cube '{cube}', which the "
                        "query's join tree does not reach"
                    )
                definition = self.model.cubes[cube].measures[name]
                window = definition.rolling_window
                if definition.type == "running_total":
                    window = agg.RUNNING_TOTAL
                window = window if has_time else None
                additive = window is None or definition.type in agg.ADDITIVE_TYPES
                key = (cube, window, additive)
                if key not in groups:
                    cube_def = self.model.cubes[cube]
                    groups[key] = agg.Group(
                        name=f"g{len(groups)}",
                        cube=cube,
                        window=window,
                        multiplied=tree.multiplied(cube),
                        primary_keys=[
                            self.sql.dimension(cube, pk.name) for pk in cube_def.primary_keys
                        ],
                        additive=additive,
                    )
                group = groups[key]
                if (cube, name) not in group.measures:
                    group.aliases[(cube, name)] = f"m{len(group.aliases)}"
                    group.measures[(cube, name)] = self.sql.aggregate(cube, name)
                    group.types[(cube, name)] = definition.type
        for group in groups.values():
            if group.multiplied and not group.primary_keys:
                raise QueryError(
                    f"cube '{group.cube}' needs a primary_key: the joins in this "
                    "query multiply its rows"
                )
        return list(groups.values())

    def _rolling(
        self,
        groups: list[agg.Group],
        time_dims: list[_TimeDim],
        dim_columns: list[agg.DimColumn],
        outputs: list[tuple[str, str, str]],
        range_keys: dict[int, int],
    ) -> agg.RollingSpec | None:
        """The time dimension rolling windows run over (Cube: the one with the finest
        granularity, all of them sharing one date range), or None without windows."""
        if not any(group.window is not None for group in groups):
            return None
        granular = [td for td in time_dims if td.granularity]
        members = {td.member.path for td in granular}
        if len(members) > 1:
            raise QueryError(
                "rolling window measures run over one time dimension; the query "
                f"groups by {', '.join(sorted(members))}"
            )
        if any(td.date_range is None for td in granular):
            raise QueryError(
                "rolling window measures need a dateRange on time dimension "
                f"'{granular[0].member.path}' (as in Cube: time series queries "
                "without dateRange are not supported)"
            )
        ranged = [td for td in (granular or time_dims) if td.date_range is not None]
        if not ranged:
            raise QueryError(
                f"rolling window measures need a dateRange on time dimension "
                f"'{time_dims[0].member.path}' (as in Cube)"
            )
        if len({td.date_range for td in ranged}) > 1:
            raise QueryError(
                "rolling window measures need one dateRange: the time dimensions "
                "of this query have different ones (Cube refuses them too)"
            )
        td = ranged[0]
        assert td.date_range is not None
        start, end = td.date_range
        keys = {
            range_keys[index]
            for index, other in enumerate(time_dims)
            if index in range_keys and other.member.path == td.member.path
        }
        raw = self._time_expr(td.member, {})
        if not granular:
            return agg.RollingSpec(raw, None, [], start, end, keys)
        names = [name for name, _kind, _type in outputs]
        series_dims = {
            dim_columns[names.index(g.output or "")].alias: g.granularity or "" for g in granular
        }
        finest = granular[0].granularity
        for g in granular[1:]:
            finest = agg.min_granularity(finest, g.granularity)
        assert finest is not None
        series = [
            (first, following - dt.timedelta(microseconds=1))
            for first, following in buckets(start, end, finest)
        ]
        return agg.RollingSpec(raw, finest, series, start, end, keys, series_dims)

    def _pruned(self, tree: JoinTree, expressions: list[exp.Expr], cube: str) -> JoinTree:
        """The part of the join tree a group reads: its cube, the cubes its dimensions,
        conditions and measures name, and the joins leading to them. LEFT JOINs keep every
        row of the cubes they hang from, so a join nothing reads only repeats rows: leaving it
        out gives the same groups without de-duplicating (one scan less, no DISTINCT)."""
        needed = {cube}
        for expression in expressions:
            needed |= {c.table for c in expression.find_all(exp.Column) if c.table in tree.cubes}
        parent = {join.name: join for join in tree.joins}
        changed = True
        while changed:
            changed = False
            for name in list(needed):
                join = parent.get(name)
                if join is None:
                    continue
                reads = {
                    c.table
                    for c in self.sql.join_condition(join).find_all(exp.Column)
                    if c.table in tree.cubes
                }
                if not (reads | {join.cube}) <= needed:
                    needed |= reads | {join.cube}
                    changed = True
        return JoinTree(root=tree.root, joins=[j for j in tree.joins if j.name in needed])

    def _from(self, tree: JoinTree) -> exp.Select:
        select = exp.select().from_(self.sql.table(tree.root))
        for join in tree.joins:
            select = select.join(
                self.sql.table(join.name), on=self.sql.join_condition(join), join_type="left"
            )
        return select

    def _order(
        self,
        select: exp.Select,
        q: Query,
        outputs: list[tuple[str, str, str]],
        dims: list[ResolvedMember],
        time_dims: list[_TimeDim],
        measures: list[ResolvedMember],
    ) -> exp.Select:
        names = {name for name, _kind, _type in outputs}
        aliases = {td.member.path: td.output for td in time_dims if td.output}
        if q.order is not None:
            order = list(q.order)
        elif any(td.output for td in time_dims):
            order = [(next(td.output for td in time_dims if td.output), "asc")]
        elif measures:
            order = [(measures[0].path, "desc")]
        elif dims:
            order = [(dims[0].path, "asc")]
        else:
            order = []
        if q.order is None:
            # Cube leaves ties of its default order unordered; the embedded engine breaks them on
            # the other grouped columns so that two runs of one query return rows in one order
            ordered = {member for member, _direction in order}
            order += [
                (name, "asc")
                for name, kind, _type in outputs
                if kind != "measure" and name not in ordered
            ]
        terms = []
        ungrouped = {td.member.path for td in time_dims if not td.output}
        for member, direction in order:
            name = member if member in names else aliases.get(member)
            if name is None and member in ungrouped:
                continue  # a time dimension without granularity has no column (Cube skips it)
            if name is None:
                raise QueryError(
                    f"cannot order by '{member}': it is not a measure, dimension "
                    "or grouped time dimension of the query"
                )
            terms.append(
                exp.Ordered(
                    this=exp.column(exp.to_identifier(name, quoted=True)), desc=direction == "desc"
                )
            )
        return select.order_by(*terms) if terms else select
