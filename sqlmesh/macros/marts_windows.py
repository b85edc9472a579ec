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


#: the trailing-window activity signals of a customer, as (column, aggregate over the rows of
#: customer_daily_activity placed by `days_back`); {window} is replaced by a window condition
ACTIVITY_WINDOW_SIGNALS: tuple[tuple[str, str, tuple[int, ...]], ...] = (
    ("usage_days_30d", "count(case when {window} and is_usage_day then 1 end)", (30,)),
    ("usage_days_90d", "count(case when {window} and is_usage_day then 1 end)", (90,)),
    ("data_volume_mb_30d", "sum(case when {window} then data_volume_mb else 0 end)", (30,)),
    ("data_volume_mb_90d", "sum(case when {window} then data_volume_mb else 0 end)", (90,)),
    ("voice_minutes_30d", "sum(case when {window} then voice_minutes else 0 end)", (30,)),
    ("voice_minutes_90d", "sum(case when {window} then voice_minutes else 0 end)", (90,)),
    ("sessions_30d", "sum(case when {window} then session_count else 0 end)", (30,)),
    ("sessions_prior_30d", "sum(case when {window} then session_count else 0 end)", (60, 30)),
    ("outage_minutes_30d", "sum(case when {window} then outage_minutes else 0 end)", (30,)),
    ("outage_minutes_90d", "sum(case when {window} then outage_minutes else 0 end)", (90,)),
    ("kb_views_30d", "sum(case when {window} then kb_views_count else 0 end)", (30,)),
    ("kb_views_90d", "sum(case when {window} then kb_views_count else 0 end)", (90,)),
    ("orders_90d", "sum(case when {window} then orders_placed_count else 0 end)", (90,)),
    ("active_days_30d", "count(case when {window} and is_activity_day then 1 end)", (30,)),
    ("active_days_90d", "count(case when {window} and is_activity_day then 1 end)", (90,)),
)


@macro()
def activity_window_signals(
    evaluator: MacroEvaluator, days_back: exp.Expression
) -> list[exp.Expression]:
    """The select-list aggregates of ACTIVITY_WINDOW_SIGNALS over rows of
    customer_daily_activity placed by `days_back` (from @days_before): usage days, data,
    voice, sessions (and the 30 days before), outages, KB views, orders and active days. The
    point-in-time features and the current Customer 360 view share this one definition."""
    projections = []
    for column, aggregate, bounds in ACTIVITY_WINDOW_SIGNALS:
        count, skip = bounds[0], bounds[1] if len(bounds) > 1 else None
        window = _windows_between(
            evaluator,
            days_back,
            exp.Literal.number(count),
            exp.Literal.number(skip) if skip is not None else None,
        )
        condition = _windows_sql(evaluator, window)
        projections.append(evaluator.parse_one(f"{aggregate.format(window=condition)} as {column}"))
    return projections
