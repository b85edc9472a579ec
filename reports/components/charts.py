"""The ```chart``` component: a Plotly figure drawn in the browser by the bundled plotly.js.

The figure is embedded as JSON (`<script type="application/json">`, `<` escaped by Plotly's
encoder) and drawn by assets/reports.js; string values are HTML-escaped before they reach
Plotly, which would otherwise read tags such as <b> or <a> inside labels.
"""

from __future__ import annotations

import html
from functools import cache
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.io.json import to_json_plotly

from reports.components.data import Dataset, resolve_column, ungoverned_badge
from reports.formats import format_value, is_missing, plotly_axis_format
from reports.runner import QueryRunner
from reports.specs import ChartSpec, SpecError

#: no control that sends a chart's data off the site: no Chart Studio link or cloud button
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True, "showLink": False,
                 "showSendToCloud": False, "showEditInChartStudio": False,
                 "plotlyServerURL": "",
                 "modeBarButtonsToRemove": ["sendDataToCloud", "editInChartStudio"]}
TEMPLATE = "plotly_white"
#: half a period in days, by granularity: the x range around a time axis's only period
HALF_PERIOD_DAYS = {"year": 183, "quarter": 46, "month": 15, "week": 4, "day": 1}


def _values(series: pd.Series) -> list[Any]:
    """Plot values: numbers and times as they are, text escaped, missing as None."""
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
        return [None if is_missing(v) else v for v in series.tolist()]
    return [None if is_missing(v) else html.escape(str(v)) for v in series.tolist()]


def _trace(spec: ChartSpec, frame: pd.DataFrame, x: str, y: str, name: str,
           columns: dict[str, str]) -> go.BaseTraceType:
    common: dict[str, Any] = {"x": _values(frame[x]), "y": _values(frame[y]), "name": name}
    if spec.label:
        common["hovertext"] = _values(frame[columns["label"]])
    if spec.type == "bar":
        return go.Bar(**common)
    if spec.type == "line":
        return go.Scatter(mode="lines+markers", **common)
    if spec.type == "area":
        return go.Scatter(mode="lines", stackgroup="area", **common)
    marker: dict[str, Any] = {"opacity": 0.75}
    if spec.size:
        sizes = frame[columns["size"]].astype(float).fillna(0).clip(lower=0)
        peak = float(sizes.max()) or 1.0
        marker.update(size=(sizes / peak * 30 + 4).round(1).tolist(), sizemode="diameter")
    return go.Scatter(mode="markers", marker=marker, **common)


def _traces(spec: ChartSpec, data: Dataset, columns: dict[str, str],
            runner: QueryRunner) -> list[go.BaseTraceType]:
    frame = data.frame
    x = columns["x"]
    if spec.type in ("line", "area") and pd.api.types.is_datetime64_any_dtype(frame[x]):
        frame = frame.sort_values(x)
    ys = [columns[f"y{i}"] for i in range(len(spec.y_columns))]
    if spec.series is None:
        return [_trace(spec, frame, x, y, html.escape(runner.title_of(y)), columns) for y in ys]
    series = columns["series"]
    fmt = runner.format_of(series)
    return [
        _trace(spec, part, x, ys[0], html.escape(format_value(value, fmt)), columns)
        for value, part in frame.groupby(series, sort=True, dropna=False)
    ]


def _heatmap(data: Dataset, columns: dict[str, str], runner: QueryRunner) -> go.Heatmap:
    x, y, value = columns["x"], columns["y0"], columns["value"]
    if data.frame.duplicated([x, y]).any():
        raise SpecError(f"heatmap: query {data.name!r} has several rows for one ({x}, {y}) pair")
    grid = data.frame.pivot(index=y, columns=x, values=value).sort_index().sort_index(axis=1)
    x_fmt, y_fmt = runner.format_of(x), runner.format_of(y)
    return go.Heatmap(
        z=[[None if is_missing(v) else float(v) for v in row] for row in grid.to_numpy()],
        x=[html.escape(format_value(v, x_fmt)) for v in grid.columns],
        y=[html.escape(format_value(v, y_fmt)) for v in grid.index],
        colorscale="Blues",
        colorbar={"title": {"text": html.escape(runner.title_of(value))}},
        hoverongaps=False,
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


def _layout(spec: ChartSpec, frame: pd.DataFrame, columns: dict[str, str],
            runner: QueryRunner) -> dict[str, Any]:
    y = columns["y0"]
    layout: dict[str, Any] = {
        "height": spec.height,
        "margin": {"l": 60, "r": 20, "t": 50 if spec.title else 20, "b": 50},
        # automargin: long category labels (segment names) widen the margin, not overflow it
        "xaxis": {"title": {"text": html.escape(runner.title_of(columns["x"]))}, "automargin": True,
                  **plotly_axis_format(runner.format_of(columns["x"]))},
        "yaxis": {"title": {"text": html.escape(runner.title_of(y))}, "automargin": True},
        "legend": {"title": {"text": html.escape(runner.title_of(columns["series"]))}}
        if "series" in columns else {},
    }
    if spec.type != "heatmap":
        layout["yaxis"].update(plotly_axis_format(runner.format_of(y)))
        layout["xaxis"].update(_single_period_range(frame, columns["x"],
                                                    runner.format_of(columns["x"])))
    if spec.title:
        layout["title"] = {"text": html.escape(spec.title)}
    if spec.type == "bar":
        layout["barmode"] = "stack" if spec.stacked else "group"
    return layout


@cache
def _template_json() -> dict[str, Any]:
    """The theme, expanded once: a figure validating it itself costs ~10x the figure."""
    return pio.templates[TEMPLATE].to_plotly_json()


def chart_columns(spec: ChartSpec, data: Dataset) -> dict[str, str]:
    """Every column the chart names, resolved against the query's result."""
    named = {"x": spec.x, **{f"y{i}": y for i, y in enumerate(spec.y_columns)}}
    for key in ("series", "size", "value", "label"):
        if getattr(spec, key) is not None:
            named[key] = getattr(spec, key)
    return {key: resolve_column(data, column) for key, column in named.items()}


def chart_html(spec: ChartSpec, data: Dataset, runner: QueryRunner, element_id: str) -> str:
    columns = chart_columns(spec, data)
    if data.frame.empty:
        title = f"{html.escape(spec.title)}: " if spec.title else ""
        return (f'{ungoverned_badge(data)}<p class="ci-empty">{title}no data (query '
                f"<code>{html.escape(data.name)}</code> returned no rows)</p>")
    traces = ([_heatmap(data, columns, runner)] if spec.type == "heatmap"
              else _traces(spec, data, columns, runner))
    layout = _layout(spec, data.frame, columns, runner)
    figure = go.Figure(data=traces, layout=layout).to_plotly_json()
    figure["layout"]["template"] = _template_json()
    payload = to_json_plotly({"data": figure["data"], "layout": figure["layout"],
                              "config": PLOTLY_CONFIG})
    return (
        f'{ungoverned_badge(data)}<figure class="ci-chart" data-chart-type="{spec.type}" '
        f'data-query="{html.escape(data.name, quote=True)}" data-rows="{len(data.frame)}" '
        f'data-x="{html.escape(spec.x, quote=True)}">'
        f'<div class="ci-plot" id="{element_id}" style="height:{spec.height}px"></div>'
        f'<script type="application/json" class="ci-chart-spec">{payload}</script></figure>'
    )
