"""Render one report page: run its queries, turn its blocks into HTML, fill inline values.

`render_page` returns markdown in which every report block is replaced by a placeholder
`<div data-ci-slot="N"></div>` (raw HTML that Markdown passes through) and the HTML for each
slot; `fill_slots` puts the HTML in after Markdown has run, so component HTML is never
re-read as Markdown. Every error names the page, the line of the block and the reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from reports.blocks import QUERY_KINDS, Block, BlockSyntaxError, parse_markdown
from reports.components.catalog import catalog_html
from reports.components.charts import chart_html
from reports.components.data import Dataset, dataset
from reports.components.kpis import kpi_html
from reports.components.model_card import model_card_html
from reports.components.queries import queries_appendix, query_html
from reports.components.tables import Download, KeyLinks, LinkFor, table_html
from reports.errors import ReportError
from reports.inline import substitute_line, substitute_params
from reports.inputs import PageInput, bind, choice, cross_filtered, input_html, parse_input
from reports.registry import registry_frame
from reports.runner import QueryRunner
from reports.specs import (
    CatalogSpec,
    ChartSpec,
    KpiSpec,
    ModelCardSpec,
    RegistrySpec,
    SpecError,
    TableSpec,
    parse_query,
    parse_spec,
)
from reports.theme import in_business_order

SLOT = re.compile(r'<div data-ci-slot="(\d+)"></div>')


def _no_links(template: str, value: Any) -> str | None:
    raise SpecError(f"table link to {template!r}: this site has no templated page of that name")


def _no_downloads(name: str, frame: pd.DataFrame) -> str:
    raise SpecError("CSV downloads need a site to write to")


def _no_definitions(member: str) -> str | None:
    return None


@dataclass
class PageContext:
    """Where a page comes from and what it may use while rendering."""

    source: str  # the page file, as shown in errors
    runner: QueryRunner
    line_offset: int = 0  # lines before the markdown in the file (front matter)
    params: Mapping[str, Any] = field(default_factory=dict)
    link_for: LinkFor = _no_links
    #: column -> template page its values open in tables without `link:` (customer ids)
    key_links: KeyLinks = _no_definitions
    download: Download = _no_downloads
    slug: str = "page"  # unique per page: prefixes element ids
    #: member -> URL of its row in the Metric Catalogue, relative to this page (None: no link)
    definition_url: Callable[[str], str | None] = _no_definitions
    chosen: Mapping[str, Any] = field(default_factory=dict)  # input name -> raw value
    cross_filter: tuple[str, str] | None = None  # (member name after the view, value)
    inputs: dict[str, PageInput] = field(default_factory=dict)  # filled by render_page

    def error(self, line: int | None, reason: str) -> ReportError:
        """A ReportError at 0-based markdown line `line` (1-based file line in the message)."""
        where = None if line is None else line + 1 + self.line_offset
        source = self.source
        if self.params:
            shown = ", ".join(f"{key}={value}" for key, value in self.params.items())
            source = f"{source} [{shown}]"
        return ReportError(source, where, reason)


@dataclass(frozen=True)
class RenderedPage:
    markdown: str
    slots: dict[int, str]
    datasets: dict[str, Dataset]
    inputs: dict[str, PageInput] = field(default_factory=dict)
    chosen: dict[str, Any] = field(default_factory=dict)
    input_slots: frozenset[int] = frozenset()


def _run_query(block: Block, context: PageContext) -> Dataset:
    if block.kind == "sql":
        frame = context.runner.run_sql(block.body)
    elif block.kind == "registry":
        spec = parse_spec("registry", block.body)
        assert isinstance(spec, RegistrySpec)
        label, frame = registry_frame(spec, context.runner.registry)
        return Dataset(block.name or "", frame, governed=False, registry=label)
    else:
        query = substitute_params(parse_query(block.body), context.params)
        query = bind(query, context.inputs, context.chosen)
        if context.cross_filter is not None:
            member, value = context.cross_filter
            query = cross_filtered(
                query, member, value, lambda name: context.runner.member(name) is not None
            )
        frame = context.runner.run(query)
        return Dataset(block.name or "", frame, governed=True, query=query)
    return Dataset(block.name or "", frame, governed=False)


def _spec_error(context: PageContext, block: Block, error: SpecError) -> ReportError:
    line = block.first if error.offset is None else block.first + 1 + error.offset
    return context.error(line, f"```{block.kind}``` block: {error}")


def declare_inputs(blocks: list[Block], context: PageContext) -> None:
    """The page's inputs (options resolved) and the chosen values checked against them."""
    for block in blocks:
        if block.kind != "input":
            continue
        name = block.name or ""
        if name in context.inputs:
            raise context.error(block.first, f"input {name!r} is declared twice on this page")
        try:
            spec = parse_input(name, block.body)
            options = spec.values
            if spec.dimension is not None:
                frame = context.runner.run(
                    {"dimensions": [spec.dimension], "order": {spec.dimension: "asc"}}
                )
                options = tuple(
                    str(v)
                    for v in in_business_order(
                        frame[spec.dimension].dropna().unique(), spec.dimension
                    )
                )
            context.inputs[name] = PageInput(name, spec, options)
        except SpecError as exc:
            raise _spec_error(context, block, exc) from exc
        except Exception as exc:
            raise context.error(
                block.first, f"input {name!r}: {type(exc).__name__}: {exc}"
            ) from exc
    unknown = sorted(set(context.chosen) - set(context.inputs))
    if unknown:
        raise context.error(None, f"no input {unknown[0]!r} on this page")
    checked = {}
    for name, page_input in context.inputs.items():
        raw = context.chosen.get(name, page_input.spec.default)
        try:
            checked[name] = choice(page_input, raw)
        except SpecError as exc:
            raise context.error(None, str(exc)) from exc
    context.chosen = checked


def run_queries(blocks: list[Block], context: PageContext) -> dict[str, Dataset]:
    datasets: dict[str, Dataset] = {}
    for block in blocks:
        if block.kind not in QUERY_KINDS:
            continue
        if block.name in datasets:
            raise context.error(block.first, f"query {block.name!r} is defined twice on this page")
        try:
            datasets[block.name or ""] = _run_query(block, context)
        except SpecError as exc:
            raise _spec_error(context, block, exc) from exc
        except Exception as exc:  # the layer's reason (unknown member, SQL error) is the message
            reason = f"{type(exc).__name__}: {exc}".strip()
            raise context.error(block.first, f"query {block.name!r} failed: {reason}") from exc
    return datasets


def _component(block: Block, datasets: dict[str, Dataset], context: PageContext, index: int) -> str:
    if block.kind == "input":
        name = block.name or ""
        return input_html(context.inputs[name], context.chosen.get(name))
    spec = parse_spec(block.kind, block.body)
    runner = context.runner
    if isinstance(spec, ChartSpec):
        element_id = f"{context.slug}-chart-{index}"
        return chart_html(spec, dataset(datasets, spec.data), runner, element_id)
    if isinstance(spec, KpiSpec):
        return kpi_html(spec, datasets, runner, context.definition_url)
    if isinstance(spec, TableSpec):
        return table_html(
            spec,
            dataset(datasets, spec.data),
            runner,
            context.link_for,
            context.download,
            context.key_links,
        )
    if isinstance(spec, ModelCardSpec):
        return model_card_html(spec, runner.registry)
    assert isinstance(spec, CatalogSpec)
    return catalog_html(spec, runner)


def _block_html(
    block: Block, datasets: dict[str, Dataset], context: PageContext, index: int
) -> str:
    if block.kind == "query":  # governed queries are listed at the end of the page
        return ""
    if block.kind in ("sql", "registry"):  # ungoverned data stays where it is written, badged
        return query_html(datasets[block.name or ""], block.body)
    try:
        return _component(block, datasets, context, index)
    except SpecError as exc:
        raise _spec_error(context, block, exc) from exc


def _kpi_row(block: Block, starts: dict[int, Block], lines: list[str]) -> list[Block]:
    """A KPI block and the KPI blocks right after it (only blank lines between)."""
    if block.kind != "kpi":
        return []
    row = [block]
    while True:
        index = row[-1].last + 1
        while index < len(lines) and not lines[index].strip() and index not in starts:
            index += 1
        following = starts.get(index)
        if following is None or following.kind != "kpi":
            return row
        row.append(following)


def render_page(markdown: str, context: PageContext) -> RenderedPage:
    try:
        parsed = parse_markdown(markdown)
    except BlockSyntaxError as exc:
        raise context.error(exc.line, str(exc)) from exc
    declare_inputs(parsed.blocks, context)
    datasets = run_queries(parsed.blocks, context)
    slots: dict[int, str] = {}
    out: list[str] = []
    starts = {block.first: block for block in parsed.blocks}
    input_slots: set[int] = set()
    index = 0
    while index < len(parsed.lines):
        block = starts.get(index)
        if block is not None:
            slot = len(slots)
            row = _kpi_row(block, starts, parsed.lines)
            if row:  # consecutive KPI tiles share one row
                tiles = "".join(_block_html(b, datasets, context, slot) for b in row)
                slots[slot] = f'<div class="ci-kpi-row">{tiles}</div>'
                block = row[-1]
            else:
                slots[slot] = _block_html(block, datasets, context, slot)
                if block.kind == "input":
                    input_slots.add(slot)
            out += ["", f'<div data-ci-slot="{slot}"></div>', ""]
            index = block.last + 1
            continue
        line = parsed.lines[index]
        if index not in parsed.code_lines:
            try:
                line = substitute_line(line, datasets, context.params, context.runner)
            except SpecError as exc:
                raise context.error(index, f"inline value: {exc}") from exc
        out.append(line)
        index += 1
    governed = [b for b in parsed.blocks if b.kind == "query"]
    if governed:
        slots[len(slots)] = queries_appendix([(datasets[b.name or ""], b.body) for b in governed])
        out += ["", f'<div data-ci-slot="{len(slots) - 1}"></div>', ""]
    return RenderedPage(
        "\n".join(out),
        slots,
        datasets,
        dict(context.inputs),
        dict(context.chosen),
        frozenset(input_slots),
    )


def fill_slots(content: str, slots: dict[int, str]) -> str:
    """The page HTML with each placeholder replaced by its component's HTML, in a wrapper
    the served app replaces when an input or a cross-filter changes."""
    return SLOT.sub(
        lambda m: f'<div class="ci-slot" data-ci-slot-id="{m[1]}">{slots[int(m[1])]}</div>', content
    )
