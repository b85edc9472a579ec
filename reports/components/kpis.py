"""The ```kpi``` component: a tile with the latest value and its change on the previous period."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from reports.components.data import (
    Dataset,
    dataset,
    resolve_column,
    time_columns,
    ungoverned_badge,
)
from reports.formats import GRANULARITIES, format_delta, format_value, is_missing, stable
from reports.runner import QueryRunner
from reports.specs import KpiSpec, SpecError


@dataclass(frozen=True)
class KpiValues:
    current: Any
    previous: Any  # None when there is no previous period
    period: str | None  # label of the current period ("2024-06")
    previous_period: str | None

    @property
    def delta(self) -> float | None:
        if is_missing(self.current) or is_missing(self.previous):
            return None
        return float(self.current) - float(self.previous)

    @property
    def change(self) -> float | None:
        """Relative change (0.1 = +10%); None when the previous value is 0 or missing."""
        delta = self.delta
        if delta is None or float(self.previous) == 0:
            return None
        return delta / abs(float(self.previous))


def _time_column(spec: KpiSpec, data: Dataset) -> str | None:
    if spec.time:
        return resolve_column(data, spec.time)
    found = time_columns(data)
    if len(found) > 1:
        raise SpecError(f"kpi: query {data.name!r} has several time columns; set `time`")
    return found[0] if found else None


def _period_label(column: str, value: Any) -> str:
    suffix = column.rpartition(".")[2]
    return format_value(value, suffix if suffix in GRANULARITIES else None)


def kpi_values(spec: KpiSpec, datasets: Mapping[str, Dataset]) -> KpiValues:
    """Current value = last period of the query; previous = the period before it, or the
    first row of the `previous` query."""
    data = dataset(datasets, spec.data)
    column = resolve_column(data, spec.value)
    time = _time_column(spec, data)
    frame = data.frame
    if frame.empty:
        return KpiValues(None, None, None, None)
    if time is None and len(frame) != 1 and not spec.previous:
        raise SpecError(
            f"kpi: query {data.name!r} returns {len(frame)} rows; a kpi without a "
            "time column needs a one-row query"
        )
    if time is not None:
        frame = frame.sort_values(time)
    current, period = frame[column].iloc[-1], None
    previous, previous_period = None, None
    if time is not None:
        period = _period_label(time, frame[time].iloc[-1])
        if len(frame) > 1:
            previous = frame[column].iloc[-2]
            previous_period = _period_label(time, frame[time].iloc[-2])
    if spec.previous:
        before = dataset(datasets, spec.previous)
        before_column = resolve_column(before, spec.value)
        previous = None if before.frame.empty else before.frame[before_column].iloc[0]
        previous_period = None
    return KpiValues(current, previous, period, previous_period)


def _no_definition(member: str) -> str | None:
    return None


def kpi_html(
    spec: KpiSpec,
    datasets: Mapping[str, Dataset],
    runner: QueryRunner,
    definition_url: Callable[[str], str | None] = _no_definition,
) -> str:
    """The tile; its title links to the metric's row in the Metric Catalogue
    (`definition_url(member)`) when the value is a governed member."""
    data = dataset(datasets, spec.data)
    values = kpi_values(spec, datasets)
    column = resolve_column(data, spec.value)
    fmt = spec.format or runner.format_of(column)
    title = html.escape(spec.title or runner.title_of(column))
    info = runner.member(column) if data.governed else None
    url = definition_url(info.name) if info is not None else None
    if url is not None:
        title = (
            f'<a href="{html.escape(url, quote=True)}" title="How this number is defined">'
            f"{title}</a>"
        )
    parts = [
        f'<div class="ci-kpi-title">{title}</div>',
        f'<div class="ci-kpi-value">{html.escape(format_value(values.current, fmt, True))}</div>',
    ]
    if values.period:
        parts.append(f'<div class="ci-kpi-period">{html.escape(values.period)}</div>')
    delta = values.delta
    if delta is not None:
        good = (delta >= 0) == (spec.good == "up")
        tone = "ci-flat" if delta == 0 else ("ci-good" if good else "ci-bad")
        arrow = "▲" if delta > 0 else "▼" if delta < 0 else "■"
        change = "" if values.change is None else f" ({values.change * 100:+.1f}%)"
        versus = f" vs {values.previous_period}" if values.previous_period else " vs previous"
        parts.append(
            f'<div class="ci-kpi-delta {tone}">{arrow} '
            f"{html.escape(format_delta(delta, fmt) + change + versus)}</div>"
        )
    raw = "".join(
        f' data-{name}="{html.escape(_raw(value), quote=True)}"'
        for name, value in (("value", values.current), ("previous", values.previous))
        if not is_missing(value)
    )
    member = f' data-member="{html.escape(info.name, quote=True)}"' if info else ""
    return f'{ungoverned_badge(data)}<div class="ci-kpi"{member}{raw}>{"".join(parts)}</div>'


def _raw(value: Any) -> str:
    """The unformatted value for data attributes (tests and scripts read these), rounded like
    every rendered number (stable builds)."""
    return repr(stable(float(value))) if isinstance(value, int | float) else str(value)
