"""How query blocks appear: raw SQL (and registry reads) collapsed in place with a badge; the
governed queries collapsed together at the end of the page."""

from __future__ import annotations

import html

from reports.components.data import Dataset


def query_html(data: Dataset, body: str) -> str:
    if data.governed:
        badge, kind = "", "query"
    elif data.registry is not None:
        badge, kind = (
            '<span class="ci-badge ci-registry" title="Read from the ML model '
            'registry, not from the semantic layer">model registry</span> ',
            "registry",
        )
    else:
        badge, kind = (
            '<span class="ci-badge ci-ungoverned" title="Raw SQL on the warehouse: '
            'not governed by the semantic layer">ungoverned SQL</span> ',
            "sql",
        )
    rows = f"{len(data.frame):,} row{'' if len(data.frame) == 1 else 's'}"
    return (
        f'<details class="ci-query ci-query-{kind}"><summary>{badge}'
        f"{kind} <code>{html.escape(data.name)}</code> · {rows}</summary>"
        f"<pre><code>{html.escape(body)}</code></pre></details>"
    )


def queries_appendix(queries: list[tuple[Dataset, str]]) -> str:
    items = "".join(query_html(data, body) for data, body in queries)
    return (
        f'<details class="ci-queries"><summary>Queries on this page ({len(queries)})'
        f"</summary>{items}</details>"
    )
