"""Resolve query members to cube members, and plan the join tree a query needs.

A query reads one view (its members map to cube members through the view's join paths) or,
for trusted internal use, cubes directly (the root is the first cube from which declared joins
reach every other one). The join tree holds only the cubes the query touches. A cube's rows are
*multiplied* when the tree holds a to-many join leading away from it; its measures are then
computed on rows de-duplicated by its primary key (see `compiler`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from semantic.definitions import (
    DataModel,
    Dimension,
    Join,
    Measure,
    Member,
    MemberKind,
)
from semantic.errors import QueryError
from semantic.join_graph import directed_path, path_cubes
from semantic.references import member_templates, reachable_members


@dataclass(frozen=True)
class ResolvedMember:
    """A query member: `path` as written, the owner it was read through, the cube member."""

    path: str
    owner: str
    owner_is_view: bool
    local_name: str
    cube: str
    name: str
    definition: Member
    join_hint: tuple[str, ...]

    @property
    def kind(self) -> MemberKind:
        return self.definition.kind

    @property
    def type(self) -> str:
        if isinstance(self.definition, Dimension | Measure):
            return self.definition.type
        return "boolean"


class MemberResolver:
    """Looks members up by `view.member` / `cube.member` with clear errors."""

    def __init__(self, model: DataModel, allow_private: bool = False):
        self.model = model
        self.allow_private = allow_private

    def _all_paths(self) -> list[str]:
        paths = [
            f"{view.name}.{name}" for view in self.model.views.values() for name in view.members
        ]
        return paths + [
            f"{cube.name}.{m.name}" for cube in self.model.cubes.values() for m in cube.members()
        ]

    def _unknown(self, path: str, reason: str) -> QueryError:
        close = difflib.get_close_matches(path, self._all_paths(), n=3, cutoff=0.75)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        return QueryError(f"unknown member '{path}': {reason}{hint}")

    def resolve(self, path: str, kinds: tuple[MemberKind, ...] | None = None) -> ResolvedMember:
        parts = path.split(".")
        if len(parts) != 2 or not all(parts):
            raise self._unknown(path, "members are written as view.member")
        owner, local = parts
        if owner in self.model.views:
            resolved = self._from_view(path, owner, local)
        elif owner in self.model.cubes:
            resolved = self._from_cube(path, owner, local)
        else:
            raise self._unknown(path, f"there is no view or cube named '{owner}'")
        if kinds is not None and resolved.kind not in kinds:
            raise QueryError(
                f"'{path}' is a {resolved.kind}; it cannot be used as a {' or '.join(kinds)} here"
            )
        return resolved

    def _from_view(self, path: str, owner: str, local: str) -> ResolvedMember:
        view = self.model.views[owner]
        if not view.public and not self.allow_private:
            raise QueryError(f"view '{owner}' is not public")
        member = view.members.get(local)
        if member is None:
            raise self._unknown(path, f"view '{owner}' has no member '{local}'")
        definition = self.model.cubes[member.cube].member(member.member)
        assert definition is not None
        return ResolvedMember(
            path, owner, True, local, member.cube, member.member, definition, member.join_path
        )

    def _from_cube(self, path: str, owner: str, local: str) -> ResolvedMember:
        cube = self.model.cubes[owner]
        definition = cube.member(local)
        if definition is None:
            raise self._unknown(path, f"cube '{owner}' has no member '{local}'")
        if not self.allow_private and (not cube.public or not definition.public):
            raise QueryError(f"'{path}' is not public; query it through a view")
        return ResolvedMember(path, owner, False, local, owner, local, definition, (owner,))


def referenced_cubes(model: DataModel, cube: str, name: str) -> set[str]:
    """Other cubes whose dimensions a member's SQL reaches (transitively): the cubes named by
    `{cube}.column` and `{cube.member}` references in its SQL and in that of every member it
    reaches, and the cubes of those members."""
    found: set[str] = set()
    for owner, member in [(cube, name), *reachable_members(model, cube, name)]:
        found.add(owner)
        if owner not in model.cubes:
            continue
        for template in member_templates(model.cubes[owner].member(member)):
            found |= {ref.cube for ref in template.table_references() if ref.cube}
    return found - {cube}


@dataclass
class JoinTree:
    """Root cube and joins (each from an already-joined cube to a new one), in join order."""

    root: str
    joins: list[Join] = field(default_factory=list)

    @property
    def cubes(self) -> list[str]:
        return [self.root, *(join.name for join in self.joins)]

    def _children(self, cube: str) -> list[Join]:
        return [join for join in self.joins if join.cube == cube]

    def _subtree(self, cube: str) -> set[str]:
        found = {cube}
        for join in self._children(cube):
            found |= self._subtree(join.name)
        return found

    def multiplied(self, cube: str) -> bool:
        """True when a to-many join leads away from `cube`, so its rows repeat."""
        for join in self.joins:
            if cube in self._subtree(join.name):  # traversed child -> parent
                if join.relationship == "many_to_one":
                    return True
            elif join.relationship == "one_to_many":  # traversed parent -> child
                return True
        return False


def build_tree(model: DataModel, hints: list[tuple[str, ...]]) -> JoinTree:
    """A join tree covering every hint path (root first); errors when paths conflict."""
    roots = {hint[0] for hint in hints}
    if len(roots) != 1:
        listed = ", ".join(sorted(roots))
        raise QueryError(
            f"members come from cubes with different roots ({listed}); query them through one view"
        )
    tree = JoinTree(root=hints[0][0])
    parent: dict[str, str] = {tree.root: ""}
    for hint in hints:
        for source, target in zip(hint, hint[1:], strict=False):
            join = model.cubes[source].joins.get(target)
            if join is None:
                raise QueryError(f"cube '{source}' declares no join to '{target}'")
            if target in parent:
                if parent[target] != source:
                    raise QueryError(
                        f"cube '{target}' is reached through two join paths "
                        f"(from '{parent[target]}' and from '{source}'); this is "
                        "not supported"
                    )
                continue
            parent[target] = source
            tree.joins.append(join)
    return tree


def cube_hints(model: DataModel, cubes: list[str]) -> list[tuple[str, ...]]:
    """Join paths for a query over cubes: from the first cube that reaches all the others."""
    ordered = list(dict.fromkeys(cubes))
    for root in ordered:
        paths = [directed_path(model, root, other) for other in ordered]
        if all(path is not None for path in paths):
            return [path_cubes(path or [], root) for path in paths]
    raise QueryError(
        f"no join path connects cubes {', '.join(ordered)}: declare joins from one "
        "of them to the others"
    )


def extend_hint(
    model: DataModel, hint: tuple[str, ...], cube: str, targets: set[str]
) -> list[tuple[str, ...]]:
    """Hints reaching the cubes a member's SQL references, continuing from `hint`."""
    extended = []
    for target in sorted(targets):
        if target in hint:
            continue
        path = directed_path(model, cube, target)
        if path is None:
            raise QueryError(
                f"a member of cube '{cube}' references cube '{target}', but no join "
                f"path leads from '{cube}' to '{target}'"
            )
        extended.append(hint + path_cubes(path, cube)[1:])
    return extended
