"""Turn data values into display text, following the semantic layer's member formats.

Formats: `currency`, `percent` (a ratio: 0.125 shows as 12.5%), `number`, `integer`, the units
`days`, `months`, `hours` (a number with its unit: "1 day", "12 days", "5.3 hours"), `text`,
`id`, and the time granularities `year`, `quarter`, `month`, `week`, `day`, `hour`. A value
without a format is shown by type. Missing values show as an en dash.

`stable` rounds a float to 10 significant digits: sums computed in a different order differ in
the last bits, and the site must be byte-identical from the same warehouse.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
from typing import Any

import pandas as pd

CURRENCY_SYMBOL = "$"
MISSING = "–"
GRANULARITIES = ("year", "quarter", "month", "week", "day", "hour", "minute", "second")
UNITS = {
    "days": ("day", "days", 0),
    "months": ("month", "months", 0),
    "hours": ("hour", "hours", 1),
}  # format -> singular, plural, decimals
FORMATS = frozenset(
    {"currency", "percent", "number", "integer", "text", "id", *UNITS, *GRANULARITIES}
)
SIGNIFICANT_DIGITS = 10
_COMPACT = ((1e3, "K"), (1e6, "M"), (1e9, "B"))


def is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def stable(value: Any) -> Any:
    """A float rounded to SIGNIFICANT_DIGITS (other values unchanged): render-time rounding
    that removes summation-order noise."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool | numbers.Integral):
        number = float(value)
        return float(f"{number:.{SIGNIFICANT_DIGITS}g}") if math.isfinite(number) else number
    return value


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """'1 row', '2 rows', '1,234 rows'."""
    word = singular if count == 1 else (plural_form or f"{singular}s")
    return f"{count:,} {word}"


def _with_unit(value: float, fmt: str) -> str:
    one, many, decimals = UNITS[fmt]
    shown = round(value, decimals)
    text = (
        f"{shown:,.{decimals}f}"
        if decimals and not float(shown).is_integer()
        else (f"{int(shown):,}")
    )
    return f"{text} {one if shown == 1 else many}"


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _compact(value: float) -> str | None:
    """12.3K, 4.56M, 1.2B for |value| >= 10,000; None for smaller values."""
    if abs(value) < 1e4:
        return None
    size, suffix = next(
        ((size, suffix) for size, suffix in _COMPACT if abs(value) / size < 999.5), _COMPACT[-1]
    )
    scaled = value / size
    digits = 0 if abs(scaled) >= 99.95 else 1 if abs(scaled) >= 9.995 else 2
    return f"{scaled:,.{digits}f}{suffix}"


def _number(value: float, compact: bool) -> str:
    short = _compact(value) if compact else None
    if short is not None:
        return short
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def _currency(value: float, compact: bool) -> str:
    sign = "-" if value < 0 else ""
    amount = abs(value)
    short = _compact(amount) if compact else None
    text = short or (f"{amount:,.0f}" if amount >= 1000 else f"{amount:,.2f}")
    return f"{sign}{CURRENCY_SYMBOL}{text}"


def _time(value: Any, granularity: str) -> str:
    stamp = pd.Timestamp(value)
    if granularity == "year":
        return f"{stamp.year}"
    if granularity == "quarter":
        return f"{stamp.year}-Q{stamp.quarter}"
    if granularity == "month":
        return stamp.strftime("%Y-%m")
    if granularity in ("week", "day"):
        return stamp.strftime("%Y-%m-%d")
    return stamp.strftime("%Y-%m-%d %H:%M")


def _by_type(value: Any, compact: bool) -> str:
    if pd.api.types.is_bool(value):  # Python and NumPy booleans
        return "yes" if value else "no"
    if _is_number(value):
        return _number(float(value), compact)
    if isinstance(value, pd.Timestamp | dt.datetime):
        stamp = pd.Timestamp(value)
        return stamp.strftime("%Y-%m-%d" if stamp == stamp.normalize() else "%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def format_value(value: Any, fmt: str | None = None, compact: bool = False) -> str:
    """Display text for one value (`compact` shortens large numbers: 12.3K, 4.5M)."""
    if is_missing(value):
        return MISSING
    value = stable(value)
    if fmt in GRANULARITIES:
        return _time(value, fmt)
    if fmt in ("text", "id") or not _is_number(value):
        return str(value) if fmt in ("text", "id") else _by_type(value, compact)
    number = float(value)
    if fmt == "currency":
        return _currency(number, compact)
    if fmt == "percent":
        return f"{number * 100:,.1f}%"
    if fmt == "integer":
        return _number(float(round(number)), compact)
    if fmt in UNITS:
        return _with_unit(number, fmt)
    if fmt == "number" and not float(number).is_integer():
        return f"{number:,.1f}" if abs(number) >= 100 else f"{number:,.2f}"
    return _by_type(value, compact)


def format_delta(delta: float, fmt: str | None) -> str:
    """A signed difference: +$1,200, -3.4 pp (percent formats), +12."""
    sign = "+" if delta >= 0 else "-"
    if fmt == "percent":
        return f"{sign}{abs(delta) * 100:,.1f} pp"
    return sign + format_value(abs(delta), fmt, compact=True)


def plotly_axis_format(fmt: str | None) -> dict[str, str]:
    """Plotly axis settings (tickformat / tickprefix) for a member format."""
    if fmt == "currency":
        return {"tickprefix": CURRENCY_SYMBOL, "tickformat": ",.0f"}
    if fmt == "percent":
        return {"tickformat": ".1~%"}  # 12.5%, 13%: one decimal where it tells ticks apart
    if fmt in ("number", "integer", *UNITS):
        return {"tickformat": ",~r"}
    if fmt in D3_TIME:
        return {"tickformat": D3_TIME[fmt]}
    return {}


#: d3 time formats of the granularities (Plotly's %q is the quarter)
D3_TIME = {
    "year": "%Y",
    "quarter": "%Y-Q%q",
    "month": "%Y-%m",
    "week": "%Y-%m-%d",
    "day": "%Y-%m-%d",
    "hour": "%Y-%m-%d %H:%M",
}


def hover_format(fmt: str | None, axis: str) -> str:
    """A Plotly hovertemplate field for a value in a member format: `%{y:$,.0f}`."""
    if fmt == "currency":
        return f"%{{{axis}:$,.2f}}"
    if fmt == "percent":
        return f"%{{{axis}:.1%}}"
    if fmt == "integer":
        return f"%{{{axis}:,.0f}}"
    if fmt in UNITS:
        one, many, decimals = UNITS[fmt]
        return f"%{{{axis}:,.{decimals}f}} {many}"
    if fmt in D3_TIME:
        return f"%{{{axis}|{D3_TIME[fmt]}}}"
    if fmt == "number":
        return f"%{{{axis}:,.2~f}}"
    return f"%{{{axis}}}"
