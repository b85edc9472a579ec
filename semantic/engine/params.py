"""Query parameters: user values become numbered placeholders (`$1`), never SQL text."""

from __future__ import annotations

from typing import Any

from sqlglot import exp


class ParamBinder:
    """Collects values; each `bind` returns a placeholder `$n` for the n-th value."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def bind(self, value: Any, cast_to: str | None = None) -> exp.Expr:
        self.values.append(value)
        placeholder: exp.Expr = exp.Placeholder(this=str(len(self.values)))
        return exp.cast(placeholder, cast_to) if cast_to else placeholder


def compact(expression: exp.Expr, values: list[Any]) -> tuple[exp.Expr, list[Any]]:
    """Renumber placeholders in order of use and drop values no placeholder refers to."""
    used = sorted(
        {
            int(node.this)
            for node in expression.find_all(exp.Placeholder)
            if str(node.this).isdigit()
        }
    )
    mapping = {old: new for new, old in enumerate(used, start=1)}

    def renumber(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Placeholder) and str(node.this).isdigit():
            return exp.Placeholder(this=str(mapping[int(node.this)]))
        return node

    return expression.transform(renumber), [values[old - 1] for old in used]
