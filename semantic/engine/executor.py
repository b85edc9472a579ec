"""The interface of a query executor other than the engine's own DuckDB connection.

`Engine(model, database=...)` takes a DuckDB file or connection, or any object with
`run(compiled) -> DataFrame` (e.g. `SparkExecutor` for the spark gateway); the engine compiles
the query, the executor runs it, the engine names and types the result's columns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:  # pandas only for executors' results (the CLI's row path never loads it)
    import pandas as pd

    from semantic.engine.compiled import CompiledQuery


@runtime_checkable
class QueryExecutor(Protocol):
    def run(self, compiled: CompiledQuery) -> pd.DataFrame:
        """Run one compiled query; result columns in the order of `compiled.columns`."""
        ...
