"""Named query results on a page and how components refer to their columns."""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from reports.formats import GRANULARITIES
from reports.specs import SpecError


@dataclass(frozen=True)
class Dataset:
    name: str
    frame: pd.DataFrame
    governed: bool  # False for ```sql``` and ```registry``` blocks
    registry: str | None = None  # model/version, for data read from the model registry
    query: dict[str, Any] | None = None  # the governed query (params substituted)


def dataset(datasets: Mapping[str, Dataset], name: str) -> Dataset:
    if name not in datasets:
        known = ", ".join(sorted(datasets)) or "none"
        raise SpecError(f"no query named {name!r} on this page (queries: {known})")
    return datasets[name]


def resolve_column(data: Dataset, column: str) -> str:
    """The result column a component names: exact, or a time member without its granularity."""
    columns = [str(c) for c in data.frame.columns]
    if column in columns:
        return column
    granular = [
        c
        for c in columns
        if c.rpartition(".")[0] == column and c.rpartition(".")[2] in GRANULARITIES
    ]
    if len(granular) == 1:
        return granular[0]
    raise SpecError(f"query {data.name!r} has no column {column!r} (columns: {', '.join(columns)})")


def time_columns(data: Dataset) -> list[str]:
    """Columns holding time: a granularity suffix or a datetime dtype."""
    return [
        str(c)
        for c in data.frame.columns
        if str(c).rpartition(".")[2] in GRANULARITIES
        or pd.api.types.is_datetime64_any_dtype(data.frame[c])
    ]


def ungoverned_badge(data: Dataset) -> str:
    """The visible warning on a component fed by a raw SQL block ('' for governed data), or
    the note that its data comes from the model registry."""
    if data.governed:
        return ""
    if data.registry is not None:
        return (
            '<div class="ci-component-badge"><span class="ci-badge ci-registry" '
            'title="Read from the ML model registry, not from the semantic layer.">'
            f"model registry: {html.escape(data.registry)}</span></div>"
        )
    return (
        '<div class="ci-component-badge"><span class="ci-badge ci-ungoverned" '
        'title="This query bypasses the semantic layer: its metrics are not governed.">'
        f"ungoverned SQL: {html.escape(data.name)}</span></div>"
    )
