"""Page inputs (Evidence-style): ```` ```input name ```` blocks declare a control; governed
queries refer to its value as `${inputs.name}`.

```yaml
type: dropdown            # dropdown | buttons | date_range | text
title: Segment
dimension: customer_health.segment   # options: a governed dimension's values (or `values: [..]`)
multiple: false           # dropdown only: several values
default: null             # no value = no filter
```

Binding (`bind`) works on the parsed query: a list item `${inputs.x}` becomes the chosen value
(or values); a filter whose values all came from unset inputs is dropped (no choice, no
filter); `dateRange: ${inputs.x}` becomes the chosen `[from, to]` or is dropped; inside longer
text the value's text is put in. A reference to an input the page does not declare is an error.

The static build pre-computes an input with a small known set of options (dropdown or buttons,
single value, at most MAX_PRECOMPUTED options): the page is rendered once per option and the
components that change are kept for each (exact governed numbers, nothing re-aggregated in the
browser). Other inputs are shown disabled with a note that the served app has them.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from reports.specs import SpecError, load_yaml

MAX_PRECOMPUTED = 12
MAX_TEXT = 200  # a text input's value is cut to this many characters
REFERENCE = re.compile(r"\$\{\s*inputs\.([A-Za-z_][A-Za-z0-9_]*)\s*\}")
InputType = Literal["dropdown", "buttons", "date_range", "text"]


class InputSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: InputType = "dropdown"
    title: str | None = None
    values: tuple[str, ...] | None = None
    dimension: str | None = None
    multiple: bool = False
    default: Any = None

    @model_validator(mode="after")
    def _options(self) -> InputSpec:
        if self.type in ("dropdown", "buttons") and (self.values is None) == (
            self.dimension is None
        ):
            raise ValueError(f"a {self.type} input needs exactly one of `values` or `dimension`")
        if self.multiple and self.type != "dropdown":
            raise ValueError("`multiple` is for dropdowns only")
        return self


@dataclass(frozen=True)
class PageInput:
    name: str
    spec: InputSpec
    options: tuple[str, ...] | None  # None: free (date range, text)

    @property
    def precomputed(self) -> bool:
        return (
            self.spec.type in ("dropdown", "buttons")
            and not self.spec.multiple
            and self.options is not None
            and len(self.options) <= MAX_PRECOMPUTED
        )

    @property
    def title(self) -> str:
        return self.spec.title or self.name.replace("_", " ").capitalize()


def parse_input(name: str, body: str) -> InputSpec:
    raw = load_yaml(body) or {}
    if not isinstance(raw, dict):
        raise SpecError("an input block holds a YAML mapping of settings")
    try:
        return InputSpec.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        raise SpecError(f"input {name}: {f'`{field}`: ' if field else ''}{message}") from exc


def choice(page_input: PageInput, raw: Any) -> Any:
    """A chosen value checked against the input (None: not set). Unknown options and
    malformed dates are refused, never passed to a query."""
    if raw in (None, "", []):
        return None
    spec = page_input.spec
    if spec.type == "date_range":
        return _date_range(page_input.name, raw)
    if spec.type == "text":
        return str(raw)[:MAX_TEXT]
    if isinstance(raw, list | tuple):
        values = [str(v) for v in raw]
    else:  # from the URL: a multi-select's values are comma-separated (`?x=a,b`)
        values = str(raw).split(",") if spec.multiple else [str(raw)]
    if page_input.options is not None:
        unknown = [v for v in values if v not in page_input.options]
        if unknown:
            raise SpecError(f"input {page_input.name}: {unknown[0]!r} is not one of its options")
    if not spec.multiple and len(values) > 1:
        raise SpecError(f"input {page_input.name} takes one value")
    return values if spec.multiple else values[0]


def _date_range(name: str, raw: Any) -> list[str]:
    """Two real dates, the first not after the second (`2024-01-01,2024-06-30`)."""
    values = raw if isinstance(raw, list | tuple) else str(raw).split(",")
    problem = f"input {name}: a date range is two dates YYYY-MM-DD,YYYY-MM-DD"
    if len(values) != 2 or not all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(v)) for v in values):
        raise SpecError(problem)
    try:
        start, end = (dt.date.fromisoformat(str(v)) for v in values)
    except ValueError as exc:
        raise SpecError(f"{problem} ({exc})") from exc
    if start > end:
        raise SpecError(f"input {name}: the range starts after it ends ({start} > {end})")
    return [start.isoformat(), end.isoformat()]


def _value(inputs: Mapping[str, PageInput], chosen: Mapping[str, Any], name: str) -> Any:
    if name not in inputs:
        known = ", ".join(sorted(inputs)) or "none"
        raise SpecError(f"${{inputs.{name}}}: no such input on this page (inputs: {known})")
    return chosen.get(name)


def _bind(value: Any, inputs: Mapping[str, PageInput], chosen: Mapping[str, Any]) -> Any:
    if isinstance(value, dict):
        bound: dict[str, Any] = {}
        for key, item in value.items():
            result = _bind(item, inputs, chosen)
            if result is _UNSET:
                continue
            bound[key] = result
        if (
            "member" in bound
            and "values" in value
            and bound.get("values") == []
            and value["values"]
        ):
            return _UNSET  # every value came from an unset input: no filter
        for key in ("or", "and"):
            if value.get(key) and bound.get(key) == []:
                return _UNSET  # every filter of the group was dropped
        return bound
    if isinstance(value, list):
        items: list[Any] = []
        for item in value:
            result = _bind(item, inputs, chosen)
            if result is _UNSET:
                continue
            if (
                isinstance(item, str)
                and REFERENCE.fullmatch(item.strip())
                and isinstance(result, list)
            ):
                items.extend(result)
            else:
                items.append(result)
        return items
    if isinstance(value, str):
        whole = REFERENCE.fullmatch(value.strip())
        if whole:
            found = _value(inputs, chosen, whole[1])
            return _UNSET if found is None else found
        return REFERENCE.sub(lambda m: str(_value(inputs, chosen, m[1]) or ""), value)
    return value


class _Unset:
    pass


_UNSET: Any = _Unset()


def bind(
    query: dict[str, Any], inputs: Mapping[str, PageInput], chosen: Mapping[str, Any]
) -> dict[str, Any]:
    """The query with its `${inputs.x}` references bound to the chosen values."""
    bound = _bind(query, inputs, chosen)
    if isinstance(bound.get("filters"), list):
        bound["filters"] = [item for item in bound["filters"] if item not in ({}, _UNSET)]
    return bound


def queries_without_inputs(markdown: str) -> dict[str, dict[str, Any]]:
    """A page's governed queries by name, as they run with no input chosen (the page's
    default view; scripts and tests that re-run a page's queries use this)."""
    from reports.blocks import parse_markdown
    from reports.specs import parse_query

    parsed = parse_markdown(markdown)
    inputs = {
        b.name or "": PageInput(b.name or "", parse_input(b.name or "", b.body), None)
        for b in parsed.blocks
        if b.kind == "input"
    }
    return {
        b.name or "": bind(parse_query(b.body), inputs, {})
        for b in parsed.blocks
        if b.kind == "query"
    }


def uses_inputs(query: Any) -> bool:
    return bool(REFERENCE.search(str(query)))


def cross_filtered(
    query: dict[str, Any], member_name: str, value: Any, has_member: Any
) -> dict[str, Any]:
    """The query filtered by `<its view>.<member_name> = value` when its view has that
    member (`has_member(view.member)`); unchanged otherwise."""
    members = [*query.get("measures", []), *query.get("dimensions", [])]
    members += [td.get("dimension", "") for td in query.get("timeDimensions", [])]
    views = {str(m).split(".", 1)[0] for m in members if "." in str(m)}
    if len(views) != 1:
        return query
    target = f"{views.pop()}.{member_name}"
    if not has_member(target):
        return query
    extra = {"member": target, "operator": "equals", "values": [value]}
    return {**query, "filters": [*query.get("filters", []), extra]}


def input_html(page_input: PageInput, chosen: Any = None) -> str:
    """The control; `data-ci-precomputed` says whether the static site has every option."""
    spec = page_input.spec
    name = html.escape(page_input.name, quote=True)
    title = html.escape(page_input.title)
    attrs = (
        f'class="ci-input" data-ci-input="{name}" data-ci-type="{spec.type}" '
        f'data-ci-precomputed="{"true" if page_input.precomputed else "false"}"'
    )
    if spec.type in ("dropdown", "buttons"):
        options = page_input.options or ()
        selected = set(chosen if isinstance(chosen, list) else [chosen])
        if spec.type == "buttons":
            buttons = [
                f'<button type="button" class="ci-input-button" data-value="" '
                f'aria-pressed="{"true" if chosen is None else "false"}">All</button>'
            ]
            buttons += [
                f'<button type="button" class="ci-input-button" '
                f'data-value="{html.escape(o, quote=True)}" aria-pressed='
                f'"{"true" if o in selected else "false"}">{html.escape(o)}</button>'
                for o in options
            ]
            control = f'<span role="group" aria-label="{title}">{"".join(buttons)}</span>'
        else:
            multiple = " multiple" if spec.multiple else ""
            items = [] if spec.multiple else ['<option value="">All</option>']
            items += [
                f'<option value="{html.escape(o, quote=True)}"'
                f"{' selected' if o in selected else ''}>{html.escape(o)}</option>"
                for o in options
            ]
            control = (
                f'<select name="{name}" aria-label="{title}"{multiple}>{"".join(items)}</select>'
            )
    elif spec.type == "date_range":
        start, end = chosen or ["", ""]
        control = (
            f'<input type="date" name="{name}-from" aria-label="{title} from" '
            f'value="{html.escape(start, quote=True)}"> to <input type="date" '
            f'name="{name}-to" aria-label="{title} to" '
            f'value="{html.escape(end, quote=True)}">'
        )
    else:
        control = (
            f'<input type="search" name="{name}" aria-label="{title}" '
            f'maxlength="{MAX_TEXT}" value="{html.escape(chosen or "", quote=True)}">'
        )
    note = (
        ""
        if page_input.precomputed
        else (
            '<span class="ci-input-note">This filter needs the served app '
            "(<code>custintel serve</code>).</span>"
        )
    )
    return (
        f'<div {attrs}><label>{title}</label> <span class="ci-input-control">{control}'
        f"</span>{note}</div>"
    )


def variant_marker(number: int) -> str:
    """The suffix a variant's element ids and download names carry (`-v3`)."""
    return f"-v{number}"


def _unmarked(text: str, number: int) -> str:
    """A variant's HTML with its marker taken out of attribute values (ids, aria references,
    download names), to compare it with the default rendering."""
    marker = re.escape(variant_marker(number))
    return re.sub(rf'(="[^"]*?){marker}(?=[-".])', r"\1", text)


def merge_variants(
    default: dict[int, str],
    default_value: Any,
    variants: Mapping[str, dict[int, str]],
    input_name: str,
    fixed: frozenset[int],
) -> dict[int, str]:
    """Slots for the static site: a slot whose HTML changes with the input holds every
    variant (`data-ci-variant="<option>"`, "" = no choice), all but the current one hidden
    and out of the search index.
    Variants are numbered in `variants`' order; their ids and downloads carry
    `variant_marker(n)` so that they stay unique, and a slot equal to the default but for
    those markers is kept once."""
    current = "" if default_value is None else str(default_value)
    merged = {}
    name = html.escape(input_name, quote=True)
    numbers = {value: number for number, value in enumerate(variants)}
    for slot, shown in default.items():
        others = {value: slots[slot] for value, slots in variants.items() if value != current}
        if slot in fixed or all(
            _unmarked(other, numbers[value]) == shown for value, other in others.items()
        ):
            merged[slot] = shown
            continue
        parts = [f'<div data-ci-variant="{html.escape(current, quote=True)}">{shown}</div>']
        # hidden variants stay out of the search index (every first visit loads it)
        parts += [
            f'<div data-ci-variant="{html.escape(value, quote=True)}" hidden '
            f"data-search-exclude>{other}</div>"
            for value, other in others.items()
        ]
        merged[slot] = f'<div class="ci-variants" data-ci-input="{name}">{"".join(parts)}</div>'
    return merged
