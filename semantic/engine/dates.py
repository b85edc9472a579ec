"""Date ranges (absolute and Cube's relative forms) and time-series buckets, in UTC.

Relative ranges are resolved against an "as of" date (the warehouse's last data date when the
caller passes it), not the wall clock, so results are reproducible. Forms, as Cube's API
gateway reads them: `today`, `yesterday`, `tomorrow`, `this|last|next day|week|month|quarter|
year`, `last N units` (the N whole periods before the current one), `next N units` (the N
after it), `from A to B` with A/B a date, `now`, `today`, `N days ago`, `in N days`.
Time zones: stored times are UTC; a query's `timezone` converts grouped times to wall-clock
time and date-range bounds back to UTC (Cube's `convertTz` / `inDbTimeZone`).
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlglot import exp

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
        raise QueryError(
            f"cannot read date '{text}' (expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS)"
        ) from exc
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


_UNIT = r"(second|minute|hour|day|week|month|quarter|year)"
_TIME_UNITS = ("second", "minute", "hour")
_CHRONO_OFFSET = re.compile(r"(\d+) " + _UNIT + r"s? ago")
_CHRONO_AHEAD = re.compile(r"(?:in (\d+) " + _UNIT + r"s?|(\d+) " + _UNIT + r"s? from now)")


def _end_of(value: dt.datetime, unit: str) -> dt.datetime:
    return shift(truncate(value, unit), unit, 1) - dt.timedelta(microseconds=1)


def _now(as_of: dt.date | dt.datetime) -> dt.datetime:
    if isinstance(as_of, dt.datetime):
        return as_of.replace(tzinfo=None)
    return dt.datetime.combine(as_of, dt.time())


def _chrono_instant(text: str, now: dt.datetime) -> dt.datetime:
    """One side of `from A to B` (the forms of chrono-node's casual English Cube relies on):
    now, today, yesterday, tomorrow, N units ago, in N units / N units from now, a date."""
    phrase = text.strip()
    if phrase in ("now", "today"):
        return now
    if phrase == "yesterday":
        return now - dt.timedelta(days=1)
    if phrase == "tomorrow":
        return now + dt.timedelta(days=1)
    match = _CHRONO_OFFSET.fullmatch(phrase)
    if match:
        return shift(now, match.group(2), -int(match.group(1)))
    match = _CHRONO_AHEAD.fullmatch(phrase)
    if match:
        count, unit = (
            (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
        )
        return shift(now, unit, int(count))
    try:
        return parse_instant(phrase, end=False)
    except QueryError:
        raise QueryError(
            f"cannot read date '{text}' in a `from ... to ...` range; use a date "
            "(YYYY-MM-DD), now, today, yesterday, tomorrow, 'N days ago' or "
            "'in N days'"
        ) from None


def relative_range(text: str, as_of: dt.date | dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """A relative date range as inclusive (start, end) instants, read as Cube's API gateway
    (`dateParser`) reads it, with `as_of` as "now"."""
    phrase = " ".join(text.lower().split())
    now = _now(as_of)
    match = re.search(r"(this|last|next) " + _UNIT, phrase)
    if match:
        step = {"this": 0, "last": -1, "next": 1}[match.group(1)]
        unit = match.group(2)
        anchor = shift(now, unit, step)
        return truncate(anchor, unit), _end_of(anchor, unit)
    match = re.search(r"(last|next) (\d+) " + _UNIT, phrase)
    if match:
        count, unit = int(match.group(2)), match.group(3)
        if match.group(1) == "last":
            return truncate(shift(now, unit, -count), unit), _end_of(shift(now, unit, -1), unit)
        return truncate(shift(now, unit, 1), unit), _end_of(shift(now, unit, count), unit)
    for word, days in (("today", 0), ("yesterday", -1), ("tomorrow", 1)):
        if word in phrase:
            day = now + dt.timedelta(days=days)
            return truncate(day, "day"), _end_of(day, "day")
    match = re.fullmatch(r"from (.*) to (.*)", phrase)
    if match:
        grain = next((unit for unit in _TIME_UNITS if unit in phrase), "day")
        start = truncate(_chrono_instant(match.group(1), now), grain)
        end = _end_of(_chrono_instant(match.group(2), now), grain)
        if end < start:
            raise QueryError(f"date range '{text}' ends before it starts")
        return start, end
    try:
        day = parse_instant(phrase, end=False)
    except QueryError:
        raise QueryError(
            f"cannot read relative date range '{text}'; supported (as in Cube): today, "
            "yesterday, tomorrow, this|last|next day|week|month|quarter|year, last|next N "
            "days|weeks|months|quarters|years, from A to B (A, B: a date, now, today, 'N days "
            "ago', 'in N days')"
        ) from None
    return truncate(day, "day"), _end_of(day, "day")


def check_timezone(name: str) -> ZoneInfo:
    """The IANA time zone `name`, or a QueryError naming it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise QueryError(
            f"unknown timezone '{name}' (expected an IANA name such as 'America/Los_Angeles')"
        ) from exc


def local_to_utc(value: dt.datetime, timezone: str | None) -> dt.datetime:
    """A wall-clock time in `timezone` as the UTC time stored in the warehouse."""
    if timezone is None:
        return value
    aware = value.replace(tzinfo=check_timezone(timezone))
    return aware.astimezone(dt.UTC).replace(tzinfo=None)


def to_timezone(expression: exp.Expr, timezone: str) -> exp.Expr:
    """SQL: a stored UTC timestamp as wall-clock time in `timezone` (Cube's `convertTz`)."""
    in_utc = exp.AtTimeZone(this=expression, zone=exp.Literal.string("UTC"))
    return exp.AtTimeZone(this=in_utc, zone=exp.Literal.string(timezone))


def resolve_range(
    date_range: str | tuple[str, ...] | list[str], as_of: dt.date | dt.datetime
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


def buckets(
    start: dt.datetime, end: dt.datetime, unit: str
) -> list[tuple[dt.datetime, dt.datetime]]:
    """(bucket start, next bucket start) for every period of `unit` touching [start, end]."""
    series = []
    current = truncate(start, unit)
    while current <= end:
        following = shift(current, unit, 1)
        series.append((current, following))
        current = following
        if len(series) > 100_000:
            raise QueryError(
                "the date range holds more than 100000 buckets; use a coarser granularity"
            )
    return series
