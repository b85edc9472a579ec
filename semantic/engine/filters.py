"""Cube filter operators as SQLGlot conditions; every value is a bound parameter.

Semantics follow Cube's REST API reference: `equals`/`notEquals` take several values (IN /
NOT IN; a null value means IS NULL), the negative operators also keep NULL rows unless null is
one of the values, `contains`/`startsWith`/`endsWith` are case-insensitive (ILIKE; `%` and `_`
in the value are wildcards, as in Cube), date operators pad a `YYYY-MM-DD` value to the start
or end of that day (in the query's time zone, compared with stored UTC times).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlglot import exp

from semantic.definitions import FILTER_OPERATORS
from semantic.engine.dates import local_to_utc, parse_instant
from semantic.engine.params import ParamBinder
from semantic.errors import QueryError

STRING_OPERATORS = {
    "contains",
    "notContains",
    "startsWith",
    "notStartsWith",
    "endsWith",
    "notEndsWith",
}
DATE_OPERATORS = {
    "inDateRange",
    "notInDateRange",
    "beforeDate",
    "beforeOrOnDate",
    "afterDate",
    "afterOrOnDate",
}
COMPARISON_OPERATORS = {"gt", "gte", "lt", "lte"}
NEGATIVE = {"notEquals", "notContains", "notStartsWith", "notEndsWith"}


def _check_operator(operator: str, member_type: str, label: str, is_measure: bool) -> None:
    if operator not in FILTER_OPERATORS:
        raise QueryError(
            f"unknown operator '{operator}' in the filter on '{label}'; valid "
            f"operators: {', '.join(FILTER_OPERATORS)}"
        )
    if operator in STRING_OPERATORS and (is_measure or member_type != "string"):
        raise QueryError(
            f"operator '{operator}' needs a string dimension; '{label}' is "
            f"{'a measure' if is_measure else member_type}"
        )
    if operator in DATE_OPERATORS and (is_measure or member_type != "time"):
        raise QueryError(
            f"operator '{operator}' needs a time dimension; '{label}' is "
            f"{'a measure' if is_measure else member_type}"
        )
    if operator in COMPARISON_OPERATORS and member_type not in ("number", "time"):
        raise QueryError(
            f"operator '{operator}' needs a number or time member; '{label}' is {member_type}"
        )


def convert_value(value: Any, member_type: str, label: str, *, end: bool = False) -> Any:
    """A REST filter value (a string) as the Python value of the member's type."""
    if value is None:
        return None
    if member_type == "number":
        if isinstance(value, bool):
            raise QueryError(f"'{value}' is not a number (filter on '{label}')")
        if isinstance(value, int | float):
            return value
        text = str(value).strip()
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError as exc:
                raise QueryError(f"'{value}' is not a number (filter on '{label}')") from exc
    if member_type == "time":
        if isinstance(value, dt.datetime):
            return value
        if isinstance(value, dt.date):
            value = value.isoformat()
        return parse_instant(str(value), end=end)
    if member_type == "boolean":
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise QueryError(f"'{value}' is not a boolean (filter on '{label}')")
    return str(value)


def _pattern(value: str, operator: str) -> str:
    """Cube's pattern: the value between `%`s as is, so `%` and `_` in it are wildcards (Cube's
    `likeIgnoreCase`: `ILIKE '%' || ? || '%'`). It is still a bound parameter, never SQL."""
    text = value
    if operator in ("contains", "notContains"):
        return f"%{text}%"
    if operator in ("startsWith", "notStartsWith"):
        return f"{text}%"
    return f"%{text}"


def member_condition(
    expression: exp.Expr,
    member_type: str,
    operator: str,
    values: tuple[Any, ...] | None,
    binder: ParamBinder,
    label: str,
    is_measure: bool = False,
    timezone: str | None = None,
) -> exp.Expr:
    """The SQL condition of one `{member, operator, values}` filter."""
    _check_operator(operator, member_type, label, is_measure)
    items = list(values or [])
    if operator == "set":
        return exp.not_(exp.Is(this=expression.copy(), expression=exp.null()))
    if operator == "notSet":
        return exp.Is(this=expression.copy(), expression=exp.null())
    if not items:
        raise QueryError(f"operator '{operator}' on '{label}' needs values")
    if operator in DATE_OPERATORS:
        return _date_condition(expression, operator, items, binder, label, timezone)
    if operator in COMPARISON_OPERATORS:
        if len(items) != 1:
            raise QueryError(f"operator '{operator}' on '{label}' takes exactly one value")
        value = binder.bind(convert_value(items[0], member_type, label))
        node = {"gt": exp.GT, "gte": exp.GTE, "lt": exp.LT, "lte": exp.LTE}[operator]
        return node(this=expression.copy(), expression=value)
    has_null = any(item is None for item in items)
    present = [item for item in items if item is not None]
    if operator in ("equals", "notEquals"):
        condition = _equals(expression, member_type, present, binder, label)
    else:
        condition = _like(expression, operator, present, binder)
    if operator in NEGATIVE:
        negated = exp.not_(condition) if condition is not None else None
        null_check = exp.Is(this=expression.copy(), expression=exp.null())
        if has_null:
            return exp.and_(negated, exp.not_(null_check)) if negated else exp.not_(null_check)
        return exp.or_(exp.paren(negated), null_check) if negated else exp.true()
    null_match = exp.Is(this=expression.copy(), expression=exp.null()) if has_null else None
    if condition is None:
        return null_match or exp.false()
    return exp.or_(condition, null_match) if null_match else condition


def _equals(
    expression: exp.Expr, member_type: str, values: list[Any], binder: ParamBinder, label: str
) -> exp.Expr | None:
    if not values:
        return None
    bound = [binder.bind(convert_value(value, member_type, label)) for value in values]
    if len(bound) == 1:
        return exp.EQ(this=expression.copy(), expression=bound[0])
    return exp.In(this=expression.copy(), expressions=bound)


def _like(
    expression: exp.Expr, operator: str, values: list[Any], binder: ParamBinder
) -> exp.Expr | None:
    if not values:
        return None
    conditions = [
        exp.ILike(this=expression.copy(), expression=binder.bind(_pattern(str(v), operator)))
        for v in values
    ]
    return exp.or_(*conditions) if len(conditions) > 1 else conditions[0]


def _date_condition(
    expression: exp.Expr,
    operator: str,
    items: list[Any],
    binder: ParamBinder,
    label: str,
    timezone: str | None = None,
) -> exp.Expr:
    def instant(value: Any, end: bool = False) -> exp.Expr:
        converted = convert_value(value, "time", label, end=end)
        return binder.bind(local_to_utc(converted, timezone), "TIMESTAMP")

    if operator in ("inDateRange", "notInDateRange"):
        if len(items) not in (1, 2):
            raise QueryError(f"operator '{operator}' on '{label}' takes one or two dates")
        start = instant(items[0])
        end = instant(items[-1], end=True)
        if operator == "inDateRange":
            return exp.and_(
                exp.GTE(this=expression.copy(), expression=start),
                exp.LTE(this=expression.copy(), expression=end),
            )
        return exp.or_(
            exp.LT(this=expression.copy(), expression=start),
            exp.GT(this=expression.copy(), expression=end),
        )
    if len(items) != 1:
        raise QueryError(f"operator '{operator}' on '{label}' takes exactly one date")
    pad_to_end = operator in ("beforeOrOnDate", "afterDate")
    value = instant(items[0], end=pad_to_end)
    node = {
        "beforeDate": exp.LT,
        "beforeOrOnDate": exp.LTE,
        "afterDate": exp.GT,
        "afterOrOnDate": exp.GTE,
    }[operator]
    return node(this=expression.copy(), expression=value)
