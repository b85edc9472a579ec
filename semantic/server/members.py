"""What a caller may see of the model: the public views' members under its access policies,
described as Cube's `/v1/meta` and the `annotation` of `/v1/load` describe them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from semantic.definitions import DataModel, Dimension, Measure, View, ViewMember
from semantic.engine.security import Access, SecurityContext, applicable, member_access
from semantic.errors import AccessDenied


def titleize(name: str) -> str:
    """`total_revenue` -> `Total Revenue` (Cube's default titles)."""
    return " ".join(
        word[:1].upper() + word[1:] for word in name.replace(".", "_").split("_") if word
    )


@dataclass(frozen=True)
class MemberDescription:
    """One member as Cube describes it: `name` is `view.member`."""

    name: str
    kind: str  # measure, dimension, segment
    type: str
    title: str
    short_title: str
    description: str | None
    format: str | None
    meta: dict[str, Any]
    agg_type: str | None

    def annotation(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "title": self.title,
            "shortTitle": self.short_title,
            "type": self.type,
        }
        if self.description:
            body["description"] = self.description
        if self.format:
            body["format"] = self.format
        if self.meta:
            body["meta"] = self.meta
        if self.kind == "measure":
            body["drillMembers"] = []
            body["drillMembersGrouped"] = {"measures": [], "dimensions": []}
        return body

    def meta_entry(self) -> dict[str, Any]:
        body = {
            "name": self.name,
            **self.annotation(),
            "aliasName": self.name,
            "isVisible": True,
            "public": True,
        }
        if self.kind == "measure":
            body["aggType"] = self.agg_type
            body["cumulative"] = False
            body["cumulativeTotal"] = False
        elif self.kind == "dimension":
            body["suggestFilterValues"] = True
        return body


def view_title(view: View) -> str:
    return view.title or titleize(view.name)


def describe(model: DataModel, view: View, member: ViewMember) -> MemberDescription:
    definition = model.cubes[member.cube].member(member.member)
    short = member.title or getattr(definition, "title", None) or titleize(member.name)
    member_type = "boolean" if member.kind == "segment" else getattr(definition, "type", "string")
    if isinstance(definition, Measure):
        member_type = (
            definition.type if definition.type in ("string", "time", "boolean") else "number"
        )
    return MemberDescription(
        name=f"{view.name}.{member.name}",
        kind=member.kind,
        type=member_type,
        title=f"{view_title(view)} {short}",
        short_title=short,
        description=member.description or getattr(definition, "description", None),
        format=getattr(definition, "format", None)
        if isinstance(definition, Measure | Dimension)
        else None,
        meta=dict(getattr(definition, "meta", {}) or {}),
        agg_type=definition.type if isinstance(definition, Measure) else None,
    )


def visible_members(
    model: DataModel, view: View, context: SecurityContext
) -> list[MemberDescription] | None:
    """The view's members the caller may query (plain or masked); None if the view is denied."""
    if view.access_policy is not None and context.enforce:
        try:
            applicable(view.access_policy, context, view.name)
        except AccessDenied:
            return None
    shown = []
    for name, member in view.members.items():
        definition = model.cubes[member.cube].member(member.member)
        if definition is None or not getattr(definition, "public", True):
            continue
        access = member_access(view.access_policy, name, context, view.name)
        if access.access is not Access.DENIED:
            shown.append(describe(model, view, member))
    return shown


def meta_cubes(model: DataModel, context: SecurityContext) -> list[dict[str, Any]]:
    """`/v1/meta`'s `cubes`: the public views the caller may query, with their members."""
    cubes = []
    for view in sorted(model.views.values(), key=lambda v: v.name):
        if not view.public:
            continue
        members = visible_members(model, view, context)
        if not members:
            continue
        by_kind = {
            kind: [m.meta_entry() for m in members if m.kind == kind]
            for kind in ("measure", "dimension", "segment")
        }
        cubes.append(
            {
                "name": view.name,
                "title": view_title(view),
                "type": "view",
                "description": view.description,
                "meta": view.meta or None,
                "isVisible": True,
                "public": True,
                "connectedComponent": None,
                "measures": by_kind["measure"],
                "dimensions": by_kind["dimension"],
                "segments": by_kind["segment"],
                "hierarchies": [],
                "folders": [],
                "nestedFolders": [],
            }
        )
    return cubes


def lookup(model: DataModel, name: str) -> MemberDescription | None:
    """The description of `view.member` (any view; access is checked by the engine)."""
    owner, _, member_name = name.partition(".")
    view = model.views.get(owner)
    if view is not None:
        member = view.members.get(member_name)
        return describe(model, view, member) if member is not None else None
    cube = model.cubes.get(owner)
    definition = cube.member(member_name) if cube is not None else None
    if cube is None or definition is None:
        return None
    as_view = View(name=cube.name, file=cube.file, title=cube.title)
    return describe(
        model,
        as_view,
        ViewMember(
            view=cube.name,
            name=member_name,
            kind=definition.kind,
            cube=cube.name,
            member=member_name,
            join_path=(cube.name,),
        ),
    )
