"""Cube's data-model rules checked over a parsed `DataModel`.

`validate(model)` returns every issue (it also expands each view's members, which needs the
cubes): snake_case names, valid member and relationship types, SQL that parses, references
(`{CUBE}.col`, `{member}`, `{cube.member}`) that resolve to the right kind of member, no
reference cycles, primary keys on both sides of every join, view join paths along declared
joins, unique view member names, and access policies naming real members and operators.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlglot import exp
from sqlglot.errors import ParseError

from semantic.definitions import (
    AGGREGATE_TYPES,
    DIMENSION_TYPES,
    DISPLAY_UNITS,
    FILTER_OPERATORS,
    FORMATS,
    MEASURE_TYPES,
    AccessPolicy,
    Cube,
    DataModel,
    Dimension,
    Measure,
    MemberSet,
    PolicyFilter,
    View,
    ViewMember,
    parse_interval,
)
from semantic.errors import ModelIssue
from semantic.join_graph import directed_path
from semantic.references import (
    TemplateError,
    member_templates,
    parse_query_template,
    parse_template,
    reachable_members,
)

SNAKE_CASE = re.compile(r"^[a-z_][a-z0-9_]*$")
SECURITY_REFERENCE = re.compile(r"^\{\s*securityContext\.[A-Za-z_][A-Za-z0-9_.]*\s*\}$")
SECURITY_CONDITION = re.compile(r"^\{\s*(not\s+)?securityContext\.[A-Za-z_][A-Za-z0-9_.]*\s*\}$")


class _Issues:
    def __init__(self) -> None:
        self.items: list[ModelIssue] = []

    def add(self, file: Path, owner: str, member: str | None, message: str) -> None:
        self.items.append(ModelIssue(file, owner, member, message))


def validate(model: DataModel) -> list[ModelIssue]:
    """Every rule violation in the model (empty when the model is valid)."""
    issues = _Issues()
    for cube in model.cubes.values():
        _check_cube(model, cube, issues)
    for view in model.views.values():
        _expand_view(model, view, issues)
        _check_policies(
            view.access_policy, set(view.members), view.file, f"view {view.name}", issues
        )
    return issues.items


def _check_name(name: str, file: Path, owner: str, member: str | None, issues: _Issues) -> None:
    if not SNAKE_CASE.match(name):
        issues.add(file, owner, member, f"name '{name}' is not a snake_case identifier")


def _check_cube(model: DataModel, cube: Cube, issues: _Issues) -> None:
    owner = f"cube {cube.name}"
    _check_name(cube.name, cube.file, owner, None, issues)
    if (cube.sql_table is None) == (cube.sql is None):
        issues.add(cube.file, owner, None, "needs exactly one of `sql_table` or `sql`")
    elif cube.sql_table is not None:
        try:
            exp.to_table(cube.sql_table, dialect="duckdb")
        except (ParseError, ValueError) as exc:
            issues.add(
                cube.file, owner, None, f"sql_table '{cube.sql_table}' is not a table name ({exc})"
            )
    else:
        try:
            parse_query_template(cube.sql or "")
        except TemplateError as exc:
            issues.add(cube.file, owner, None, str(exc))
    for member in cube.members():
        _check_name(member.name, cube.file, owner, f"{member.kind} {member.name}", issues)
    for dimension in cube.dimensions.values():
        _check_dimension(model, cube, dimension, issues)
    for measure in cube.measures.values():
        _check_measure(model, cube, measure, issues)
    for segment in cube.segments.values():
        _check_sql(
            model, cube, segment.sql, f"segment {segment.name}", issues, allowed=("dimension",)
        )
    for join in cube.joins.values():
        _check_join(model, cube, join.name, join.sql, issues)
    _check_cycles(model, cube, issues)
    members = {member.name for member in cube.members()}
    _check_policies(cube.access_policy, members, cube.file, owner, issues)


def _check_dimension(model: DataModel, cube: Cube, dimension: Dimension, issues: _Issues) -> None:
    label = f"dimension {dimension.name}"
    if dimension.type not in DIMENSION_TYPES:
        issues.add(
            cube.file,
            f"cube {cube.name}",
            label,
            f"unknown type '{dimension.type}' (expected {', '.join(DIMENSION_TYPES)})",
        )
    elif dimension.type == "geo":
        issues.add(cube.file, f"cube {cube.name}", label, "type geo is not supported")
    if dimension.sub_query:
        issues.add(
            cube.file,
            f"cube {cube.name}",
            label,
            "sub_query dimensions are not supported; compute the value in a mart",
        )
    if dimension.case is not None:
        _check_case(model, cube, dimension, issues)
    elif dimension.sql is None:
        issues.add(cube.file, f"cube {cube.name}", label, "has no `sql`")
    else:
        _check_sql(model, cube, dimension.sql, label, issues, allowed=("dimension",))
    _check_format(cube, label, dimension.format, issues)
    _check_display_meta(cube, label, dimension.meta, issues)
    if dimension.mask and dimension.mask.sql:
        _check_sql(model, cube, dimension.mask.sql, label, issues, allowed=("dimension",))


def _check_case(model: DataModel, cube: Cube, dimension: Dimension, issues: _Issues) -> None:
    label = f"dimension {dimension.name}"
    case = dimension.case or {}
    whens = case.get("when")
    if not isinstance(whens, list) or not whens or not set(case) <= {"when", "else"}:
        issues.add(
            cube.file,
            f"cube {cube.name}",
            label,
            "`case` needs a non-empty `when` list and optional `else`",
        )
        return
    for item in whens:
        if not isinstance(item, dict) or "sql" not in item or "label" not in item:
            issues.add(
                cube.file,
                f"cube {cube.name}",
                label,
                "each `case.when` item needs `sql` and `label`",
            )
            continue
        _check_sql(model, cube, str(item["sql"]), label, issues, allowed=("dimension",))


def _check_format(cube: Cube, label: str, value: object, issues: _Issues) -> None:
    if value is not None and value not in FORMATS:
        issues.add(
            cube.file,
            f"cube {cube.name}",
            label,
            f"unknown format '{value}' (expected {', '.join(FORMATS)})",
        )


def _check_display_meta(cube: Cube, label: str, meta: dict[str, Any], issues: _Issues) -> None:
    """meta.unit and meta.decimals: how a number is shown (reports, catalogue)."""
    unit = meta.get("unit")
    if unit is not None and unit not in DISPLAY_UNITS:
        issues.add(
            cube.file,
            f"cube {cube.name}",
            label,
            f"unknown meta.unit '{unit}' (expected {', '.join(DISPLAY_UNITS)})",
        )
    decimals = meta.get("decimals")
    if decimals is not None and (
        isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 6
    ):
        issues.add(
            cube.file,
            f"cube {cube.name}",
            label,
            f"meta.decimals must be a whole number 0..6, not {decimals!r}",
        )


def _check_measure(model: DataModel, cube: Cube, measure: Measure, issues: _Issues) -> None:
    owner, label = f"cube {cube.name}", f"measure {measure.name}"
    if measure.type not in MEASURE_TYPES:
        issues.add(
            cube.file,
            owner,
            label,
            f"unknown type '{measure.type}' (expected {', '.join(MEASURE_TYPES)})",
        )
        return
    if measure.type == "number_agg":
        issues.add(cube.file, owner, label, "type number_agg is not supported")
    if measure.sql is None and measure.type != "count":
        issues.add(cube.file, owner, label, f"type {measure.type} needs `sql`")
    aggregate = measure.type in AGGREGATE_TYPES
    if measure.sql is not None:
        allowed = ("dimension",) if aggregate else ("dimension", "measure")
        _check_sql(model, cube, measure.sql, label, issues, allowed=allowed)
    for condition in measure.filters:
        _check_sql(model, cube, condition, label, issues, allowed=("dimension",))
    if aggregate:
        _check_to_many_columns(model, cube, measure, issues)
    if measure.filters and not aggregate:
        issues.add(cube.file, owner, label, "`filters` apply only to aggregating measures")
    if measure.rolling_window is not None:
        _check_rolling(cube, measure, issues)
    _check_format(cube, label, measure.format, issues)
    _check_display_meta(cube, label, measure.meta, issues)
    certified = measure.meta.get("certified")
    if certified is not None and not isinstance(certified, bool):
        issues.add(cube.file, owner, label, "meta.certified must be true or false")
    if measure.mask and measure.mask.sql:
        _check_sql(model, cube, measure.mask.sql, label, issues, allowed=("dimension",))


def _check_to_many_columns(model: DataModel, cube: Cube, measure: Measure, issues: _Issues) -> None:
    """Cube refuses an aggregate whose SQL reads a cube reached through a one_to_many join:
    the join repeats this cube's rows once per row of the other, so the sum would be wrong."""
    for template in member_templates(measure):  # a snippet that does not parse: _check_sql
        others = {ref.cube for ref in template.table_references() if ref.cube}
        others |= {ref.cube for ref in template.member_references() if ref.cube}
        for other in sorted(others - {cube.name, "CUBE"}):
            path = directed_path(model, cube.name, other) if other in model.cubes else None
            to_many = next(
                (join for join in path or [] if join.relationship == "one_to_many"), None
            )
            if to_many is not None:
                issues.add(
                    cube.file,
                    f"cube {cube.name}",
                    f"measure {measure.name}",
                    f"reads cube '{other}' through the one_to_many join {to_many.cube} -> "
                    f"{to_many.name}: each {cube.name} row would count once per "
                    f"{to_many.name} row (Cube refuses this); define the measure on "
                    f"'{other}', or aggregate it there and reference that measure",
                )


def _check_rolling(cube: Cube, measure: Measure, issues: _Issues) -> None:
    owner, label = f"cube {cube.name}", f"measure {measure.name}"
    window = measure.rolling_window
    assert window is not None
    if measure.type not in AGGREGATE_TYPES and measure.type != "number":
        issues.add(
            cube.file,
            owner,
            label,
            "rolling_window needs an aggregating measure type "
            "(or a number measure with an aggregate in its SQL)",
        )
    if window.type == "fixed" and window.trailing is None and window.leading is None:
        issues.add(cube.file, owner, label, "rolling_window needs `trailing` and/or `leading`")
    if window.offset not in ("start", "end"):
        issues.add(cube.file, owner, label, "rolling_window offset must be 'start' or 'end'")
    for text in (window.trailing, window.leading):
        if text is None:
            continue
        try:
            parse_interval(text)
        except ValueError as exc:
            issues.add(cube.file, owner, label, str(exc))


def _check_sql(
    model: DataModel, cube: Cube, sql: str, label: str, issues: _Issues, allowed: tuple[str, ...]
) -> None:
    owner = f"cube {cube.name}"
    try:
        template = parse_template(sql)
    except TemplateError as exc:
        issues.add(cube.file, owner, label, str(exc))
        return
    for ref in template.table_references():
        if ref.cube is not None and ref.cube not in model.cubes:
            issues.add(
                cube.file,
                owner,
                label,
                f"reference '{{{ref.text}}}' names unknown cube '{ref.cube}'",
            )
    for ref in template.member_references():
        target_cube = ref.cube or cube.name
        target = model.cubes.get(target_cube)
        if target is None:
            issues.add(
                cube.file,
                owner,
                label,
                f"reference '{{{ref.text}}}' names unknown cube '{target_cube}'",
            )
            continue
        member = target.member(ref.member or "")
        if member is None:
            issues.add(
                cube.file,
                owner,
                label,
                f"reference '{{{ref.text}}}' does not resolve: cube '{target_cube}' has "
                f"no member '{ref.member}'",
            )
        elif member.kind not in allowed:
            issues.add(
                cube.file,
                owner,
                label,
                f"reference '{{{ref.text}}}' is a {member.kind}; only "
                f"{' or '.join(allowed)} references are allowed here",
            )
        elif (
            member.kind == "dimension"
            and target_cube != cube.name
            and directed_path(model, cube.name, target_cube) is None
        ):
            issues.add(
                cube.file,
                owner,
                label,
                f"reference '{{{ref.text}}}': no join path from cube '{cube.name}' to "
                f"'{target_cube}'",
            )


def _check_join(model: DataModel, cube: Cube, target: str, sql: str, issues: _Issues) -> None:
    owner, label = f"cube {cube.name}", f"join {target}"
    if target not in model.cubes:
        issues.add(cube.file, owner, label, f"joins unknown cube '{target}'")
        return
    _check_sql(model, cube, sql, label, issues, allowed=("dimension",))
    for name in {cube.name, target}:
        if not model.cubes[name].primary_keys:
            issues.add(
                cube.file,
                owner,
                label,
                f"cube '{name}' has no primary_key dimension; joins need primary keys on "
                "both cubes so measures are not multiplied",
            )


def _check_cycles(model: DataModel, cube: Cube, issues: _Issues) -> None:
    for member in cube.members():
        if (cube.name, member.name) in reachable_members(model, cube.name, member.name):
            issues.add(
                cube.file,
                f"cube {cube.name}",
                f"{member.kind} {member.name}",
                "references itself (directly or through other members)",
            )


def _expand_view(model: DataModel, view: View, issues: _Issues) -> None:
    owner = f"view {view.name}"
    _check_name(view.name, view.file, owner, None, issues)
    roots = {vc.join_path[0] for vc in view.cubes}
    if len(roots) > 1:
        issues.add(
            view.file,
            owner,
            None,
            f"join paths start from different cubes "
            f"({', '.join(sorted(roots))}); a view has one root",
        )
    for position, view_cube in enumerate(view.cubes):
        label = f"cubes[{position}] join_path {'.'.join(view_cube.join_path)}"
        if not _join_path_ok(model, view_cube.join_path, view, label, issues):
            continue
        cube = model.cubes[view_cube.cube]
        names = {m.name for m in cube.members()}
        for excluded in view_cube.excludes:
            if excluded not in names:
                issues.add(view.file, owner, label, f"excludes unknown member '{excluded}'")
        includes = (
            [(m.name, None, None, None) for m in cube.members()]
            if view_cube.includes == "*"
            else [(i.name, i.alias, i.title, i.description) for i in view_cube.includes]
        )
        for name, alias, title, description in includes:
            member = cube.member(name)
            if member is None:
                issues.add(
                    view.file,
                    owner,
                    label,
                    f"includes unknown member '{name}' of cube '{cube.name}'",
                )
                continue
            if name in view_cube.excludes:
                continue
            prefix = f"{view_cube.alias or cube.name}_" if view_cube.prefix else ""
            view_name = f"{prefix}{alias or name}"  # Cube prefixes aliases too
            _check_name(view_name, view.file, owner, f"member {view_name}", issues)
            if view_name in view.members:
                issues.add(
                    view.file,
                    owner,
                    f"member {view_name}",
                    "is included twice; use `alias` or `prefix: true`",
                )
                continue
            view.members[view_name] = ViewMember(
                view=view.name,
                name=view_name,
                kind=member.kind,
                cube=cube.name,
                member=name,
                join_path=view_cube.join_path,
                title=title or member.title,
                description=description or member.description,
            )


def _join_path_ok(
    model: DataModel, path: tuple[str, ...], view: View, label: str, issues: _Issues
) -> bool:
    owner = f"view {view.name}"
    if path[0] not in model.cubes:
        issues.add(view.file, owner, label, f"unknown cube '{path[0]}'")
        return False
    for source, target in zip(path, path[1:], strict=False):
        if target not in model.cubes:
            issues.add(view.file, owner, label, f"unknown cube '{target}'")
            return False
        if target not in model.cubes[source].joins:
            issues.add(view.file, owner, label, f"cube '{source}' declares no join to '{target}'")
            return False
    return True


def _normalise_policy_member(name: str, owner_name: str) -> str:
    name = re.sub(r"^\{\s*CUBE\s*\}\.", "", name.strip())
    return name[len(owner_name) + 1 :] if name.startswith(f"{owner_name}.") else name


def _check_policies(
    policies: list[AccessPolicy] | None, members: set[str], file: Path, owner: str, issues: _Issues
) -> None:
    owner_name = owner.split(" ", 1)[1]
    for policy in policies or []:
        label = f"access_policy[{policy.index}]"
        for condition in policy.conditions:
            if not SECURITY_CONDITION.match(condition.strip()):
                issues.add(
                    file,
                    owner,
                    label,
                    f"condition '{condition}' must be a "
                    "'{ [not] securityContext.<key> }' reference",
                )
        for name, member_set in (
            ("member_level", policy.member_level),
            ("member_masking", policy.member_masking),
        ):
            _check_member_set(member_set, members, file, owner, f"{label} {name}", issues)
        for policy_filter in policy.row_filters or ():
            _check_policy_filter(policy_filter, members, owner_name, file, owner, label, issues)


def _check_member_set(
    member_set: MemberSet | None,
    members: set[str],
    file: Path,
    owner: str,
    label: str,
    issues: _Issues,
) -> None:
    if member_set is None:
        return
    names = [] if member_set.includes == "*" else list(member_set.includes)
    for name in [*names, *member_set.excludes]:
        if name != "*" and name not in members:
            issues.add(file, owner, label, f"names unknown member '{name}'")


def _check_policy_filter(
    policy_filter: PolicyFilter,
    members: set[str],
    owner_name: str,
    file: Path,
    owner: str,
    label: str,
    issues: _Issues,
) -> None:
    for nested in (*(policy_filter.and_ or ()), *(policy_filter.or_ or ())):
        _check_policy_filter(nested, members, owner_name, file, owner, label, issues)
    if policy_filter.member is None:
        return
    member = _normalise_policy_member(policy_filter.member, owner_name)
    if member not in members:
        issues.add(
            file, owner, label, f"row-level filter names unknown member '{policy_filter.member}'"
        )
    if policy_filter.operator not in FILTER_OPERATORS:
        issues.add(
            file, owner, label, f"row-level filter has unknown operator '{policy_filter.operator}'"
        )
    values = policy_filter.values
    if isinstance(values, str) and not SECURITY_REFERENCE.match(values.strip()):
        issues.add(
            file,
            owner,
            label,
            f"values '{values}' must be a list or a '{{ securityContext.<key> }}' reference",
        )
