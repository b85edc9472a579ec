"""A sortable, searchable HTML table (sort and search by assets/reports.js); cells escaped."""

from __future__ import annotations

import html
from dataclasses import dataclass


@dataclass(frozen=True)
class Cell:
    text: str  # display text (escaped here)
    sort: str | float | None = None  # raw value the column sorts by (numbers sort numerically)
    href: str | None = None
    code: bool = False


@dataclass(frozen=True)
class Column:
    title: str
    numeric: bool = False
    name: str | None = None  # the member or result column, shown as a tooltip


def _cell(cell: Cell, numeric: bool) -> str:
    text = html.escape(cell.text)
    if cell.code:
        text = f"<code>{text}</code>"
    if cell.href:
        text = f'<a href="{html.escape(cell.href, quote=True)}">{text}</a>'
    sort = "" if cell.sort is None else f' data-sort="{html.escape(str(cell.sort), quote=True)}"'
    kind = ' class="ci-num"' if numeric else ""
    return f"<td{kind}{sort}>{text}</td>"


def _header(column: Column) -> str:
    kind = "number" if column.numeric else "text"
    tip = f' title="{html.escape(column.name, quote=True)}"' if column.name else ""
    return (
        f'<th data-type="{kind}" aria-sort="none"{tip}>'
        f'<button type="button" class="ci-sort">{html.escape(column.title)}</button></th>'
    )


def render_table(columns: list[Column], rows: list[list[Cell]], *, title: str | None = None,
                 search: bool = True, download_href: str | None = None) -> str:
    tools = []
    if search:
        tools.append('<input type="search" class="ci-table-search" placeholder="Search rows" '
                     'aria-label="Search rows">')
    if download_href:
        tools.append(f'<a class="ci-download" href="{html.escape(download_href, quote=True)}" '
                     'download>Download CSV</a>')
    tools.append(f'<span class="ci-table-count">{len(rows):,} rows</span>')
    caption = f"<caption>{html.escape(title)}</caption>" if title else ""
    head = "".join(_header(column) for column in columns)
    body = "\n".join(
        "<tr>" + "".join(_cell(cell, col.numeric) for cell, col in zip(row, columns, strict=True))
        + "</tr>"
        for row in rows
    )
    return (
        '<div class="ci-table" data-search-exclude>'
        f'<div class="ci-table-tools">{"".join(tools)}</div>'
        f'<div class="ci-table-scroll"><table class="ci-data">{caption}'
        f"<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody></table></div></div>"
    )
