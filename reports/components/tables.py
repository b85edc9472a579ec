"""The ```table``` component: a query result as a sortable, searchable table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from reports.components.data import Dataset, resolve_column, ungoverned_badge
from reports.components.html_table import Cell, Column, render_table
from reports.formats import format_value, is_missing
from reports.runner import QueryRunner
from reports.specs import TableSpec

#: (template page, value) -> URL of the generated page, relative to the current page
LinkFor = Callable[[str, Any], str | None]
#: (query name, frame) -> URL of the written CSV file, relative to the current page
Download = Callable[[str, pd.DataFrame], str]


def _sort_value(value: Any) -> str | float | None:
    if is_missing(value):
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def table_html(spec: TableSpec, data: Dataset, runner: QueryRunner, link_for: LinkFor,
               download: Download) -> str:
    names = [resolve_column(data, c) for c in spec.columns] if spec.columns else [
        str(c) for c in data.frame.columns]
    formats = {resolve_column(data, c): fmt for c, fmt in spec.formats.items()}
    link_column = resolve_column(data, spec.link.column) if spec.link else None
    frame = data.frame[names]
    columns = [Column(runner.title_of(n), _is_numeric(frame[n]), n) for n in names]
    rows = []
    for record in frame.itertuples(index=False, name=None):
        row = []
        for name, value in zip(names, record, strict=True):
            text = format_value(value, formats.get(name) or runner.format_of(name))
            href = (link_for(spec.link.to, value)
                    if spec.link and name == link_column and not is_missing(value) else None)
            row.append(Cell(text, _sort_value(value), href))
        rows.append(row)
    href = download(data.name, frame) if spec.download else None
    table = render_table(columns, rows, title=spec.title, search=spec.search, download_href=href)
    return ungoverned_badge(data) + table
