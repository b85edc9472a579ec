"""The ```chart``` component: a Plotly figure drawn in the browser by the bundled plotly.js.

The figure is embedded as JSON (`<script type="application/json">`, `<` escaped by Plotly's
encoder) and drawn by assets/reports.js with the site's one template (reports.theme, written
once to assets/custintel/chart-theme.js). String values are HTML-escaped before they reach
Plotly, which would otherwise read tags such as <b> or <a> inside labels.

Readers see the member titles (axes, legend, hover) and formatted values (hover, ticks), each
segment / tier / band in its one colour and business order (reports/theme.yml), the title and a
sentence with the key numbers above the plot (the chart's text alternative), and the plot
sized to its column (autosize). A line over a single period is shown as its values instead,
and so is a chart whose values are all the same (100.0% in every cell says it in one sentence);
a series that is 0 throughout, or repeats another series point for point, is not drawn (it
would only hide under the others) and the caption says so.
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.io.json import to_json_plotly

from reports.components.data import Dataset, resolve_column, ungoverned_badge
from reports.formats import (
    format_value,
    hover_format,
    is_missing,
    plotly_axis_format,
    stable,
)
from reports.runner import QueryRunner
from reports.specs import ChartSpec, SpecError
from reports.theme import color_of, in_business_order, palette_for

#: no control that sends a chart's data off the site: no Chart Studio link or cloud button
PLOTLY_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "showLink": False,
    "showSendToCloud": False,
    "showEditInChartStudio": False,
    "plotlyServerURL": "",
    "modeBarButtonsToRemove": ["sendDataToCloud", "editInChartStudio"],
}
_EMPTY_TEMPLATE = go.layout.Template()
#: half a period in days, by granularity: the x range around a time axis's only period
HALF_PERIOD_DAYS = {"year": 183, "quarter": 46, "month": 15, "week": 4, "day": 1}


def _values(series: pd.Series) -> list[Any]:
    """Plot values: numbers rounded (stable builds) and times as they are, text escaped,
    missing as None."""
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
        return [None if is_missing(v) else stable(v) for v in series.tolist()]
    return [None if is_missing(v) else html.escape(str(v)) for v in series.tolist()]


def _hover(spec: ChartSpec, columns: dict[str, str], y: str, runner: QueryRunner) -> str:
    x = columns["x"]
    lines = [
        f"{html.escape(runner.title_of(x))}: {hover_format(runner.format_of(x), 'x')}",
        f"{html.escape(runner.title_of(y))}: {hover_format(runner.format_of(y), 'y')}",
    ]
    if spec.size:
        size = columns["size"]
        lines.append(
            f"{html.escape(runner.title_of(size))}: "
            f"{hover_format(runner.format_of(size), 'customdata')}"
        )
    if spec.label:
        lines.insert(0, "%{hovertext}")
    return "<br>".join(lines)


def _trace(
    spec: ChartSpec,
    frame: pd.DataFrame,
    y: str,
    name: str,
    color: str | None,
    columns: dict[str, str],
    runner: QueryRunner,
) -> go.BaseTraceType:
    """One trace; a single bar series over palette values (segments) takes their colours."""
    x = columns["x"]
    common: dict[str, Any] = {
        "x": _values(frame[x]),
        "y": _values(frame[y]),
        "name": name,
        "hovertemplate": _hover(spec, columns, y, runner),
    }
    if spec.label:
        common["hovertext"] = _values(frame[columns["label"]])
    if spec.type == "bar":
        single = "series" not in columns and len(spec.y_columns) == 1
        colors = [color_of(x, v) for v in frame[x]] if color is None and single else None
        marker: dict[str, Any] = (
            {"color": color} if color else {"color": colors} if colors and all(colors) else {}
        )
        return go.Bar(marker=marker, **common)
    if spec.type == "line":
        return go.Scatter(mode="lines+markers", line={"color": color} if color else {}, **common)
    if spec.type == "area":
        return go.Scatter(
            mode="lines", stackgroup="area", line={"color": color} if color else {}, **common
        )
    marker = {"opacity": 0.8, "line": {"width": 1, "color": "#ffffff"}}
    if color:
        marker["color"] = color
    if spec.size:
        sizes = frame[columns["size"]].astype(float).fillna(0).clip(lower=0)
        peak = float(sizes.max()) or 1.0
        marker.update(size=(sizes / peak * 30 + 6).round(1).tolist(), sizemode="diameter")
        common["customdata"] = _values(frame[columns["size"]])
    return go.Scatter(mode="markers", marker=marker, **common)


def _traces(
    spec: ChartSpec, frame: pd.DataFrame, columns: dict[str, str], runner: QueryRunner
) -> list[go.BaseTraceType]:
    ys = [columns[f"y{i}"] for i in range(len(spec.y_columns))]
    if "series" not in columns:
        return [
            _trace(spec, frame, y, html.escape(runner.title_of(y)), None, columns, runner)
            for y in ys
        ]
    series = columns["series"]
    fmt = runner.format_of(series)
    groups = dict(list(frame.groupby(series, sort=False, dropna=False)))
    return [
        _trace(
            spec,
            groups[value],
            ys[0],
            html.escape(format_value(value, fmt)),
            color_of(series, value),
            columns,
            runner,
        )
        for value in in_business_order(groups, series)
    ]


def _heatmap(data: Dataset, columns: dict[str, str], runner: QueryRunner) -> go.Heatmap:
    x, y, value = columns["x"], columns["y0"], columns["value"]
    if data.frame.duplicated([x, y]).any():
        raise SpecError(f"heatmap: query {data.name!r} has several rows for one ({x}, {y}) pair")
    grid = data.frame.pivot(index=y, columns=x, values=value).sort_index(axis=1)
    grid = grid.reindex(in_business_order(sorted(grid.index), y))
    x_fmt, y_fmt, fmt = runner.format_of(x), runner.format_of(y), runner.format_of(value)
    z = [[None if is_missing(v) else stable(float(v)) for v in row] for row in grid.to_numpy()]
    # a meaningful colour range: shares on 0..100%, other values from 0 (never the data's
    # own min..max, which makes a 0.1 pp dip look like a hole)
    peak = max((v for row in z for v in row if v is not None), default=0.0)
    zmax = 1.0 if fmt == "percent" else max(peak, 1e-9)
    hover = (
        f"{html.escape(runner.title_of(x))}: %{{x}}<br>"
        f"{html.escape(runner.title_of(y))}: %{{y}}<br>"
        f"{html.escape(runner.title_of(value))}: {hover_format(fmt, 'z')}<extra></extra>"
    )
    return go.Heatmap(
        z=z,
        x=[html.escape(format_value(v, x_fmt)) for v in grid.columns],
        y=[html.escape(format_value(v, y_fmt)) for v in grid.index],
        zmin=0,
        zmax=stable(zmax),
        colorscale=[[0, "#f7fbff"], [0.5, "#6baed6"], [1, "#08306b"]],
        colorbar={
            "title": {"text": html.escape(runner.title_of(value)), "side": "right"},
            **plotly_axis_format(fmt),
            "thickness": 12,
        },
        hovertemplate=hover,
        hoverongaps=False,
        xgap=1,
        ygap=1,
    )


def _single_period_range(frame: pd.DataFrame, x: str, fmt: str | None) -> dict[str, Any]:
    """A time axis holding one period gets a range around it (Plotly's own would span a
    fraction of a second and label it in microseconds)."""
    if not pd.api.types.is_datetime64_any_dtype(frame[x]):
        return {}
    values = frame[x].dropna().unique()
    if len(values) != 1:
        return {}
    pad = pd.Timedelta(days=HALF_PERIOD_DAYS.get(fmt or "", 1))
    middle = pd.Timestamp(values[0])
    return {"range": [(middle - pad).isoformat(), (middle + pad).isoformat()]}


def _category_order(frame: pd.DataFrame, column: str) -> dict[str, Any]:
    """A categorical axis in business order (theme.yml) when its values have one."""
    if palette_for(column) is None or pd.api.types.is_numeric_dtype(frame[column]):
        return {}
    order = in_business_order(frame[column].dropna().astype(str).tolist(), column)
    return {"categoryorder": "array", "categoryarray": [html.escape(v) for v in order]}


def _layout(
    spec: ChartSpec, frame: pd.DataFrame, columns: dict[str, str], runner: QueryRunner
) -> dict[str, Any]:
    x, y = columns["x"], columns["y0"]
    y_title = runner.title_of(y) if len(spec.y_columns) == 1 or spec.type == "heatmap" else ""
    layout: dict[str, Any] = {
        "height": spec.height,
        "autosize": True,
        "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
        "xaxis": {
            "title": {"text": html.escape(runner.title_of(x))},
            **plotly_axis_format(runner.format_of(x)),
        },
        "yaxis": {"title": {"text": html.escape(y_title)}},
        "showlegend": spec.type != "heatmap" and ("series" in columns or len(spec.y_columns) > 1),
    }
    if "series" in columns:
        layout["legend"] = {"title": {"text": html.escape(runner.title_of(columns["series"]))}}
    if spec.type == "heatmap":
        layout["yaxis"]["autorange"] = "reversed"  # business order reads top to bottom
        layout["xaxis"] = {"title": layout["xaxis"]["title"], "type": "category"}
        layout["yaxis"]["type"] = "category"
    else:
        layout["yaxis"].update(plotly_axis_format(runner.format_of(y)))
        layout["xaxis"].update(_single_period_range(frame, x, runner.format_of(x)))
        layout["xaxis"].update(_category_order(frame, x))
    if spec.type == "bar":
        layout["barmode"] = "stack" if spec.stacked else "group"
    return layout


def chart_columns(spec: ChartSpec, data: Dataset) -> dict[str, str]:
    """Every column the chart names, resolved against the query's result."""
    named = {"x": spec.x, **{f"y{i}": y for i, y in enumerate(spec.y_columns)}}
    for key in ("series", "size", "value", "label"):
        if getattr(spec, key) is not None:
            named[key] = getattr(spec, key)
    return {key: resolve_column(data, column) for key, column in named.items()}


def _extremes(
    frame: pd.DataFrame, columns: dict[str, str], value: str, runner: QueryRunner, spec_type: str
) -> str:
    """'highest: Enterprise, 2024-06 (12.5%); lowest: ...' for one value column."""
    rows = frame.dropna(subset=[value])
    if rows.empty:
        return ""
    labels = [
        c
        for k, c in columns.items()
        if k in ("x", "series", "label") or (k == "y0" and spec_type == "heatmap")
    ]

    def describe(row: pd.Series) -> str:
        where = ", ".join(format_value(row[c], runner.format_of(c)) for c in labels)
        return f"{where} ({format_value(row[value], runner.format_of(value))})"

    ordered = rows.sort_values(value, kind="stable")
    top, bottom = ordered.iloc[-1], ordered.iloc[0]
    if len(ordered) == 1:
        return f"{runner.title_of(value)}: {describe(top)}."
    return f"{runner.title_of(value)}: highest {describe(top)}; lowest {describe(bottom)}."


def chart_summary(
    spec: ChartSpec, frame: pd.DataFrame, columns: dict[str, str], runner: QueryRunner
) -> str:
    """The chart's text alternative: what it plots and its key numbers."""
    if spec.type == "heatmap":
        values = [columns["value"]]
    else:
        values = [columns[f"y{i}"] for i in range(len(spec.y_columns))]
    parts = [_extremes(frame, columns, value, runner, spec.type) for value in values]
    return " ".join(part for part in parts if part)


def _single_period(spec: ChartSpec, frame: pd.DataFrame, columns: dict[str, str]) -> bool:
    x = columns["x"]
    return (
        spec.type in ("line", "area")
        and pd.api.types.is_datetime64_any_dtype(frame[x])
        and frame[x].nunique(dropna=True) == 1
    )


def _values_list(
    spec: ChartSpec, frame: pd.DataFrame, columns: dict[str, str], runner: QueryRunner
) -> str:
    """A line over one period: its values as a short list instead of a one-dot chart."""
    x = columns["x"]
    period = format_value(frame[x].dropna().iloc[0], runner.format_of(x))
    items = []
    for _, row in frame.iterrows():
        for i in range(len(spec.y_columns)):
            y = columns[f"y{i}"]
            label = (
                format_value(row[columns["series"]], runner.format_of(columns["series"]))
                if "series" in columns
                else runner.title_of(y)
            )
            items.append(
                f"<li>{html.escape(label)}: <strong>"
                f"{html.escape(format_value(row[y], runner.format_of(y)))}"
                "</strong></li>"
            )
    return (
        f'<p class="ci-chart-note">Only one period so far ({html.escape(period)}), so '
        f'there is no trend to draw yet:</p><ul class="ci-values">{"".join(items)}</ul>'
    )


def _value_columns(spec: ChartSpec, columns: dict[str, str]) -> list[str]:
    if spec.type == "heatmap":
        return [columns["value"]]
    return [columns[f"y{i}"] for i in range(len(spec.y_columns))]


def _constant_value(
    spec: ChartSpec, frame: pd.DataFrame, columns: dict[str, str], runner: QueryRunner
) -> str | None:
    """The one displayed value of a chart whose points all show the same value (two points or
    more; scatter charts place points by two values and are left alone), else None."""
    if spec.type == "scatter":
        return None
    shown = {
        format_value(v, runner.format_of(c))
        for c in _value_columns(spec, columns)
        for v in frame[c]
        if not is_missing(v)
    }
    points = sum(int(frame[c].notna().sum()) for c in _value_columns(spec, columns))
    return shown.pop() if len(shown) == 1 and points >= 2 else None


def _constant_sentence(
    spec: ChartSpec, columns: dict[str, str], runner: QueryRunner, value: str
) -> str:
    what = " and ".join(runner.title_of(c) for c in _value_columns(spec, columns))
    axes = [columns["x"]]
    if spec.type == "heatmap":
        axes.append(columns["y0"])
    elif "series" in columns:
        axes.append(columns["series"])
    where = " and ".join(runner.title_of(c).lower() for c in axes)
    return (
        f'<p class="ci-chart-note">{html.escape(what)}: <strong>{html.escape(value)}'
        f"</strong> for every {html.escape(where)}, so there is nothing to compare in a "
        "chart.</p>"
    )


def _informative(traces: list[go.BaseTraceType]) -> tuple[list[go.BaseTraceType], list[str]]:
    """Traces worth drawing: of several, one that is 0 throughout or repeats an earlier trace
    point for point is left out, with a note for the caption (names are escaped already)."""
    if len(traces) < 2:
        return traces, []
    kept: list[go.BaseTraceType] = []
    notes: list[str] = []
    for trace in traces:
        ys = [v for v in (trace.y or ()) if v is not None]
        if ys and all(v == 0 for v in ys):
            notes.append(f"{trace.name}: 0 throughout (not drawn).")
            continue
        twin = next(
            (k for k in kept if tuple(k.x) == tuple(trace.x) and tuple(k.y) == tuple(trace.y)), None
        )
        if twin is not None:
            notes.append(f"{trace.name}: the same as {twin.name} throughout (drawn once).")
            continue
        kept.append(trace)
    return (kept, notes) if kept else (traces, [])


def chart_html(spec: ChartSpec, data: Dataset, runner: QueryRunner, element_id: str) -> str:
    columns = chart_columns(spec, data)
    title = (
        f'<div class="ci-chart-title" id="{element_id}-title">{html.escape(spec.title)}</div>'
        if spec.title
        else ""
    )
    if data.frame.empty:
        sentence = spec.empty or "No data to show for the period covered."
        return (
            f'{ungoverned_badge(data)}<div class="ci-empty-state" '
            f'data-query="{html.escape(data.name, quote=True)}">{title}'
            f'<p class="ci-empty">{html.escape(sentence)}</p></div>'
        )
    frame = data.frame
    if spec.type in ("line", "area") and pd.api.types.is_datetime64_any_dtype(frame[columns["x"]]):
        frame = frame.sort_values(columns["x"], kind="stable")
    if _single_period(spec, frame, columns):
        return (
            f'{ungoverned_badge(data)}<figure class="ci-chart-values">{title}'
            f"{_values_list(spec, frame, columns, runner)}</figure>"
        )
    constant = _constant_value(spec, frame, columns, runner)
    if constant is not None:
        return (
            f'{ungoverned_badge(data)}<figure class="ci-chart-values">{title}'
            f"{_constant_sentence(spec, columns, runner, constant)}</figure>"
        )
    traces, notes = (
        ([_heatmap(data, columns, runner)], [])
        if spec.type == "heatmap"
        else _informative(_traces(spec, frame, columns, runner))
    )
    layout = _layout(spec, frame, columns, runner)
    # an empty template here (Plotly's default would be validated into every figure); the
    # site's one template is applied by reports.js
    figure = go.Figure(data=traces, layout={**layout, "template": _EMPTY_TEMPLATE}).to_plotly_json()
    figure["layout"].pop("template", None)
    payload = to_json_plotly(
        {"data": figure["data"], "layout": figure["layout"], "config": PLOTLY_CONFIG}
    )
    # the figcaption (the key numbers) is the chart's text alternative; the plot keeps its
    # interactive parts (legend, hover), so it is not an image role
    summary = " ".join([html.escape(chart_summary(spec, frame, columns, runner)), *notes])
    drawn = sum(len(trace.x or ()) for trace in traces) if spec.type != "heatmap" else 0
    every = len(frame) * (1 if "series" in columns else len(spec.y_columns))
    left_out = (
        f' data-points-left-out="{every - drawn}"'
        if spec.type != "heatmap" and drawn < every
        else ""
    )
    labelled = f' aria-labelledby="{element_id}-title"' if spec.title else ""
    return (
        f'{ungoverned_badge(data)}<figure class="ci-chart" data-chart-type="{spec.type}" '
        f'data-query="{html.escape(data.name, quote=True)}" data-rows="{len(data.frame)}"'
        f' data-x="{html.escape(spec.x, quote=True)}"'
        f'{left_out}{labelled} aria-describedby="{element_id}-summary">'
        f'{title}<figcaption class="ci-chart-summary" id="{element_id}-summary">{summary}'
        f'</figcaption><div class="ci-plot" id="{element_id}" '
        f'style="height:{spec.height}px"></div>'
        f'<script type="application/json" class="ci-chart-spec">{payload}</script></figure>'
    )
