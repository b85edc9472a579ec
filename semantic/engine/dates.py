"""Date ranges (absolute and Cube's relative forms) and time-series buckets, in UTC.

Relative ranges are resolved against an "as of" date (the warehouse's last data date when the
caller passes it), not the wall clock, so results are reproducible. Forms, as in Cube:
`today`, `yesterday`, `this|last week|month|quarter|year`, `last N days|weeks|months|quarters|
years` (the N whole periods before the current one), `from YYYY-MM-DD to YYYY-MM-DD`.
"""

from __future__ import annotations

import datetime as dt
import re

from semantic.errors import QueryError

END_OF_DAY = dt.time(23, 59, 59, 999999)
UNITS = ("day", "week", "month", "quarter", "year")


def parse_instant(text: str, *, end: bool) -> dt.datetime:
    """'2024-01-31' -> that day's first (end=False) or last (end=True) microsecond."""
    value = str(text).strip()
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            return dt.datetime.combine(day, END_OF_DAY if end else dt.time())
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise QueryError(f"cannot read date '{text}' (expected YYYY-MM-DD or "
                         "YYYY-MM-DDTHH:MM:SS)") from exc
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def truncate(value: dt.datetime, unit: str) -> dt.datetime:
    """Start of the period (ISO weeks start on Monday, like Cube and DuckDB)."""
    day = value.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "day":
        return day
    if unit == "week":
        return day - dt.timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    if unit == "quarter":
        return day.replace(day=1, month=3 * ((day.month - 1) // 3) + 1)
    if unit == "year":
        return day.replace(day=1, month=1)
    if unit == "hour":
        return value.replace(minute=0, second=0, microsecond=0)
    if unit == "minute":
        return value.replace(second=0, microsecond=0)
    if unit == "second":
        return value.replace(microsecond=0)
    raise QueryError(f"unknown granularity '{unit}'")


def shift(value: dt.datetime, unit: str, count: int) -> dt.datetime:
    """`value` moved by `count` periods of `unit`."""
    if unit in ("second", "minute", "hour", "day", "week"):
        return value + dt.timedelta(**{f"{unit}s": count})
    months = {"month": 1, "quarter": 3, "year": 12}[unit] * count
    index = value.month - 1 + months
    year, month = value.year + index // 12, index % 12 + 1
    return value.replace(year=year, month=month, day=min(value.day, _days_in(year, month)))


def _days_in(year: int, month: int) -> int:
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return (following - dt.timedelta(days=1)).day


def _period(start: dt.datetime, unit: str) -> tuple[dt.datetime, dt.datetime]:
    begin = truncate(start, unit)
    return begin, shift(begin, unit, 1) - dt.timedelta(microseconds=1)


def relative_range(text: str, as_of: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """A relative date range as inclusive (start, end) instants."""
    phrase = " ".join(text.lower().split())
    today = dt.datetime.combine(as_of, dt.time())
    if phrase == "today":
        return _period(today, "day")
    if phrase == "yesterday":
        return _period(today - dt.timedelta(days=1), "day")
    match = re.fullmatch(r"(this|last) (day|week|month|quarter|year)", phrase)
    if match:
        unit = match.group(2)
        anchor = today if match.group(1) == "this" else shift(truncate(today, unit), unit, -1)
        return _period(anchor, unit)
    match = re.fullmatch(r"last (\d+) (day|week|month|quarter|year)s?", phrase)
    if match:
        count, unit = int(match.group(1)), match.group(2)
        current = truncate(today, unit)
        return shift(current, unit, -count), current - dt.timedelta(microseconds=1)
    match = re.fullmatch(r"from (\S+) to (\S+)", phrase)
    if match:
        return parse_instant(match.group(1), end=False), parse_instant(match.group(2), end=True)
    raise QueryError(
        f"cannot read relative date range '{text}'; supported: today, yesterday, "
        "this|last day|week|month|quarter|year, last N days|weeks|months|quarters|years, "
        "from YYYY-MM-DD to YYYY-MM-DD"
    )


def resolve_range(
    date_range: str | tuple[str, ...] | list[str], as_of: dt.date
) -> tuple[dt.datetime, dt.datetime]:
    """A `dateRange` (pair, single date or relative string) as inclusive (start, end)."""
    if isinstance(date_range, str):
        return relative_range(date_range, as_of)
    values = list(date_range)
    if not 1 <= len(values) <= 2:
        raise QueryError("dateRange must hold one or two dates")
    start = parse_instant(values[0], end=False)
    end = parse_instant(values[-1], end=True)
    if end < start:
        raise QueryError(f"dateRange {values} ends before it starts")
    return start, end


def buckets(start: dt.datetime, end: dt.datetime, unit: str) -> list[tuple[dt.datetime,
                                                                         dt.datetime]]:
    """(bucket start, next bucket start) for every period of `unit` touching [start, end]."""
    series = []
    current = truncate(start, unit)
    while current <= end:
        following = shift(current, unit, 1)
        series.append((current, following))
        current = following
        if len(series) > 100_000:
            raise QueryError("the date range holds more than 100000 buckets; use a coarser "
                             "granularity")
    return series
