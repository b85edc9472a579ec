"""Inline values in page text (`{{ query.member }}`, `{{ query.member | currency }}`,
`{{ params.name }}`) and page parameters inside query blocks."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from reports.components.data import Dataset, dataset, resolve_column
from reports.formats import FORMATS, format_value
from reports.runner import QueryRunner
from reports.specs import SpecError

INLINE = re.compile(
    r"\{\{\s*(?P<ref>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)\s*(?:\|\s*(?P<fmt>\w+)\s*)?\}\}"
)
PARAM = re.compile(r"\{\{\s*params\.(?P<name>[A-Za-z_]\w*)\s*\}\}")
#: characters Python-Markdown treats as markup and accepts backslash-escaped (| with `tables`)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|])")


def escape_markdown(text: str) -> str:
    """Text that renders literally: markdown characters backslash-escaped, HTML escaped."""
    return html.escape(_MARKDOWN_SPECIAL.sub(r"\\\1", text), quote=False)


def _param(params: Mapping[str, Any], name: str) -> Any:
    if name not in params:
        known = ", ".join(sorted(params)) or "none: this page is not a template"
        raise SpecError(f"unknown page parameter {name!r} (parameters: {known})")
    return params[name]


def inline_text(
    ref: str,
    fmt: str | None,
    datasets: Mapping[str, Dataset],
    params: Mapping[str, Any],
    runner: QueryRunner,
) -> str:
    """The display text of one inline reference (first row of the query's column)."""
    if fmt is not None and fmt not in FORMATS:
        raise SpecError(f"unknown format {fmt!r} in {{{{ {ref} | {fmt} }}}}")
    head, member = ref.split(".", 1)
    if head == "params":
        return format_value(_param(params, member), fmt)
    data = dataset(datasets, head)
    column = resolve_column(data, member)
    value = None if data.frame.empty else data.frame[column].iloc[0]
    return format_value(value, fmt or runner.format_of(column))


def substitute_line(
    line: str, datasets: Mapping[str, Dataset], params: Mapping[str, Any], runner: QueryRunner
) -> str:
    return INLINE.sub(
        lambda m: escape_markdown(inline_text(m["ref"], m["fmt"], datasets, params, runner)),
        line,
    )


def substitute_text(text: str, params: Mapping[str, Any]) -> str:
    """Plain text (a title) with `{{ params.name }}` replaced; not escaped."""
    return PARAM.sub(lambda m: format_value(_param(params, m["name"])), text)


def _plain(value: Any) -> Any:
    """A JSON-friendly query value: numpy scalars unwrapped, times as ISO text."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value.item() if hasattr(value, "item") else value


def substitute_params(value: Any, params: Mapping[str, Any]) -> Any:
    """A parsed query with `{{ params.name }}` replaced: a whole-string reference keeps the
    value's type, a reference inside a longer string is replaced by its text."""
    if isinstance(value, dict):
        return {key: substitute_params(item, params) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute_params(item, params) for item in value]
    if isinstance(value, str):
        whole = PARAM.fullmatch(value.strip())
        if whole:
            return _plain(_param(params, whole["name"]))
        return PARAM.sub(lambda m: str(_param(params, m["name"])), value)
    return value
