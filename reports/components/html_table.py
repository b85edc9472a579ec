"""A sortable, searchable, paged HTML table (assets/reports.js); cells escaped.

Headers show titles; the member or result column behind each is in `data-member` (scripts and
tests), its description in the tooltip. A table without rows shows a sentence instead. An
optional total row sits in the footer, outside sorting, searching and paging.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from reports.formats import plural


@dataclass(frozen=True)
class Cell:
    text: str  # display text (escaped here)
    sort: str | float | None = None  # raw value the column sorts by (numbers sort numerically)
    href: str | None = None
    code: bool = False
    details: str | None = None  # long text shown collapsed (<details>) under `text`


@dataclass(frozen=True)
class Column:
    title: str
    numeric: bool = False
    name: str | None = None  # the member or result column (data-member)
    description: str | None = None  # the header's tooltip


def _cell(cell: Cell, numeric: bool) -> str:
    text = html.escape(cell.text)
    if cell.code:
        text = f"<code>{text}</code>"
    if cell.href:
        text = f'<a href="{html.escape(cell.href, quote=True)}">{text}</a>'
    if cell.details is not None:
        text = (
            f"<details><summary>{text}</summary><pre><code>{html.escape(cell.details)}"
            "</code></pre></details>"
        )
    sort = "" if cell.sort is None else f' data-sort="{html.escape(str(cell.sort), quote=True)}"'
    kind = ' class="ci-num"' if numeric else ""
    return f"<td{kind}{sort}>{text}</td>"


def _header(column: Column) -> str:
    kind = "number" if column.numeric else "text"
    member = f' data-member="{html.escape(column.name, quote=True)}"' if column.name else ""
    tip = f' title="{html.escape(column.description, quote=True)}"' if column.description else ""
    return (
        f'<th scope="col" data-type="{kind}" aria-sort="none"{member}{tip}>'
        f'<button type="button" class="ci-sort">{html.escape(column.title)}</button></th>'
    )


def _total_row(columns: list[Column], total: list[Cell]) -> str:
    cells = "".join(
        _cell(cell, column.numeric) for cell, column in zip(total, columns, strict=True)
    )
    return f'<tfoot><tr class="ci-total">{cells}</tr></tfoot>'


def render_table(
    columns: list[Column],
    rows: list[list[Cell]],
    *,
    title: str | None = None,
    search: bool = True,
    download_href: str | None = None,
    total: list[Cell] | None = None,
    row_ids: list[str] | None = None,
    empty: str = "No rows to show.",
    page_size: int | None = None,
) -> str:
    if not rows:
        caption = f"<strong>{html.escape(title)}</strong>: " if title else ""
        return f'<p class="ci-empty-table">{caption}{html.escape(empty)}</p>'
    tools = []
    if search:
        tools.append(
            '<input type="search" class="ci-table-search" placeholder="Search rows" '
            'aria-label="Search rows">'
        )
    if download_href:
        tools.append(
            f'<a class="ci-download" href="{html.escape(download_href, quote=True)}" '
            "download>Download CSV</a>"
        )
    tools.append(
        f'<span class="ci-table-count" aria-live="polite">{plural(len(rows), "row")}</span>'
    )
    caption = f"<caption>{html.escape(title)}</caption>" if title else ""
    head = "".join(_header(column) for column in columns)
    ids = row_ids or [""] * len(rows)
    body = "\n".join(
        (f'<tr id="{html.escape(row_id, quote=True)}">' if row_id else "<tr>")
        + "".join(_cell(cell, col.numeric) for cell, col in zip(row, columns, strict=True))
        + "</tr>"
        for row, row_id in zip(rows, ids, strict=True)
    )
    footer = _total_row(columns, total) if total else ""
    pager = (
        '<div class="ci-pager" hidden><button type="button" class="ci-prev">Previous'
        '</button><span class="ci-page-label"></span><button type="button" '
        'class="ci-next">Next</button></div>'
    )
    size = f' data-page-size="{page_size}"' if page_size else ""
    return (
        f'<div class="ci-table" data-search-exclude{size}>'
        f'<div class="ci-table-tools">{"".join(tools)}</div>'
        f'<div class="ci-table-scroll" tabindex="0" role="region" '
        f'aria-label="{html.escape(title or "Table", quote=True)}">'
        f'<table class="ci-data">{caption}'
        f"<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>{footer}</table></div>"
        f"{pager}</div>"
    )
