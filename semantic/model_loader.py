"""Read Cube YAML data model files (`cubes:` and `views:`) into `definitions` objects.

`load_model(path)` parses every `*.yml`/`*.yaml` file under `path` (Cube's `model/cubes`,
`model/views` layout, or any other), then validates the whole model (`validation.validate`).
Every problem is collected and raised together as one `ModelError` naming file, cube/view and
member. Keys Cube does not know are errors (a typo like `relationshp` must not pass silently);
Cube keys the embedded engine does not implement are errors that say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from semantic.definitions import (
    GRANULARITIES,
    RELATIONSHIP_ALIASES,
    AccessPolicy,
    Cube,
    DataModel,
    Dimension,
    Join,
    Mask,
    Measure,
    MemberSet,
    PolicyFilter,
    RollingWindow,
    Segment,
    View,
    ViewCube,
    ViewInclude,
)
from semantic.errors import ModelError, ModelIssue
from semantic.validation import validate as validate_model

CUBE_KEYS = {
    "name",
    "sql_table",
    "sql",
    "sql_alias",
    "data_source",
    "title",
    "description",
    "public",
    "shown",
    "meta",
    "refresh_key",
    "dimensions",
    "measures",
    "segments",
    "joins",
    "pre_aggregations",
    "access_policy",
    "hierarchies",
}
DIMENSION_KEYS = {
    "name",
    "sql",
    "type",
    "title",
    "description",
    "primary_key",
    "public",
    "shown",
    "meta",
    "format",
    "case",
    "sub_query",
    "propagate_filters_to_sub_query",
    "mask",
}
MEASURE_KEYS = {
    "name",
    "sql",
    "type",
    "title",
    "description",
    "public",
    "shown",
    "meta",
    "format",
    "filters",
    "rolling_window",
    "drill_members",
    "mask",
}
SEGMENT_KEYS = {"name", "sql", "title", "description", "public", "shown", "meta"}
JOIN_KEYS = {"name", "sql", "relationship"}
VIEW_KEYS = {
    "name",
    "title",
    "description",
    "public",
    "shown",
    "meta",
    "cubes",
    "access_policy",
    "folders",
}
VIEW_CUBE_KEYS = {"join_path", "includes", "excludes", "prefix", "alias"}
POLICY_KEYS = {
    "role",
    "roles",
    "group",
    "groups",
    "conditions",
    "member_level",
    "row_level",
    "member_masking",
}
ROLLING_KEYS = {"trailing", "leading", "offset", "type", "granularity"}
NOT_IMPLEMENTED = {
    "extends": "cube inheritance (`extends`)",
    "multi_stage": "multi-stage measures",
    "time_shift": "time-shifted measures",
    "reduce_by": "multi-stage measures",
    "group_by": "multi-stage measures",
    "add_group_by": "multi-stage measures",
    "granularities": "custom granularities",
    "calendar": "calendar cubes",
}


@dataclass
class _Context:
    """Where the parser is (file, owner) and the issues collected so far."""

    file: Path
    issues: list[ModelIssue] = field(default_factory=list)
    owner: str | None = None

    def issue(self, member: str | None, message: str) -> None:
        self.issues.append(ModelIssue(self.file, self.owner, member, message))


def model_files(root: Path) -> list[Path]:
    """The YAML files of a model folder, in a stable order."""
    files = [*root.rglob("*.yml"), *root.rglob("*.yaml")]
    return sorted(path for path in files if path.is_file())


def load_model(root: Path | str, *, validate: bool = True) -> DataModel:
    """Parse (and by default validate) the model under `root`; raise ModelError on any issue."""
    root_path = Path(root)
    if not root_path.is_dir():
        raise ModelError([ModelIssue(root_path, None, None, "model folder does not exist")])
    model = DataModel(root=root_path)
    issues: list[ModelIssue] = []
    for path in model_files(root_path):
        issues += _parse_file(path, model)
    if validate:
        issues += [issue for issue in validate_model(model) if issue not in issues]
    if issues:
        raise ModelError(issues)
    return model


def _parse_file(path: Path, model: DataModel) -> list[ModelIssue]:
    ctx = _Context(path)
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        ctx.issue(None, f"not valid YAML: {exc}")
        return ctx.issues
    if not isinstance(document, dict):
        ctx.issue(None, "a model file must be a mapping with `cubes:` and/or `views:`")
        return ctx.issues
    for key in document:
        if key not in ("cubes", "views"):
            ctx.issue(None, f"unknown top-level key '{key}' (expected cubes, views)")
    for index, raw in enumerate(_as_list(ctx, document.get("cubes"), "cubes")):
        cube = _parse_cube(ctx, raw, index)
        if cube is None:
            continue
        if cube.name in model.cubes or cube.name in model.views:
            ctx.issue(
                None, f"cube '{cube.name}' is defined twice (also in {_file_of(model, cube.name)})"
            )
        model.cubes[cube.name] = cube
    for index, raw in enumerate(_as_list(ctx, document.get("views"), "views")):
        view = _parse_view(ctx, raw, index)
        if view is None:
            continue
        if view.name in model.views or view.name in model.cubes:
            ctx.issue(
                None, f"view '{view.name}' is defined twice (also in {_file_of(model, view.name)})"
            )
        model.views[view.name] = view
    return ctx.issues


def _file_of(model: DataModel, name: str) -> Path:
    owner = model.cubes.get(name) or model.views.get(name)
    return owner.file if owner else model.root


def _as_list(ctx: _Context, value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        ctx.issue(None, f"`{what}` must be a list")
        return []
    return value


def _check_keys(ctx: _Context, raw: dict[str, Any], allowed: set[str], member: str | None) -> None:
    for key in raw:
        if key in NOT_IMPLEMENTED:
            ctx.issue(
                member, f"`{key}` ({NOT_IMPLEMENTED[key]}) is not supported by this semantic layer"
            )
        elif key not in allowed:
            ctx.issue(member, f"unknown key '{key}'")


def _name(ctx: _Context, raw: Any, what: str, index: int) -> str | None:
    if not isinstance(raw, dict):
        ctx.issue(f"{what}[{index}]", "must be a mapping")
        return None
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        ctx.issue(f"{what}[{index}]", "has no `name`")
        return None
    return name


def _public(raw: dict[str, Any]) -> bool:
    return bool(raw.get("public", raw.get("shown", True)))


def _meta(ctx: _Context, raw: dict[str, Any], member: str | None) -> dict[str, Any]:
    meta = raw.get("meta") or {}
    if not isinstance(meta, dict):
        ctx.issue(member, "`meta` must be a mapping")
        return {}
    return meta


def _sql(ctx: _Context, raw: dict[str, Any], member: str | None, key: str = "sql") -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        ctx.issue(member, f"`{key}` must be a SQL string")
        return None
    return str(value)


def _parse_cube(ctx: _Context, raw: Any, index: int) -> Cube | None:
    ctx.owner = None
    name = _name(ctx, raw, "cubes", index)
    if name is None:
        return None
    ctx.owner = f"cube {name}"
    _check_keys(ctx, raw, CUBE_KEYS, None)
    cube = Cube(
        name=name,
        file=ctx.file,
        sql_table=_sql(ctx, raw, None, "sql_table"),
        sql=_sql(ctx, raw, None),
        data_source=raw.get("data_source"),
        title=raw.get("title"),
        description=raw.get("description"),
        public=_public(raw),
        meta=_meta(ctx, raw, None),
        raw=raw,
    )
    for index, item in enumerate(_as_list(ctx, raw.get("dimensions"), "dimensions")):
        dimension = _parse_dimension(ctx, item, name, index)
        if dimension:
            _add_member(ctx, cube, dimension)
    for index, item in enumerate(_as_list(ctx, raw.get("measures"), "measures")):
        measure = _parse_measure(ctx, item, name, index)
        if measure:
            _add_member(ctx, cube, measure)
    for index, item in enumerate(_as_list(ctx, raw.get("segments"), "segments")):
        segment = _parse_segment(ctx, item, name, index)
        if segment:
            _add_member(ctx, cube, segment)
    for index, item in enumerate(_as_list(ctx, raw.get("joins"), "joins")):
        join = _parse_join(ctx, item, name, index)
        if join is None:
            continue
        if join.name in cube.joins:
            ctx.issue(f"join {join.name}", "is declared twice")
        cube.joins[join.name] = join
    if "access_policy" in raw:
        cube.access_policy = _parse_policies(ctx, raw.get("access_policy"))
    return cube


def _add_member(ctx: _Context, cube: Cube, member: Dimension | Measure | Segment) -> None:
    if cube.member(member.name) is not None:
        ctx.issue(f"{member.kind} {member.name}", "name is used by another member of the cube")
        return
    target = {"dimension": cube.dimensions, "measure": cube.measures, "segment": cube.segments}
    target[member.kind][member.name] = member  # type: ignore[index]


def _parse_mask(ctx: _Context, raw: dict[str, Any], member: str) -> Mask | None:
    if "mask" not in raw:
        return None
    value = raw["mask"]
    if isinstance(value, dict):
        if set(value) != {"sql"} or not isinstance(value["sql"], str):
            ctx.issue(member, "`mask` must be a static value or a mapping with only `sql`")
            return None
        return Mask(sql=value["sql"])
    if isinstance(value, list):
        ctx.issue(member, "`mask` must be a static value or `{sql: ...}`")
        return None
    return Mask(value=value)


def _parse_dimension(ctx: _Context, raw: Any, cube: str, index: int) -> Dimension | None:
    name = _name(ctx, raw, "dimensions", index)
    if name is None:
        return None
    label = f"dimension {name}"
    _check_keys(ctx, raw, DIMENSION_KEYS, label)
    case = raw.get("case")
    if case is not None and not isinstance(case, dict):
        ctx.issue(label, "`case` must be a mapping with `when` and optional `else`")
        case = None
    return Dimension(
        name=name,
        cube=cube,
        type=str(raw.get("type", "")),
        sql=_sql(ctx, raw, label),
        primary_key=bool(raw.get("primary_key", False)),
        title=raw.get("title"),
        description=raw.get("description"),
        format=raw.get("format"),
        public=_public(raw),
        meta=_meta(ctx, raw, label),
        mask=_parse_mask(ctx, raw, label),
        case=case,
        sub_query=bool(raw.get("sub_query", False)),
        raw=raw,
    )


def _parse_measure(ctx: _Context, raw: Any, cube: str, index: int) -> Measure | None:
    name = _name(ctx, raw, "measures", index)
    if name is None:
        return None
    label = f"measure {name}"
    _check_keys(ctx, raw, MEASURE_KEYS, label)
    filters: list[str] = []
    for position, item in enumerate(_as_list(ctx, raw.get("filters"), "filters")):
        if not isinstance(item, dict) or set(item) != {"sql"} or not isinstance(item["sql"], str):
            ctx.issue(label, f"filters[{position}] must be a mapping with only `sql`")
            continue
        filters.append(item["sql"])
    return Measure(
        name=name,
        cube=cube,
        type=str(raw.get("type", "")),
        sql=_sql(ctx, raw, label),
        filters=filters,
        rolling_window=_parse_rolling(ctx, raw.get("rolling_window"), label),
        title=raw.get("title"),
        description=raw.get("description"),
        format=raw.get("format"),
        public=_public(raw),
        meta=_meta(ctx, raw, label),
        mask=_parse_mask(ctx, raw, label),
        raw=raw,
    )


def _parse_rolling(ctx: _Context, raw: Any, label: str) -> RollingWindow | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        ctx.issue(label, "`rolling_window` must be a mapping")
        return None
    _check_keys(ctx, raw, ROLLING_KEYS, label)
    kind = str(raw.get("type", "fixed"))
    granularity = raw.get("granularity")
    if kind not in ("fixed", "to_date"):
        ctx.issue(label, f"`rolling_window.type` must be fixed or to_date, not '{kind}'")
    elif kind == "to_date" and granularity not in GRANULARITIES:
        ctx.issue(
            label,
            f"a `to_date` rolling window needs a `granularity` (one of {', '.join(GRANULARITIES)})",
        )
    elif kind == "fixed" and granularity is not None:
        ctx.issue(label, "`rolling_window.granularity` belongs to `type: to_date` windows")
    offset = str(raw.get("offset", "end"))
    if offset not in ("start", "end"):
        ctx.issue(label, f"`rolling_window.offset` must be start or end, not '{offset}'")
    return RollingWindow(
        trailing=_interval_text(raw.get("trailing")),
        leading=_interval_text(raw.get("leading")),
        offset=offset,
        type=kind,
        granularity=str(granularity) if kind == "to_date" and granularity else None,
    )


def _interval_text(value: Any) -> str | None:
    return None if value is None else str(value).strip()


def _parse_segment(ctx: _Context, raw: Any, cube: str, index: int) -> Segment | None:
    name = _name(ctx, raw, "segments", index)
    if name is None:
        return None
    label = f"segment {name}"
    _check_keys(ctx, raw, SEGMENT_KEYS, label)
    sql = _sql(ctx, raw, label)
    if sql is None:
        ctx.issue(label, "has no `sql`")
        return None
    return Segment(
        name=name,
        cube=cube,
        sql=sql,
        title=raw.get("title"),
        description=raw.get("description"),
        public=_public(raw),
        meta=_meta(ctx, raw, label),
        raw=raw,
    )


def _parse_join(ctx: _Context, raw: Any, cube: str, index: int) -> Join | None:
    name = _name(ctx, raw, "joins", index)
    if name is None:
        return None
    label = f"join {name}"
    _check_keys(ctx, raw, JOIN_KEYS, label)
    sql = _sql(ctx, raw, label)
    relationship = raw.get("relationship")
    if sql is None:
        ctx.issue(label, "has no `sql`")
    if relationship is None:
        ctx.issue(label, "has no `relationship` (one_to_one, one_to_many or many_to_one)")
    elif relationship not in RELATIONSHIP_ALIASES:
        ctx.issue(
            label,
            f"unknown relationship '{relationship}' "
            "(expected one_to_one, one_to_many or many_to_one)",
        )
    if sql is None or relationship not in RELATIONSHIP_ALIASES:
        return None
    return Join(
        name=name, cube=cube, sql=sql, relationship=RELATIONSHIP_ALIASES[relationship], raw=raw
    )


def _parse_member_set(ctx: _Context, raw: Any, label: str) -> MemberSet | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not set(raw) <= {"includes", "excludes"}:
        ctx.issue(label, "must be a mapping with `includes` and/or `excludes`")
        return None
    includes = raw.get("includes", "*" if "excludes" in raw else ())
    excludes = raw.get("excludes", ())
    if includes != "*" and not isinstance(includes, list | tuple):
        ctx.issue(label, "`includes` must be '*' or a list of member names")
        includes = ()
    if excludes == "*":
        excludes = ("*",)
    if not isinstance(excludes, list | tuple):
        ctx.issue(label, "`excludes` must be '*' or a list of member names")
        excludes = ()
    return MemberSet(
        includes="*" if includes == "*" else tuple(str(item) for item in includes),
        excludes=tuple(str(item) for item in excludes),
    )


def _parse_policy_filter(ctx: _Context, raw: Any, label: str) -> PolicyFilter | None:
    if not isinstance(raw, dict):
        ctx.issue(label, "a row-level filter must be a mapping")
        return None
    if "and" in raw or "or" in raw:
        key = "and" if "and" in raw else "or"
        items = [_parse_policy_filter(ctx, item, label) for item in raw[key] or []]
        nested = tuple(item for item in items if item is not None)
        return PolicyFilter(and_=nested) if key == "and" else PolicyFilter(or_=nested)
    unknown = set(raw) - {"member", "operator", "values"}
    if unknown or "member" not in raw or "operator" not in raw:
        ctx.issue(label, "a row-level filter needs `member`, `operator` and optional `values`")
        return None
    values = raw.get("values")
    if values is not None and not isinstance(values, list | str):
        ctx.issue(label, "`values` must be a list (or a security context reference)")
        values = None
    return PolicyFilter(
        member=str(raw["member"]),
        operator=str(raw["operator"]),
        values=tuple(values) if isinstance(values, list) else values,
    )


def _parse_policies(ctx: _Context, raw: Any) -> list[AccessPolicy]:
    policies: list[AccessPolicy] = []
    for index, item in enumerate(_as_list(ctx, raw, "access_policy")):
        label = f"access_policy[{index}]"
        if not isinstance(item, dict):
            ctx.issue(label, "must be a mapping")
            continue
        _check_keys(ctx, item, POLICY_KEYS, label)
        roles: list[str] = []
        for key in ("role", "group"):
            if key in item:
                roles.append(str(item[key]))
        for key in ("roles", "groups"):
            if key in item:
                roles += [str(role) for role in item[key] or []]
        if not roles:
            ctx.issue(label, "names no `role`/`group` (use '*' for every role)")
        conditions = []
        for condition in item.get("conditions") or []:
            if not isinstance(condition, dict) or set(condition) != {"if"}:
                ctx.issue(label, "each condition must be a mapping with only `if`")
                continue
            conditions.append(str(condition["if"]))
        row_filters: tuple[PolicyFilter, ...] | None = None
        row_level = item.get("row_level")
        if row_level is not None:
            if not isinstance(row_level, dict) or not set(row_level) <= {"filters", "allow_all"}:
                ctx.issue(label, "`row_level` must be a mapping with `filters` or `allow_all`")
            elif not row_level.get("allow_all", False):
                parsed = [
                    _parse_policy_filter(ctx, f, label) for f in row_level.get("filters") or []
                ]
                row_filters = tuple(f for f in parsed if f is not None)
                if "filters" not in row_level:
                    row_filters = (PolicyFilter(or_=()),)  # allow_all: false -> no rows
        policies.append(
            AccessPolicy(
                roles=tuple(roles),
                conditions=tuple(conditions),
                member_level=_parse_member_set(ctx, item.get("member_level"), label),
                member_masking=_parse_member_set(ctx, item.get("member_masking"), label),
                row_filters=row_filters,
                index=index,
            )
        )
    return policies


def _parse_view(ctx: _Context, raw: Any, index: int) -> View | None:
    ctx.owner = None
    name = _name(ctx, raw, "views", index)
    if name is None:
        return None
    ctx.owner = f"view {name}"
    _check_keys(ctx, raw, VIEW_KEYS, None)
    view = View(
        name=name,
        file=ctx.file,
        title=raw.get("title"),
        description=raw.get("description"),
        public=_public(raw),
        meta=_meta(ctx, raw, None),
        raw=raw,
    )
    for index, item in enumerate(_as_list(ctx, raw.get("cubes"), "cubes")):
        label = f"cubes[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("join_path"), str):
            ctx.issue(label, "needs a `join_path` such as `customers` or `customers.orders`")
            continue
        _check_keys(ctx, item, VIEW_CUBE_KEYS, label)
        view.cubes.append(
            ViewCube(
                join_path=tuple(part.strip() for part in item["join_path"].split(".")),
                includes=_parse_includes(ctx, item.get("includes", "*"), label),
                excludes=tuple(str(member) for member in item.get("excludes") or ()),
                prefix=bool(item.get("prefix", False)),
                alias=item.get("alias"),
            )
        )
    if "access_policy" in raw:
        view.access_policy = _parse_policies(ctx, raw.get("access_policy"))
    return view


def _parse_includes(ctx: _Context, raw: Any, label: str) -> tuple[ViewInclude, ...] | Literal["*"]:
    if raw == "*":
        return "*"
    if not isinstance(raw, list):
        ctx.issue(label, "`includes` must be '*' or a list")
        return ()
    includes = []
    for item in raw:
        if isinstance(item, str):
            includes.append(ViewInclude(name=item))
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            includes.append(
                ViewInclude(
                    name=item["name"],
                    alias=item.get("alias"),
                    title=item.get("title"),
                    description=item.get("description"),
                )
            )
        else:
            ctx.issue(label, f"cannot read include item {item!r}")
    return tuple(includes)
