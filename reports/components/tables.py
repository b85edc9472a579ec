"""The ```table``` component: a query result as a sortable, searchable, paged table, with an
optional total row computed by the semantic layer (the same query without its dimensions, so a
rate's total is the rate over all rows, never a sum of rates).

A measure that shows the same value on every row of a table of three rows or more (an active
rate of 100.0% in every segment) is not repeated down a column: a sentence above the table
gives it once."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import pandas as pd

from reports.components.data import Dataset, resolve_column, ungoverned_badge
from reports.components.html_table import Cell, Column, render_table
from reports.formats import format_value, is_missing, stable
from reports.runner import QueryRunner
from reports.specs import SpecError, TableSpec

#: (template page, value) -> URL of the generated page, relative to the current page
LinkFor = Callable[[str, Any], str | None]
#: column -> the templated page its values open when the table has no `link:` (customer ids)
KeyLinks = Callable[[str], str | None]
#: (query name, frame) -> URL of the written CSV file, relative to the current page
Download = Callable[[str, pd.DataFrame], str]
_NOT_FOR_TOTALS = ("dimensions", "order", "limit", "offset", "ungrouped", "total")


def _sort_value(value: Any) -> str | float | None:
    if is_missing(value):
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return stable(float(value))
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def total_query(data: Dataset) -> dict[str, Any]:
    """The table's query over all its rows: no dimensions, no time granularity, no order."""
    if data.query is None:
        raise SpecError(f"table: `total` needs a governed query; {data.name!r} is not one")
    if "limit" in data.query:
        raise SpecError(
            f"table: `total` would count more rows than query {data.name!r} "
            "shows (it has a `limit`)"
        )
    query = {key: value for key, value in data.query.items() if key not in _NOT_FOR_TOTALS}
    query["timeDimensions"] = [
        {key: value for key, value in item.items() if key != "granularity"}
        for item in data.query.get("timeDimensions") or []
        if "dateRange" in item
    ]
    if not query["timeDimensions"]:
        query.pop("timeDimensions")
    return query


def _total_cells(
    names: list[str], data: Dataset, runner: QueryRunner, formats: dict[str, str]
) -> list[Cell]:
    frame = runner.run(total_query(data))
    measures = set((data.query or {}).get("measures") or [])
    cells = []
    for index, name in enumerate(names):
        if name in measures and name in frame.columns and len(frame) == 1:
            value = frame[name].iloc[0]
            cells.append(
                Cell(
                    format_value(value, formats.get(name) or runner.format_of(name)),
                    _sort_value(value),
                )
            )
        else:
            cells.append(Cell("Total" if index == 0 else ""))
    return cells


def _description(runner: QueryRunner, name: str) -> str | None:
    info = runner.member(name)
    return info.description if info else None


#: rows a table needs before a measure the same on every row is said once instead of repeated
SAME_ON_EVERY_ROW_MIN_ROWS = 3


def same_on_every_row(
    data: Dataset, names: list[str], runner: QueryRunner, formats: dict[str, str]
) -> dict[str, str]:
    """Measure column -> its one displayed value, for measures showing the same value on every
    row (no missing value) of a table of SAME_ON_EVERY_ROW_MIN_ROWS rows or more."""
    measures = set((data.query or {}).get("measures") or [])
    if len(data.frame) < SAME_ON_EVERY_ROW_MIN_ROWS:
        return {}
    found = {}
    for name in names:
        if name not in measures or data.frame[name].isna().any():
            continue
        shown = {
            format_value(v, formats.get(name) or runner.format_of(name)) for v in data.frame[name]
        }
        if len(shown) == 1:
            found[name] = shown.pop()
    return found


def _same_sentence(same: dict[str, str], runner: QueryRunner) -> str:
    if not same:
        return ""
    parts = "; ".join(f"{runner.title_of(name)} {value}" for name, value in same.items())
    return f'<p class="ci-table-same">The same on every row: {html.escape(parts)}.</p>'


def no_key_links(column: str) -> str | None:
    return None


def table_html(
    spec: TableSpec,
    data: Dataset,
    runner: QueryRunner,
    link_for: LinkFor,
    download: Download,
    key_links: KeyLinks = no_key_links,
) -> str:
    names = (
        [resolve_column(data, c) for c in spec.columns]
        if spec.columns
        else [str(c) for c in data.frame.columns]
    )
    formats = {resolve_column(data, c): fmt for c, fmt in spec.formats.items()}
    same = same_on_every_row(data, names, runner, formats)
    shown_names = [name for name in names if name not in same]
    links = (
        {resolve_column(data, spec.link.column): spec.link.to}
        if spec.link
        else {
            name: template
            for name in shown_names
            if data.governed and (template := key_links(name)) is not None
        }
    )
    frame = data.frame[shown_names]
    columns = [
        Column(runner.title_of(n), _is_numeric(frame[n]), n, _description(runner, n))
        for n in shown_names
    ]
    rows = []
    for record in frame.itertuples(index=False, name=None):
        row = []
        for name, value in zip(shown_names, record, strict=True):
            text = format_value(value, formats.get(name) or runner.format_of(name))
            href = link_for(links[name], value) if name in links and not is_missing(value) else None
            row.append(Cell(text, _sort_value(value), href))
        rows.append(row)
    total = _total_cells(shown_names, data, runner, formats) if spec.total and rows else None
    # the CSV keeps every column, the one said in a sentence too
    href = download(data.name, data.frame[names]) if spec.download and rows else None
    empty = spec.empty or "No rows to show for this period."
    table = render_table(
        columns,
        rows,
        title=spec.title,
        search=spec.search,
        download_href=href,
        total=total,
        empty=empty,
        page_size=spec.page_size,
    )
    return ungoverned_badge(data) + _same_sentence(same, runner) + table
