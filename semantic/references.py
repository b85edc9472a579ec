"""Cube SQL snippets with references (`{CUBE}.col`, `{member}`, `{cube.member}`) as SQLGlot ASTs.

A snippet is parsed once: every `{...}` becomes a placeholder identifier, the text is parsed by
SQLGlot, and `render` replaces the placeholders with expressions the caller supplies (a table
alias for `{CUBE}` / `{other_cube}`, the SQL of a member for `{member}`). Bare column names are
qualified with the owning cube's alias, as Cube does for `sql: status`. Nothing is pasted as
text after parsing, so a rendered snippet is always a well-formed expression.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from semantic.definitions import DataModel, Dimension, Measure, Member

REFERENCE = re.compile(r"\{([^{}]*)\}")
FOLLOWED_BY_COLUMN = re.compile(r"\s*\.\s*[A-Za-z_\"]")
SECURITY_PREFIXES = (
    "securitycontext",
    "security_context",
    "userattributes",
    "filter_params",
    "filter_group",
    "sql_utils",
    "compile_context",
)
MODEL_DIALECT = "duckdb"


class TemplateError(ValueError):
    """A snippet does not parse, or uses a reference form this layer does not support."""


@dataclass(frozen=True)
class Reference:
    """One `{...}` of a snippet. cube None means the owning cube (`CUBE`)."""

    token: str
    text: str
    kind: str  # "table" for {CUBE}.col / {cube}.col, "member" for {member} / {cube.member}
    cube: str | None
    member: str | None


@dataclass(frozen=True)
class Template:
    sql: str
    expression: exp.Expr
    references: tuple[Reference, ...]

    def member_references(self) -> list[Reference]:
        return [ref for ref in self.references if ref.kind == "member"]

    def table_references(self) -> list[Reference]:
        return [ref for ref in self.references if ref.kind == "table"]


def _reference(token: str, text: str, followed_by_column: bool) -> Reference:
    inner = text.strip()
    if inner.lower().startswith(SECURITY_PREFIXES):
        raise TemplateError(
            f"'{{{inner}}}' (security context / filter params) is not supported "
            "in member SQL; use an access_policy row-level filter"
        )
    parts = [part.strip() for part in inner.split(".")]
    if not inner or any(not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part) for part in parts):
        raise TemplateError(f"cannot read reference '{{{text}}}'")
    if followed_by_column:
        if len(parts) != 1:
            raise TemplateError(
                f"'{{{inner}}}.column' must name a cube: {{CUBE}}.col or {{cube}}.col"
            )
        return Reference(token, inner, "table", None if parts[0] == "CUBE" else parts[0], None)
    if len(parts) == 1:
        if parts[0] == "CUBE":
            raise TemplateError("bare {CUBE} is not supported; write {CUBE}.column")
        return Reference(token, inner, "member", None, parts[0])
    if len(parts) == 2:
        cube = None if parts[0] == "CUBE" else parts[0]
        return Reference(token, inner, "member", cube, parts[1])
    raise TemplateError(
        f"'{{{inner}}}': multi-hop references are not supported; reference "
        "a member of a directly named cube"
    )


@lru_cache(maxsize=4096)
def parse_template(sql: str, dialect: str = MODEL_DIALECT) -> Template:
    """Parse a Cube SQL snippet; raise TemplateError naming what is wrong."""
    references: list[Reference] = []

    def substitute(match: re.Match[str]) -> str:
        token = f"__ref{len(references)}__"
        following = sql[match.end() :]
        references.append(
            _reference(token, match.group(1), bool(FOLLOWED_BY_COLUMN.match(following)))
        )
        return token

    text = REFERENCE.sub(substitute, sql)
    try:
        expression = sqlglot.parse_one(text, read=dialect)
    except ParseError as exc:
        raise TemplateError(f"SQL does not parse: {sql!r} ({_first_line(exc)})") from exc
    if expression is None:
        raise TemplateError(f"SQL is empty: {sql!r}")
    return Template(sql=sql, expression=expression, references=tuple(references))


def parse_query_template(sql: str, dialect: str = MODEL_DIALECT) -> Template:
    """Parse a cube's `sql:` (a SELECT); same reference rules as member snippets."""
    template = parse_template(sql, dialect)
    if not isinstance(template.expression, exp.Select | exp.Union):
        raise TemplateError(f"cube `sql` must be a SELECT query: {sql!r}")
    return template


def member_snippets(member: Member | None) -> list[str]:
    """The SQL snippets of a member that may reference other members, in this order: a
    dimension's `sql` and its `case.when` items' `sql`, a measure's `sql` and `filters`, a
    segment's `sql`. Empty snippets are left out."""
    if member is None:
        return []
    if isinstance(member, Dimension):
        whens = (member.case or {}).get("when", []) or []
        texts = [
            member.sql or "",
            *(str(item.get("sql", "")) for item in whens if isinstance(item, dict)),
        ]
    elif isinstance(member, Measure):
        texts = [member.sql or "", *member.filters]
    else:
        texts = [member.sql]
    return [text for text in texts if text]


def member_templates(member: Member | None) -> list[Template]:
    """A member's snippets, parsed. A snippet that does not parse is left out: validation
    reports it where it checks each snippet, and the engine where it renders it."""
    templates = []
    for text in member_snippets(member):
        try:
            templates.append(parse_template(text))
        except TemplateError:
            continue
    return templates


def referenced_members(member: Member | None, cube: str) -> list[tuple[str, str]]:
    """(cube, member) of every `{member}` / `{cube.member}` in the SQL of `cube`'s member, in
    order of appearance; `{member}` and `{CUBE.member}` name a member of `cube` itself."""
    return [
        (ref.cube or cube, ref.member or "")
        for template in member_templates(member)
        for ref in template.member_references()
    ]


def reachable_members(model: DataModel, cube: str, name: str) -> Iterator[tuple[str, str]]:
    """(cube, member) of every member the SQL of `cube.name` references, directly or through
    other members, each once, depth first; the member itself only if a cycle leads back to it.
    A member of an unknown cube is yielded but not followed."""
    seen: set[tuple[str, str]] = set()
    stack = [(cube, name)]
    while stack:
        owner, member = stack.pop()
        if owner not in model.cubes:
            continue
        for dependency in referenced_members(model.cubes[owner].member(member), owner):
            if dependency not in seen:
                seen.add(dependency)
                stack.append(dependency)
                yield dependency


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _inside_subquery(node: exp.Expr, root: exp.Expr) -> bool:
    parent = node.parent
    while parent is not None and parent is not root:
        if isinstance(parent, exp.Select):
            return True
        parent = parent.parent
    return isinstance(root, exp.Select) and node is not root


def _atomic(expression: exp.Expr) -> exp.Expr:
    """The expression, parenthesised unless it already binds tightly."""
    if isinstance(expression, exp.Column | exp.Literal | exp.Paren | exp.Func | exp.Null):
        return expression
    return exp.Paren(this=expression)


def render(
    template: Template,
    *,
    table_alias: Callable[[str | None], str],
    member_sql: Callable[[str | None, str], exp.Expr],
    self_alias: str | None,
) -> exp.Expr:
    """The snippet with references replaced; bare columns qualified with `self_alias`."""
    by_token = {ref.token: ref for ref in template.references}
    root = template.expression.copy()

    def replace(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Column):
            if isinstance(node, exp.Identifier) and node.name in by_token:
                raise TemplateError(
                    f"reference '{{{by_token[node.name].text}}}' is used where "
                    "a column or table alias is expected"
                )
            return node
        table = node.table
        if table in by_token:
            ref = by_token[table]
            return exp.column(node.args["this"].copy(), table=table_alias(ref.cube))
        if not table and node.name in by_token:
            ref = by_token[node.name]
            if ref.kind != "member":
                raise TemplateError(f"'{{{ref.text}}}' must be followed by .column")
            resolved = member_sql(ref.cube, ref.member or "")
            return resolved if node is root else _atomic(resolved)
        if not table and self_alias and not _inside_subquery(node, root):
            return exp.column(node.args["this"].copy(), table=self_alias)
        return node

    if isinstance(root, exp.Column):
        return replace(root)
    return root.transform(replace, copy=False)
