"""Macros that read the landing contract (custintel/core/landing/contract.yaml).

The contract is the one place that says which columns are required, which values a categorical
column accepts and which columns identify a row; staging models ask it through these macros
instead of repeating the lists. `@canonical` standardises a categorical value;
`@landed_copy_number` numbers exact copies of a landed row. A table argument is
`<system>__<table>`, e.g. `crm__customers`.
"""

from __future__ import annotations

from sqlglot import exp
from sqlmesh import macro
from sqlmesh.core.macros import MacroEvaluator

from custintel.core.landing import Table, load_contract

#: characters ignored when matching a categorical value to its canonical spelling
_SEPARATORS = (" ", "-", "_")


def contract_table(argument: exp.Expression) -> Table:
    """The contract table named by a macro argument (an identifier or a string)."""
    name = argument.name if not isinstance(argument, exp.Literal) else argument.this
    system, _, table = name.partition("__")
    return load_contract().table(system, table)


def squashed(value: str) -> str:
    """A categorical value lower-cased without separators: 'Direct Mail ' -> 'directmail'."""
    value = value.strip().lower()
    for separator in _SEPARATORS:
        value = value.replace(separator, "")
    return value


@macro()
def clean_text(evaluator: MacroEvaluator, column: exp.Expression) -> exp.Expression:
    """Trim a text value; an empty string becomes null."""
    return evaluator.parse_one(f"nullif(trim({column.sql(evaluator.dialect)}), '')")


@macro()
def canonical(
    evaluator: MacroEvaluator, column: exp.Expression, table: exp.Expression
) -> exp.Expression:
    """Map case / whitespace / separator variants of an allowed value to its contract spelling.

    'residential ' -> 'Residential', 'smb' -> 'SMB', 'direct_mail' -> 'Direct Mail'. A value
    matching no allowed value is returned trimmed, so `@invalid_value` can reject it.
    """
    allowed = contract_table(table).column(column.name).allowed
    if not allowed:
        raise ValueError(f"@canonical: {table.name}.{column.name} has no allowed values")
    sql = column.sql(evaluator.dialect)
    key = f"lower(trim({sql}))"
    for separator in _SEPARATORS:
        key = f"replace({key}, '{separator}', '')"
    whens = " ".join(f"when '{squashed(value)}' then '{value}'" for value in allowed)
    return evaluator.parse_one(f"case {key} {whens} else nullif(trim({sql}), '') end")


@macro()
def landed_copy_number(
    evaluator: MacroEvaluator, table: exp.Expression, relation: exp.Expression
) -> exp.Expression:
    """1 for the first landed copy of a row, 2.. for exact duplicates of it.

    Copies are rows equal in every contract column (as landed); the first is the one with the
    lowest (_source_file, _source_row_number). `relation` qualifies the columns (the source CTE).
    """
    prefix = relation.name
    partition = ", ".join(f"{prefix}.{name}" for name in contract_table(table).column_names)
    order = f"{prefix}._source_file, {prefix}._source_row_number"
    return evaluator.parse_one(f"row_number() over (partition by {partition} order by {order})")
