"""Typed definitions of a Cube data model: cubes, members, joins, views and access policies.

These are plain data classes filled by `model_loader`; `validation` checks them and the engine
reads them. `raw` keeps each object's YAML mapping, so `diff` can show definition changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

DIMENSION_TYPES = ("string", "number", "time", "boolean", "geo")
MEASURE_TYPES = (
    "count",
    "count_distinct",
    "count_distinct_approx",
    "sum",
    "avg",
    "min",
    "max",
    "number",
    "string",
    "time",
    "boolean",
    "running_total",
    "number_agg",
)
AGGREGATE_TYPES = (
    "count",
    "count_distinct",
    "count_distinct_approx",
    "sum",
    "avg",
    "min",
    "max",
    "running_total",
)
RELATIONSHIP_ALIASES = {
    "belongs_to": "many_to_one",
    "belongsTo": "many_to_one",
    "many_to_one": "many_to_one",
    "has_many": "one_to_many",
    "hasMany": "one_to_many",
    "one_to_many": "one_to_many",
    "has_one": "one_to_one",
    "hasOne": "one_to_one",
    "one_to_one": "one_to_one",
}
FORMATS = ("percent", "currency", "number", "imageUrl", "id", "link")
#: `meta.unit` values: a number shown with its unit (reports; Cube ignores `meta`)
DISPLAY_UNITS = ("days", "months", "hours")
GRANULARITIES = ("second", "minute", "hour", "day", "week", "month", "quarter", "year")

MemberKind = Literal["dimension", "measure", "segment"]


@dataclass(frozen=True)
class Mask:
    """A member's `mask`: a static value, or SQL (`mask: {sql: ...}`); NULL when undefined."""

    value: Any = None
    sql: str | None = None


@dataclass(frozen=True)
class RollingWindow:
    """`rolling_window`: intervals like '30 day' or 'unbounded'; offset 'start' or 'end';
    or `type: to_date` with a `granularity` (quarter-to-date...)."""

    trailing: str | None = None
    leading: str | None = None
    offset: str = "end"
    type: str = "fixed"
    granularity: str | None = None


@dataclass
class Dimension:
    name: str
    cube: str
    type: str
    sql: str | None
    primary_key: bool = False
    title: str | None = None
    description: str | None = None
    format: str | None = None
    public: bool = True
    meta: dict[str, Any] = field(default_factory=dict)
    mask: Mask | None = None
    case: dict[str, Any] | None = None
    sub_query: bool = False
    raw: dict[str, Any] = field(default_factory=dict)

    kind: MemberKind = "dimension"


@dataclass
class Measure:
    name: str
    cube: str
    type: str
    sql: str | None
    filters: list[str] = field(default_factory=list)
    rolling_window: RollingWindow | None = None
    title: str | None = None
    description: str | None = None
    format: str | None = None
    public: bool = True
    meta: dict[str, Any] = field(default_factory=dict)
    mask: Mask | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    kind: MemberKind = "measure"


@dataclass
class Segment:
    name: str
    cube: str
    sql: str
    title: str | None = None
    description: str | None = None
    public: bool = True
    meta: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)

    kind: MemberKind = "segment"


Member = Dimension | Measure | Segment


@dataclass
class Join:
    """`joins` entry of cube `cube`: `cube` joins `name` with `relationship` (normalised)."""

    name: str
    cube: str
    sql: str
    relationship: str
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MemberSet:
    """`member_level` / `member_masking`: includes ('*' or names) minus excludes."""

    includes: tuple[str, ...] | Literal["*"] = "*"
    excludes: tuple[str, ...] = ()

    def contains(self, member: str) -> bool:
        included = self.includes == "*" or member in self.includes
        return included and member not in self.excludes and "*" not in self.excludes


@dataclass(frozen=True)
class PolicyFilter:
    """A row-level filter in REST filter format; `and_`/`or_` for nested groups."""

    member: str | None = None
    operator: str | None = None
    values: tuple[Any, ...] | str | None = None
    and_: tuple[PolicyFilter, ...] | None = None
    or_: tuple[PolicyFilter, ...] | None = None


@dataclass(frozen=True)
class AccessPolicy:
    """One `access_policy` entry. `row_filters` None means every row is allowed."""

    roles: tuple[str, ...]
    conditions: tuple[str, ...] = ()
    member_level: MemberSet | None = None
    member_masking: MemberSet | None = None
    row_filters: tuple[PolicyFilter, ...] | None = None
    index: int = 0


@dataclass
class Cube:
    name: str
    file: Path
    sql_table: str | None = None
    sql: str | None = None
    data_source: str | None = None
    title: str | None = None
    description: str | None = None
    public: bool = True
    meta: dict[str, Any] = field(default_factory=dict)
    dimensions: dict[str, Dimension] = field(default_factory=dict)
    measures: dict[str, Measure] = field(default_factory=dict)
    segments: dict[str, Segment] = field(default_factory=dict)
    joins: dict[str, Join] = field(default_factory=dict)
    access_policy: list[AccessPolicy] | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def primary_keys(self) -> list[Dimension]:
        return [d for d in self.dimensions.values() if d.primary_key]

    def member(self, name: str) -> Member | None:
        return self.dimensions.get(name) or self.measures.get(name) or self.segments.get(name)

    def members(self) -> list[Member]:
        return [*self.dimensions.values(), *self.measures.values(), *self.segments.values()]


@dataclass(frozen=True)
class ViewInclude:
    """One `includes` item of a view cube: a member name and the name it takes in the view."""

    name: str
    alias: str | None = None
    title: str | None = None
    description: str | None = None


@dataclass
class ViewCube:
    join_path: tuple[str, ...]
    includes: tuple[ViewInclude, ...] | Literal["*"] = "*"
    excludes: tuple[str, ...] = ()
    prefix: bool = False
    alias: str | None = None

    @property
    def cube(self) -> str:
        return self.join_path[-1]


@dataclass(frozen=True)
class ViewMember:
    """A member of a view: `view.name` is `cube.member`, reached by `join_path`."""

    view: str
    name: str
    kind: MemberKind
    cube: str
    member: str
    join_path: tuple[str, ...]
    title: str | None = None
    description: str | None = None


@dataclass
class View:
    name: str
    file: Path
    title: str | None = None
    description: str | None = None
    public: bool = True
    meta: dict[str, Any] = field(default_factory=dict)
    cubes: list[ViewCube] = field(default_factory=list)
    access_policy: list[AccessPolicy] | None = None
    members: dict[str, ViewMember] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class DataModel:
    """All cubes and views of one model folder."""

    root: Path
    cubes: dict[str, Cube] = field(default_factory=dict)
    views: dict[str, View] = field(default_factory=dict)

    def cube(self, name: str) -> Cube:
        return self.cubes[name]


FILTER_OPERATORS = (
    "equals",
    "notEquals",
    "contains",
    "notContains",
    "startsWith",
    "notStartsWith",
    "endsWith",
    "notEndsWith",
    "gt",
    "gte",
    "lt",
    "lte",
    "set",
    "notSet",
    "inDateRange",
    "notInDateRange",
    "beforeDate",
    "beforeOrOnDate",
    "afterDate",
    "afterOrOnDate",
)
INTERVAL_UNITS = ("second", "minute", "hour", "day", "week", "month", "quarter", "year")


def parse_interval(text: str) -> tuple[int, str] | None:
    """'30 day' / '3 months' -> (30, 'day'); 'unbounded' -> None; ValueError otherwise."""
    cleaned = text.strip().lower()
    if cleaned == "unbounded":
        return None
    parts = cleaned.split()
    if len(parts) == 2 and parts[0].isdigit():
        unit = parts[1][:-1] if parts[1].endswith("s") else parts[1]
        if unit in INTERVAL_UNITS:
            return int(parts[0]), unit
    raise ValueError(f"cannot read interval '{text}' (expected e.g. '30 day' or 'unbounded')")
