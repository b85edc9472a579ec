"""The generated history's calendar: month boundaries as day numbers (days since 1970-01-01)."""

from __future__ import annotations

import datetime as dt

import numpy as np

SECONDS_PER_DAY = 86_400
_EPOCH = dt.date(1970, 1, 1)
#: calendar month in which list prices rise every year
PRICE_RISE_CALENDAR_MONTH = 4
PRICE_RISE_FACTOR = 1.05


def day_number(value: dt.date) -> int:
    return (value - _EPOCH).days


class Timeline:
    """`months` calendar months starting at `start` (the first day of a month)."""

    def __init__(self, start: dt.date, months: int) -> None:
        if start.day != 1:
            raise ValueError(f"start_date must be the first day of a month, got {start}")
        self.start = start
        self.months = months
        first = np.datetime64(start, "M")
        self.month_starts = (first + np.arange(months + 1)).astype("datetime64[D]").astype(np.int64)
        self._calendar_months = (first + np.arange(months + 1)).astype(int) % 12 + 1
        rises = (self._calendar_months == PRICE_RISE_CALENDAR_MONTH) & (np.arange(months + 1) > 0)
        self._rises_to = np.cumsum(rises)

    def month_start(self, month: int) -> int:
        return int(self.month_starts[month])

    def month_start_days(self, months: np.ndarray) -> np.ndarray:
        """First days of any month indexes, also past the history's end (day numbers)."""
        first = np.datetime64(self.start, "M")
        return (first + np.asarray(months, dtype=np.int64)).astype("datetime64[D]").astype(np.int64)

    def month_days(self, month: int) -> int:
        return int(self.month_starts[month + 1] - self.month_starts[month])

    def label(self, month: int) -> str:
        """`YYYY-MM` of a month index."""
        return str(np.datetime64(self.start, "M") + month)

    @property
    def start_day(self) -> int:
        return int(self.month_starts[0])

    @property
    def end_day(self) -> int:
        """The last day of the history (inclusive)."""
        return int(self.month_starts[-1]) - 1

    def month_of(self, days: np.ndarray) -> np.ndarray:
        """Month index of day numbers, counted from the first month (negative before it)."""
        months = np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[M]")
        return months.astype(np.int64) - np.datetime64(self.start, "M").astype(np.int64)

    def is_price_rise(self, month: int) -> bool:
        return month > 0 and self._calendar_months[month] == PRICE_RISE_CALENDAR_MONTH

    def months_since_price_rise(self, month: int) -> int | None:
        """Months since the latest price rise at or before `month` (None if none yet)."""
        for back in range(month + 1):
            if self.is_price_rise(month - back):
                return back
        return None

    def price_factor(self, month: int, since_month: np.ndarray | int) -> np.ndarray:
        """Compound price rise between `since_month` (clipped to 0) and `month`."""
        since = np.clip(np.asarray(since_month, dtype=np.int64), 0, month)
        return PRICE_RISE_FACTOR ** (self._rises_to[month] - self._rises_to[since]).astype(float)

    def list_price_factor(self, month: int) -> float:
        return float(PRICE_RISE_FACTOR ** self._rises_to[month])
