"""Row-level data-quality rules: each macro returns a rejection reason (text) or null.

A staging model combines them with `coalesce(...)`, so the first rule a row breaks is its
reason. Reasons are `<code>` or `<code>:<landing column>`; the vocabulary is shared with the
sample generator and listed in sqlmesh/README.md:

    duplicate_row, missing_key:<c>, missing_value:<c>, non_finite:<c>, invalid_value:<c>,
    negative_amount:<c>,
    malformed_email:<c>, future_date:<c>, before_start:<c>, duplicate_key:<c>[,<c>..]
    (orphan_key:<c> is decided after staging, see macros/references.py)

Rules run on the standardised landing columns, so reasons name the columns as landed.
"""

from __future__ import annotations

from macros.contract import contract_table
from sqlglot import exp
from sqlmesh import macro
from sqlmesh.core.macros import MacroEvaluator

#: local@domain.tld, no spaces and exactly one @ (no backslashes: portable across dialects)
EMAIL_PATTERN = "^[^@ ]+@[^@ ]+[.][A-Za-z]{2,}$"


def _reason_case(evaluator: MacroEvaluator, checks: list[tuple[str, str]]) -> exp.Expression:
    """`case when <condition> then '<reason>' ... end`; null when there is nothing to check."""
    if not checks:
        return exp.null()
    whens = " ".join(f"when {condition} then '{reason}'" for condition, reason in checks)
    return evaluator.parse_one(f"case {whens} end")


def _sql(evaluator: MacroEvaluator, column: exp.Expression) -> str:
    return column.sql(evaluator.dialect)


def _is_key(column_name: str, key: tuple[str, ...]) -> bool:
    return column_name in key or column_name.endswith("_id")


@macro()
def duplicate_row(evaluator: MacroEvaluator, copy_number: exp.Expression) -> exp.Expression:
    """'duplicate_row' for every landed copy after the first (see @landed_copy_number)."""
    return _reason_case(evaluator, [(f"{_sql(evaluator, copy_number)} > 1", "duplicate_row")])


@macro()
def missing_key(evaluator: MacroEvaluator, table: exp.Expression) -> exp.Expression:
    """'missing_key:<c>' when a required key or reference column (`*_id`) is null."""
    spec = contract_table(table)
    checks = [
        (f"{column.name} is null", f"missing_key:{column.name}")
        for column in spec.columns
        if not column.nullable and _is_key(column.name, spec.key)
    ]
    return _reason_case(evaluator, checks)


@macro()
def missing_value(evaluator: MacroEvaluator, table: exp.Expression) -> exp.Expression:
    """'missing_value:<c>' when any other column the contract declares non-nullable is null."""
    spec = contract_table(table)
    checks = [
        (f"{column.name} is null", f"missing_value:{column.name}")
        for column in spec.columns
        if not column.nullable and not _is_key(column.name, spec.key)
    ]
    return _reason_case(evaluator, checks)


@macro()
def non_finite(evaluator: MacroEvaluator, table: exp.Expression) -> exp.Expression:
    """'non_finite:<c>' when a double column holds NaN or an infinity (a Parquet double, or a
    CSV 'NaN' / 'Infinity'): no amount, rate or measure of the contract can be one."""
    # isnan / abs = infinity rather than DuckDB's isfinite, which Spark does not have
    checks = [
        (
            f"isnan({column.name}) or abs({column.name}) = cast('Infinity' as double)",
            f"non_finite:{column.name}",
        )
        for column in contract_table(table).columns
        if column.type == "double"
    ]
    return _reason_case(evaluator, checks)


@macro()
def invalid_value(evaluator: MacroEvaluator, table: exp.Expression) -> exp.Expression:
    """'invalid_value:<c>' when a categorical value is not one of the contract's allowed values."""
    checks = []
    for column in contract_table(table).columns:
        if column.allowed:
            values = ", ".join(f"'{value}'" for value in column.allowed)
            condition = f"{column.name} is not null and {column.name} not in ({values})"
            checks.append((condition, f"invalid_value:{column.name}"))
    return _reason_case(evaluator, checks)


@macro()
def out_of_range(
    evaluator: MacroEvaluator,
    column: exp.Expression,
    minimum: exp.Expression,
    maximum: exp.Expression,
) -> exp.Expression:
    """'invalid_value:<c>' when a number lies outside [minimum, maximum] (null = unbounded)."""
    sql = _sql(evaluator, column)
    bounds = [
        f"{sql} {operator} {_sql(evaluator, bound)}"
        for operator, bound in (("<", minimum), (">", maximum))
        if not isinstance(bound, exp.Null)
    ]
    return _reason_case(evaluator, [(" or ".join(bounds), f"invalid_value:{column.name}")])


@macro()
def negative_amount(evaluator: MacroEvaluator, *columns: exp.Expression) -> exp.Expression:
    """'negative_amount:<c>' for the first of the columns holding a value below zero."""
    checks = [(f"{_sql(evaluator, c)} < 0", f"negative_amount:{c.name}") for c in columns]
    return _reason_case(evaluator, checks)


@macro()
def malformed_email(evaluator: MacroEvaluator, column: exp.Expression) -> exp.Expression:
    """'malformed_email:<c>' when a non-null address does not look like local@domain.tld."""
    sql = _sql(evaluator, column)
    condition = f"{sql} is not null and not regexp_matches({sql}, '{EMAIL_PATTERN}')"
    return _reason_case(evaluator, [(condition, f"malformed_email:{column.name}")])


@macro()
def future_date(evaluator: MacroEvaluator, *columns: exp.Expression) -> exp.Expression:
    """'future_date:<c>' for a date on or after the build's execution date (@execution_ds).

    custintel runs SQLMesh with the execution time set to the day after the landing data's last
    date, so this rejects exactly the rows the daily intervals of the build do not cover.
    """
    execution_ds = evaluator.locals["execution_ds"]
    checks = [
        (
            f"cast({_sql(evaluator, c)} as date) >= cast('{execution_ds}' as date)",
            f"future_date:{c.name}",
        )
        for c in columns
    ]
    return _reason_case(evaluator, checks)


@macro()
def before_start(evaluator: MacroEvaluator, *columns: exp.Expression) -> exp.Expression:
    """'before_start:<c>' for a date before the warehouse's history start (config sqlmesh.start)."""
    history_start = evaluator.var("history_start")
    checks = [
        (
            f"cast({_sql(evaluator, c)} as date) < cast('{history_start}' as date)",
            f"before_start:{c.name}",
        )
        for c in columns
    ]
    return _reason_case(evaluator, checks)


@macro()
def duplicate_key(
    evaluator: MacroEvaluator, table: exp.Expression, reason: exp.Expression
) -> exp.Expression:
    """'duplicate_key:<key>' for a valid row whose contract key an earlier valid row already has.

    Only rows without another reason compete, so a broken first copy does not hide a good one.
    """
    key = contract_table(table).key
    flag = f"{_sql(evaluator, reason)} is null"
    window = (
        f"row_number() over (partition by {', '.join(key)}, {flag} "
        "order by _source_file, _source_row_number)"
    )
    return _reason_case(evaluator, [(f"{flag} and {window} > 1", f"duplicate_key:{','.join(key)}")])
