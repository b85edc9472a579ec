"""Trailing windows shared by the marts, so every window means the same thing everywhere.

A window is relative to a reference date `ref` and never includes it: a monthly snapshot on
`ref` sees only data strictly before it (point in time), and the current views use
`ref = as_of_date + 1 day`. Events are placed by how far back they are, counted once per row and
then compared as integers (cheap on large joins):

    @days_before(activity_date, snapshot_date)     1 = the day before ref, 30 = 30 days before
    @within_days(days_before, 30)                  the 30 days before ref: days 1..30
    @within_days(days_before, 60, 30)              the 30 days before those: days 31..60

    @months_before(invoice_date, snapshot_date)    1 = the calendar month of the day before ref
    @within_months(months_before, 3)               that month and the two before: months 1..3
    @within_months(months_before, 2, 1)            the month before that one: month 2

For a snapshot on the first of a month, months 1..3 are exactly the three full months before it;
for the current view (ref = as_of_date + 1 day) month 1 is the as-of date's month.
"""

from __future__ import annotations

from sqlglot import exp
from sqlmesh import macro
from sqlmesh.core.macros import MacroEvaluator


def _windows_sql(evaluator: MacroEvaluator, expression: exp.Expression) -> str:
    return expression.sql(evaluator.dialect)


def _windows_between(
    evaluator: MacroEvaluator,
    offset: exp.Expression,
    count: exp.Expression,
    skip: exp.Expression | None,
) -> exp.Expression:
    last, skipped = int(count.this), int(skip.this) if skip is not None else 0
    if last <= skipped:
        raise ValueError(f"window {skipped + 1}..{last} before the reference is empty")
    offset_sql = _windows_sql(evaluator, offset)
    return evaluator.parse_one(f"({offset_sql} between {skipped + 1} and {last})")


def _windows_month_number(sql: str) -> str:
    return f"(extract(year from {sql}) * 12 + extract(month from {sql}))"


@macro()
def days_before(
    evaluator: MacroEvaluator, event_date: exp.Expression, ref: exp.Expression
) -> exp.Expression:
    """Days from a date to the reference: 1 for the day before ref, 0 for ref itself."""
    return evaluator.parse_one(
        f"date_diff('day', {_windows_sql(evaluator, event_date)}, {_windows_sql(evaluator, ref)})"
    )


@macro()
def within_days(
    evaluator: MacroEvaluator,
    days_back: exp.Expression,
    count: exp.Expression,
    skip: exp.Expression | None = None,
) -> exp.Expression:
    """`days_back` (from @days_before) is in skip + 1 .. count: a `count - skip` day window."""
    return _windows_between(evaluator, days_back, count, skip)


@macro()
def months_before(
    evaluator: MacroEvaluator, event_date: exp.Expression, ref: exp.Expression
) -> exp.Expression:
    """Calendar months from a date back to the month of the day before ref (that month = 1)."""
    last_day = f"cast({_windows_sql(evaluator, ref)} - interval '1' day as date)"
    event_month = _windows_month_number(_windows_sql(evaluator, event_date))
    return evaluator.parse_one(
        f"cast({_windows_month_number(last_day)} - {event_month} + 1 as bigint)"
    )


@macro()
def within_months(
    evaluator: MacroEvaluator,
    months_back: exp.Expression,
    count: exp.Expression,
    skip: exp.Expression | None = None,
) -> exp.Expression:
    """`months_back` (from @months_before) is in skip + 1 .. count."""
    return _windows_between(evaluator, months_back, count, skip)
