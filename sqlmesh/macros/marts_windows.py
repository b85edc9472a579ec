"""Trailing-window predicates shared by the marts, so every window means the same thing.

A window is always relative to a reference date `ref` and excludes it: "the last 30 days before
ref" is `[ref - 30 days, ref)`. A snapshot on `ref` therefore sees only data strictly before it
(point in time), and the current view uses `ref = as_of_date + 1 day`, i.e. the 30 days up to and
including the as-of date. The column and the reference must both be dates.

    @within_days(activity_date, snapshot_date, 30)       -> [ref - 30 days, ref)
    @within_days(activity_date, snapshot_date, 60, 30)   -> [ref - 60 days, ref - 30 days)
    @within_months(invoice_date, snapshot_date, 3)       -> [ref - 3 months, ref)
    @within_months(invoice_date, snapshot_date, 2, 1)    -> [ref - 2 months, ref - 1 month)
"""

from __future__ import annotations

from sqlglot import exp
from sqlmesh import macro
from sqlmesh.core.macros import MacroEvaluator


def _offset(evaluator: MacroEvaluator, ref: exp.Expression, amount: int, unit: str) -> str:
    ref_sql = ref.sql(evaluator.dialect)
    return ref_sql if amount == 0 else f"{ref_sql} - interval '{amount}' {unit}"


def _window(
    evaluator: MacroEvaluator,
    column: exp.Expression,
    ref: exp.Expression,
    start: exp.Expression,
    end: exp.Expression | None,
    unit: str,
) -> exp.Expression:
    first, last = int(start.this), int(end.this) if end is not None else 0
    if first <= last:
        raise ValueError(f"window of {first}..{last} {unit}s before the reference is empty")
    column_sql = column.sql(evaluator.dialect)
    lower = _offset(evaluator, ref, first, unit)
    upper = _offset(evaluator, ref, last, unit)
    return evaluator.parse_one(f"({column_sql} >= {lower} and {column_sql} < {upper})")


@macro()
def within_days(
    evaluator: MacroEvaluator,
    column: exp.Expression,
    ref: exp.Expression,
    start_days: exp.Expression,
    end_days: exp.Expression | None = None,
) -> exp.Expression:
    """True when `column` is in [ref - start_days, ref - end_days) (end_days defaults to 0)."""
    return _window(evaluator, column, ref, start_days, end_days, "day")


@macro()
def within_months(
    evaluator: MacroEvaluator,
    column: exp.Expression,
    ref: exp.Expression,
    start_months: exp.Expression,
    end_months: exp.Expression | None = None,
) -> exp.Expression:
    """True when `column` is in [ref - start_months, ref - end_months) in calendar months."""
    return _window(evaluator, column, ref, start_months, end_months, "month")
