"""A compiled query: SQLGlot expression, its parameters, and its SQL in any dialect."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

ENGINE_DIALECT = "duckdb"


@dataclass(frozen=True)
class OutputColumn:
    """A result column: the Cube member name and the member's type (number, string, time...)."""

    name: str
    kind: str  # "dimension", "time_dimension" or "measure"
    type: str


@dataclass(frozen=True)
class CompiledQuery:
    """`sql` (DuckDB, `$n` placeholders) with `params[n-1]` bound to `$n`."""

    expression: exp.Expr
    params: list[Any]
    columns: tuple[OutputColumn, ...] = field(default_factory=tuple)

    @property
    def sql(self) -> str:
        return self.to_sql()

    def to_sql(self, dialect: str = ENGINE_DIALECT, pretty: bool = True) -> str:
        """The SQL in another dialect (SQLGlot transpiles functions and placeholders)."""
        return self.expression.sql(dialect=dialect, pretty=pretty)

    def printable(self, dialect: str = ENGINE_DIALECT) -> str:
        """SQL with the parameter values inlined as literals: for reading, never for running."""

        def inline(node: exp.Expr) -> exp.Expr:
            if isinstance(node, exp.Placeholder) and str(node.this).isdigit():
                return _literal(self.params[int(node.this) - 1])
            return node

        return self.expression.transform(inline).sql(dialect=dialect, pretty=True)

    def __str__(self) -> str:
        return self.printable()


def _literal(value: Any) -> exp.Expr:
    if hasattr(value, "isoformat"):
        return exp.Literal.string(
            value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat()
        )
    return exp.convert(value)
