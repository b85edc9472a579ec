"""Query parameters: user values become numbered placeholders (`$1`), never SQL text."""

from __future__ import annotations

from typing import Any

from sqlglot import exp


class ParamBinder:
    """Collects values; each `bind` returns a placeholder `$n` for the n-th value."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def bind(self, value: Any, cast_to: str | None = None) -> exp.Expression:
        self.values.append(value)
        placeholder: exp.Expression = exp.Placeholder(this=str(len(self.values)))
        return exp.cast(placeholder, cast_to) if cast_to else placeholder
