"""Metric diff for pull-request review: definition changes and their value impact.

`diff(base_ref)` loads the model as of a git ref and the working tree's model, lists added,
removed and changed cubes/members/views with a unified diff of their YAML, and evaluates every
added or changed measure (and every measure depending on a changed member) under both
definitions on the current warehouse: by a segment dimension and, for measures whose cube has a
time dimension, by month. With `env`, the new definitions read the SQLMesh virtual
environment's schemas (`<schema>__<env>`), the old ones prod.
`DiffReport.to_markdown()` is fit for a PR comment; `to_json()` for machines.

What it shows is what the reviewer role (`semantic.reviewer_role`, default analyst) may see:
each measure is evaluated through a public view that exposes it, under that role's access
policies (row filters included); a measure no public view exposes is listed, not evaluated.
The segment dimension must be a public view dimension the role sees unmasked, in the base
model and in the new one, with the same definition in both (a pull request cannot redefine
what its values are grouped by); other views use their member for the same cube dimension.
Values are numbers only, warehouse error texts (which may quote data) are withheld, and the
warehouse is opened read-only without external access (no files, no extensions).
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import yaml
from sqlglot import exp

from semantic.definitions import Cube, DataModel
from semantic.engine import Engine
from semantic.engine.dates import shift
from semantic.engine.members import MemberSql, TableMapper
from semantic.engine.security import Access, SecurityContext, member_access
from semantic.errors import DiffError, ModelError, QueryError, SemanticError
from semantic.gitmodel import export_model, repo_root, verify_ref
from semantic.model_loader import load_model
from semantic.references import reachable_members

DEFAULT_SEGMENT_DIMENSION = "revenue.segment"
DEFAULT_REVIEWER_ROLE = "analyst"
WITHHELD = "the warehouse rejected the query (its message is withheld: it may quote data)"
MEMBER_SECTIONS = ("dimensions", "measures", "segments")


@dataclass
class DefinitionChange:
    owner: str  # "cube orders" / "view customer_360"
    member: str | None  # "measure revenue"; None for the cube/view itself
    change: str  # added, removed, changed
    diff: str

    @property
    def label(self) -> str:
        return f"{self.owner} {self.member}" if self.member else self.owner


@dataclass
class ImpactRow:
    key: str
    before: float | None
    after: float | None
    change: float | None
    change_pct: float | None


@dataclass
class MeasureImpact:
    measure: str  # cube.measure
    reason: str  # added / changed / depends on changed <member>
    view_member: str | None = None  # the public view member it was evaluated through
    by: str | None = None
    rows: list[ImpactRow] = field(default_factory=list)
    time_dimension: str | None = None
    months: list[ImpactRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class DiffReport:
    base_ref: str
    head: str
    env: str | None
    changes: list[DefinitionChange]
    impacts: list[MeasureImpact]
    reviewer_role: str = DEFAULT_REVIEWER_ROLE
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, default=str)

    def to_markdown(self) -> str:
        return render_markdown(self)


# ---------------------------------------------------------------- definition changes
def _dump(value: Any) -> list[str]:
    if value is None:
        return []
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True).splitlines(keepends=True)


def _unified(before: Any, after: Any, label: str) -> str:
    return "".join(difflib.unified_diff(_dump(before), _dump(after), f"a/{label}", f"b/{label}"))


def _compare(owner: str, member: str | None, before: Any, after: Any) -> DefinitionChange | None:
    if before == after:
        return None
    change = "added" if before is None else "removed" if after is None else "changed"
    label = f"{owner} {member}".replace(" ", "/") if member else owner.replace(" ", "/")
    return DefinitionChange(owner, member, change, _unified(before, after, label))


def _cube_shell(cube: Cube | None) -> dict[str, Any] | None:
    if cube is None:
        return None
    return {key: value for key, value in cube.raw.items() if key not in MEMBER_SECTIONS}


def definition_changes(old: DataModel, new: DataModel) -> list[DefinitionChange]:
    """Added, removed and changed cubes, members and views (YAML-level comparison)."""
    changes: list[DefinitionChange] = []
    for name in sorted(set(old.cubes) | set(new.cubes)):
        before, after = old.cubes.get(name), new.cubes.get(name)
        owner = f"cube {name}"
        shell = _compare(owner, None, _cube_shell(before), _cube_shell(after))
        if shell:
            changes.append(shell)
        members = {(m.kind, m.name) for cube in (before, after) if cube for m in cube.members()}
        for kind, member in sorted(members):
            old_member = before.member(member) if before else None
            new_member = after.member(member) if after else None
            change = _compare(
                owner,
                f"{kind} {member}",
                old_member.raw if old_member else None,
                new_member.raw if new_member else None,
            )
            if change:
                changes.append(change)
    for name in sorted(set(old.views) | set(new.views)):
        before_view, after_view = old.views.get(name), new.views.get(name)
        change = _compare(
            f"view {name}",
            None,
            before_view.raw if before_view else None,
            after_view.raw if after_view else None,
        )
        if change:
            changes.append(change)
    return changes


def affected_measures(
    old: DataModel, new: DataModel, changes: list[DefinitionChange]
) -> dict[tuple[str, str], str]:
    """Measures of the new model to evaluate, with the reason."""
    changed: dict[tuple[str, str], str] = {}
    for change in changes:
        kind, _, cube = change.owner.partition(" ")
        if kind != "cube" or change.change == "removed":
            continue
        if change.member is None:
            for measure in new.cubes[cube].measures:
                changed.setdefault((cube, measure), "its cube's definition changed")
            continue
        member = change.member.split(" ", 1)[1]
        changed[(cube, member)] = change.change
    affected: dict[tuple[str, str], str] = {}
    for new_cube in new.cubes.values():
        for measure in new_cube.measures:
            key = (new_cube.name, measure)
            if key in changed:
                affected[key] = changed[key]
                continue
            reason = _changed_dependency(new, key, changed)
            if reason:
                affected[key] = reason
    return affected


def _changed_dependency(
    model: DataModel, key: tuple[str, str], changed: dict[tuple[str, str], str]
) -> str | None:
    for dependency in reachable_members(model, *key):
        if dependency in changed:
            return f"depends on changed {dependency[0]}.{dependency[1]}"
    return None


# ---------------------------------------------------------------- value impact
def env_mapper(con: duckdb.DuckDBPyConnection, env: str) -> TableMapper:
    """Redirect `schema.table` to `schema__<env>.table` where SQLMesh created that schema."""
    schemas = {
        row[0]
        for row in con.execute("select schema_name from information_schema.schemata").fetchall()
    }
    suffixed = {schema for schema in schemas if schema.endswith(f"__{env}")}
    if not suffixed:
        raise DiffError(
            f"no SQLMesh environment '{env}' in the warehouse: no schema named "
            f"<schema>__{env} (run `sqlmesh plan {env}` first)"
        )

    def mapper(table: exp.Table) -> exp.Table:
        target = f"{table.db}__{env}"
        if table.db and target in suffixed:
            mapped = table.copy()
            mapped.set("db", exp.to_identifier(target))
            return mapped
        return table

    return mapper


def _time_dimension(model: DataModel, cube: str, measure: str) -> str | None:
    definition = model.cubes[cube].measures[measure]
    named = definition.meta.get("time_dimension")
    if isinstance(named, str):
        return named if "." in named else f"{cube}.{named}"
    for dimension in model.cubes[cube].dimensions.values():
        if dimension.type == "time":
            return f"{cube}.{dimension.name}"
    return None


def _time_range(engine: Engine, member: str) -> tuple[dt.datetime, dt.datetime] | None:
    cube, name = member.split(".")
    renderer = MemberSql(engine.model, engine.table_mapper)
    value = renderer.dimension(cube, name)
    query = exp.select(exp.Min(this=value.copy()), exp.Max(this=value)).from_(renderer.table(cube))
    with engine.connection() as con:
        low, high = con.execute(query.sql("duckdb")).fetchone() or (None, None)
    if low is None or high is None:
        return None
    return pd.Timestamp(low).to_pydatetime(), pd.Timestamp(high).to_pydatetime()


def _evaluate(
    engine: Engine | None,
    query: dict[str, Any],
    column: str,
    key: str | None,
    errors: list[str],
    side: str,
    context: SecurityContext,
) -> dict[str, float | None]:
    if engine is None:
        return {}
    try:
        frame = engine.load(query, context=context)
    except QueryError as exc:
        shown = WITHHELD if str(exc).startswith("the warehouse rejected") else str(exc)
        errors.append(f"{side}: {shown}")
        return {}
    except SemanticError as exc:
        errors.append(f"{side}: {exc}")
        return {}
    values: dict[str, float | None] = {}
    for row in frame.to_dict("records"):
        label = "total" if key is None else _label(row[key])
        try:
            value = None if row[column] is None or pd.isna(row[column]) else float(row[column])
        except (TypeError, ValueError):
            errors.append(f"{side}: '{column}' is not a number; only numbers are shown")
            return {}
        values[label] = value
    return values


def _label(value: Any) -> str:
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m")
    return "(null)" if value is None or pd.isna(value) else str(value)


def _rows(before: dict[str, float | None], after: dict[str, float | None]) -> list[ImpactRow]:
    rows = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        change = None if old is None or new is None else new - old
        pct = None if change is None or not old else 100.0 * change / abs(old)
        rows.append(ImpactRow(key, old, new, change, pct))
    return rows


def view_members(model: DataModel, cube: str, member: str) -> list[str]:
    """`view.member` paths of the public views exposing a cube member (sorted)."""
    return sorted(
        f"{view.name}.{name}"
        for view in model.views.values()
        if view.public
        for name, item in view.members.items()
        if item.cube == cube and item.member == member
    )


def _plain_for(model: DataModel, path: str, context: SecurityContext) -> bool:
    view, name = path.split(".", 1)
    try:
        return (
            member_access(model.views[view].access_policy, name, context, f"view {view}").access
            is Access.PLAIN
        )
    except SemanticError:
        return False


def segment_source(
    old: DataModel, new: DataModel, segment_dimension: str, context: SecurityContext
) -> tuple[str, str]:
    """The cube dimension behind `--segment-dimension`, after checking the reviewer may see
    it: a public view's dimension, unmasked for the role, in the base and the new model."""
    view, _, name = segment_dimension.partition(".")
    sides = [("base", old), ("new", new)] if old.views else [("new", new)]
    for label, model in sides:
        definition = model.views.get(view)
        item = definition.members.get(name) if definition is not None else None
        if definition is None or item is None or item.kind != "dimension":
            raise DiffError(
                f"--segment-dimension {segment_dimension}: not a dimension of a "
                f"view in the {label} model (give a public view dimension, e.g. "
                f"{DEFAULT_SEGMENT_DIMENSION})"
            )
        if not definition.public:
            raise DiffError(f"--segment-dimension {segment_dimension}: view {view} is not public")
        if not _plain_for(model, segment_dimension, context):
            who = ", ".join(context.roles) or "no role"
            raise DiffError(
                f"--segment-dimension {segment_dimension}: role(s) {who} may not "
                f"see it unmasked in the {label} model; the diff shows only what "
                "the reviewer role may see"
            )
    new_item = new.views[view].members[name]
    old_item = old.views[view].members[name] if old.views else new_item
    if (old_item.cube, old_item.member) != (new_item.cube, new_item.member):
        raise DiffError(
            f"--segment-dimension {segment_dimension}: the pull request points it "
            "at another member; choose a dimension it leaves alone"
        )
    return new_item.cube, new_item.member


def _breakdown(
    model: DataModel, view: str, source: tuple[str, str] | None, context: SecurityContext
) -> str | None:
    if source is None:
        return None
    for name, item in model.views[view].members.items():
        path = f"{view}.{name}"
        if (item.cube, item.member) == source and _plain_for(model, path, context):
            return path
    return None


def _view_time(model: DataModel, view: str, cube_member: str) -> str | None:
    cube, name = cube_member.split(".")
    return next(
        (
            f"{view}.{member}"
            for member, item in model.views[view].members.items()
            if (item.cube, item.member) == (cube, name)
        ),
        None,
    )


def measure_impact(
    measure: tuple[str, str],
    reason: str,
    old: Engine | None,
    new: Engine,
    segment: tuple[str, str] | None,
    months: int,
    context: SecurityContext,
) -> MeasureImpact:
    cube, name = measure
    impact = MeasureImpact(measure=f"{cube}.{name}", reason=reason)
    candidates = view_members(new.model, cube, name)
    path = next((p for p in candidates if _plain_for(new.model, p, context)), None)
    if path is None:
        who = ", ".join(context.roles) or "no role"
        impact.errors.append(
            "after: not evaluated: "
            + (
                f"role(s) {who} may not see it in a public view"
                if candidates
                else "no public view exposes it (see the view measures built on it)"
            )
        )
        return impact
    view = path.split(".", 1)[0]
    impact.view_member = path
    old_engine = old if old is not None and path in view_members(old.model, cube, name) else None
    by = _breakdown(new.model, view, segment, context)
    if (
        by is not None
        and old_engine is not None
        and by != _breakdown(old_engine.model, view, segment, context)
    ):
        by = None
    impact.by = by
    query: dict[str, Any] = {"measures": [path], "dimensions": [by] if by else []}
    impact.rows = _rows(
        _evaluate(old_engine, query, path, by, impact.errors, "before", context),
        _evaluate(new, query, path, by, impact.errors, "after", context),
    )
    time_dimension = _time_dimension(new.model, cube, name)
    view_time = _view_time(new.model, view, time_dimension) if time_dimension else None
    if time_dimension is None or view_time is None:
        return impact
    try:
        span = _time_range(new, time_dimension)
    except (SemanticError, duckdb.Error):
        impact.errors.append(f"time range of {view_time}: {WITHHELD}")
        return impact
    if span is None:
        return impact
    start = max(
        span[0],
        shift(
            span[1].replace(day=1, hour=0, minute=0, second=0, microsecond=0), "month", 1 - months
        ),
    )
    impact.time_dimension = view_time
    column = f"{view_time}.month"
    by_month = {
        "measures": [path],
        "timeDimensions": [
            {
                "dimension": view_time,
                "granularity": "month",
                "dateRange": [start.date().isoformat(), span[1].date().isoformat()],
            }
        ],
    }
    impact.months = _rows(
        _evaluate(old_engine, by_month, path, column, impact.errors, "before", context),
        _evaluate(new, by_month, path, column, impact.errors, "after", context),
    )
    return impact


# ---------------------------------------------------------------- entry point
def diff(
    base_ref: str,
    *,
    model_path: Path,
    warehouse: Path | duckdb.DuckDBPyConnection,
    head_ref: str | None = None,
    env: str | None = None,
    segment_dimension: str = DEFAULT_SEGMENT_DIMENSION,
    months: int = 12,
    evaluate: bool = True,
    reviewer_role: str = DEFAULT_REVIEWER_ROLE,
) -> DiffReport:
    """Compare the model at `base_ref` with the working tree (or `head_ref`); values as the
    reviewer role sees them."""
    model_path = model_path.resolve()
    repo = repo_root(model_path if model_path.exists() else model_path.parent)
    verify_ref(repo, base_ref)
    if head_ref is not None:
        verify_ref(repo, head_ref)
    try:
        relative = model_path.relative_to(repo)
    except ValueError as exc:
        raise DiffError(f"model folder {model_path} is outside repository {repo}") from exc
    with tempfile.TemporaryDirectory(prefix="metric-diff-") as tmp:
        old_model = _model_at(repo, base_ref, relative, Path(tmp) / "base")
        if head_ref is None:
            new_model = load_model(model_path)
        else:
            new_model = _model_at(repo, head_ref, relative, Path(tmp) / "head")
    changes = definition_changes(old_model, new_model)
    context = SecurityContext.build(reviewer_role)
    impacts: list[MeasureImpact] = []
    notes: list[str] = []
    if evaluate and changes:
        source = segment_source(old_model, new_model, segment_dimension, context)
        segment: tuple[str, str] | None = source
        if _changed_member(changes, source):
            notes.append(
                f"`{segment_dimension}` is changed by this pull request: values are "
                "shown without a segment breakdown"
            )
            segment = None
        impacts = _impacts(old_model, new_model, changes, warehouse, env, segment, months, context)
    return DiffReport(
        base_ref=base_ref,
        head=head_ref or "working tree",
        env=env,
        changes=changes,
        impacts=impacts,
        reviewer_role=reviewer_role,
        notes=notes,
    )


def _changed_member(changes: list[DefinitionChange], member: tuple[str, str]) -> bool:
    cube, name = member
    return any(
        change.owner == f"cube {cube}"
        and (change.member is None or change.member.split(" ", 1)[1] == name)
        for change in changes
    )


def _model_at(repo: Path, ref: str, relative: Path, target: Path) -> DataModel:
    exported = export_model(repo, ref, relative, target)
    if exported is None:
        return DataModel(root=target)
    try:
        return load_model(exported)
    except ModelError as exc:
        raise DiffError(f"the model at {ref} does not load:\n{exc}") from exc


def _impacts(
    old_model: DataModel,
    new_model: DataModel,
    changes: list[DefinitionChange],
    warehouse: Path | duckdb.DuckDBPyConnection,
    env: str | None,
    segment: tuple[str, str] | None,
    months: int,
    context: SecurityContext,
) -> list[MeasureImpact]:
    own_connection = not isinstance(warehouse, duckdb.DuckDBPyConnection)
    if isinstance(warehouse, duckdb.DuckDBPyConnection):
        con = warehouse
    else:
        con = duckdb.connect(
            str(warehouse), read_only=True, config={"enable_external_access": False}
        )
    try:
        mapper = env_mapper(con, env) if env else None
        old = Engine(old_model, con) if old_model.cubes else None
        new = Engine(new_model, con, table_mapper=mapper)
        return [
            measure_impact(key, reason, old, new, segment, months, context)
            for key, reason in affected_measures(old_model, new_model, changes).items()
        ]
    finally:
        if own_connection:
            con.close()


# ---------------------------------------------------------------- markdown
def _number(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.2f}"


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:+.1f}%"


def _table(rows: list[ImpactRow], key: str) -> list[str]:
    lines = [
        f"| {key} | before | after | change | change % |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        change = (
            "–" if row.change is None else ("+" if row.change > 0 else "") + _number(row.change)
        )
        lines.append(
            f"| {row.key} | {_number(row.before)} | {_number(row.after)} | {change} | "
            f"{_percent(row.change_pct)} |"
        )
    return lines


def render_markdown(report: DiffReport) -> str:
    counts = {
        kind: sum(c.change == kind for c in report.changes)
        for kind in ("added", "removed", "changed")
    }
    where = f"; new definitions read SQLMesh environment `{report.env}`" if report.env else ""
    lines = [
        f"## Metric diff: `{report.base_ref}` → {report.head}",
        "",
        f"Values as role `{report.reviewer_role}` sees them.",
        "",
    ]
    lines += [f"> {note}" for note in report.notes] + ([""] if report.notes else [])
    if not report.changes:
        return "\n".join([*lines, "No changes to the semantic model."]) + "\n"
    lines += [
        f"**{len(report.changes)} definition change(s)**: {counts['added']} added, "
        f"{counts['removed']} removed, {counts['changed']} changed{where}.",
        "",
    ]
    lines += ["| object | change |", "| --- | --- |"]
    lines += [f"| `{change.label}` | {change.change} |" for change in report.changes]
    lines.append("")
    for change in report.changes:
        lines += [
            f"<details><summary><code>{change.label}</code> ({change.change})</summary>",
            "",
            "```diff",
            change.diff.rstrip("\n"),
            "```",
            "",
            "</details>",
            "",
        ]
    if report.impacts:
        lines += ["### Value impact", ""]
    for impact in report.impacts:
        through = f" as `{impact.view_member}`" if impact.view_member else ""
        lines += [f"#### `{impact.measure}`{through} ({impact.reason})", ""]
        lines += _table(impact.rows, f"`{impact.by}`" if impact.by else "scope") + [""]
        if impact.months:
            lines += [f"By month of `{impact.time_dimension}`:", ""]
            lines += _table(impact.months, "month") + [""]
        for error in impact.errors:
            lines += [f"> ⚠️ could not evaluate {error}", ""]
    return "\n".join(lines).rstrip("\n") + "\n"
