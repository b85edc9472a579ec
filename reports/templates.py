"""Templated pages: `customers/[customer_id].md` becomes one page per value of a query.

The template's front matter holds the query under `pages_from:`; each result row is one page,
named by the column whose short name (after the view) is the bracketed parameter. Every
column of the row is a page parameter: `{{ params.customer_id }}`, `{{ params.full_name }}`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mkdocs.utils.meta import get_data

from reports.formats import is_missing
from reports.runner import QueryRunner
from reports.specs import SpecError, validate_query

TEMPLATE_FILE = re.compile(r"^\[(?P<param>[A-Za-z_]\w*)\]\.md$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class GeneratedPage:
    src_uri: str  # e.g. customers/C001.md
    template_uri: str  # e.g. customers/[customer_id].md
    value: Any  # the parameter's value
    params: dict[str, Any]


def template_parameter(src_uri: str) -> str | None:
    """The parameter of a template page (`customers/[customer_id].md` -> customer_id)."""
    match = TEMPLATE_FILE.match(src_uri.rsplit("/", 1)[-1])
    return match["param"] if match else None


def _short(column: str) -> str:
    return column.split(".", 1)[-1].replace(".", "_") if "." in column else column


def _slug(value: Any, taken: set[str]) -> str:
    base = _UNSAFE.sub("-", str(value)).strip("-") or "page"
    slug, number = base, 2
    while slug.lower() in taken:
        slug, number = f"{base}-{number}", number + 1
    taken.add(slug.lower())
    return slug


def pages_query(source: str) -> dict[str, Any]:
    """The `pages_from:` query in a template's front matter."""
    _, meta = get_data(source)
    if "pages_from" not in meta:
        raise SpecError("a templated page needs a `pages_from:` query in its front matter")
    return validate_query(meta["pages_from"])


def expand_template(src_uri: str, source: str, runner: QueryRunner) -> list[GeneratedPage]:
    """One GeneratedPage per row of the template's `pages_from` query."""
    parameter = template_parameter(src_uri)
    if parameter is None:
        raise SpecError(f"{src_uri} is not a template page name ([parameter].md)")
    frame = runner.run(pages_query(source))
    names = {_short(str(column)): str(column) for column in frame.columns}
    if parameter not in names:
        raise SpecError(
            f"`pages_from` query has no column named {parameter!r} for the [{parameter}] in the "
            f"file name (columns: {', '.join(map(str, frame.columns))})"
        )
    folder = src_uri.rsplit("/", 1)[0] + "/" if "/" in src_uri else ""
    taken: set[str] = {"index"}
    pages = []
    for row in frame.to_dict("records"):
        value = row[names[parameter]]
        if is_missing(value):
            continue
        params = {short: row[column] for short, column in names.items()}
        pages.append(GeneratedPage(f"{folder}{_slug(value, taken)}.md", src_uri, value, params))
    return pages


#: the template whose key links from every table (the Customer 360)
CUSTOMER_TEMPLATE = "customers/[customer_id].md"


def key_columns(runner: QueryRunner, templates: dict[str, str]) -> Any:
    """column -> the template its values open, for columns that hold a template's key (from
    the semantic model, never from the values): the member the template's `pages_from` key
    column reads (`customer_health.customer_id` reads the customers cube's primary key
    `customers.customer_id`), or a dimension of another cube of that name (the foreign keys
    joined to it: `invoices.customer_id`). `templates`: template uri -> its source."""
    keys: dict[str, str] = {}  # cube.member the key reads -> template
    for uri, source in templates.items():
        parameter = template_parameter(uri)
        columns = pages_query(source).get("dimensions") or []
        column = next((c for c in columns if _short(str(c)) == parameter), None)
        info = runner.member(str(column)) if column else None
        if info is not None and info.source:
            keys[info.source] = uri

    def template_of(column: str) -> str | None:
        info = runner.member(column)
        if info is None or info.kind != "dimension" or not info.source or column != info.name:
            return None
        if info.source in keys:
            return keys[info.source]
        name = info.source.split(".", 1)[-1]
        return next((uri for source, uri in keys.items() if source.split(".", 1)[-1] == name), None)

    return template_of
