"""Run compiled semantic queries on Spark: the embedded engine's executor for the spark gateway.

The compiler builds one SQLGlot expression per query (DuckDB dialect, `$n` placeholders); here
it is generated in Spark's dialect, each `$n` becoming the named parameter marker `:p<n>`, and
run by `SparkSession.sql` with the values bound as arguments (never inlined into the text).
The result comes back as pandas through Arrow, with the same column names and types the DuckDB
executor gives, so callers cannot tell the engines apart.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlglot
from sqlglot import exp

from semantic.engine.compiled import CompiledQuery
from semantic.errors import QueryError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

SPARK_DIALECT = "spark"


def spark_sql(compiled: CompiledQuery) -> tuple[str, dict[str, Any]]:
    """The query in Spark SQL with named parameter markers, and the values they take."""

    def named(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Placeholder) and str(node.this).isdigit():
            return exp.Placeholder(this=f"p{node.this}")
        return node

    sql = compiled.expression.transform(named).sql(dialect=SPARK_DIALECT)
    args = {f"p{index}": value for index, value in enumerate(compiled.params, start=1)}
    return sql, args


def _plain(value: Any) -> Any:
    """Spark binds Python scalars; pandas and numpy ones are turned into them first."""
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, dt.date | str):
        return value.item()
    return value


class SparkExecutor:
    """Executes compiled queries through one Spark session (local, cluster or Spark Connect)."""

    def __init__(self, session: SparkSession) -> None:
        self.session = session

    def run(self, compiled: CompiledQuery) -> pd.DataFrame:
        sql, args = spark_sql(compiled)
        try:
            frame = self.session.sql(sql, args={k: _plain(v) for k, v in args.items()}).toPandas()
        except Exception as exc:  # Spark raises its own AnalysisException / Py4J errors
            if type(exc).__module__.startswith(("pyspark", "py4j")):
                raise QueryError(f"the Spark warehouse rejected the query: {exc}") from exc
            raise
        return _decimals_as_floats(frame)

    def sql(self, text: str, dialect: str = "duckdb") -> pd.DataFrame:
        """Run one (ungoverned) statement written in `dialect`, transpiled to Spark by SQLGlot."""
        try:
            spark_text = sqlglot.transpile(text, read=dialect, write=SPARK_DIALECT)[0]
        except sqlglot.errors.ParseError as exc:
            raise QueryError(f"cannot read the SQL as {dialect}: {exc}") from exc
        return _decimals_as_floats(self.session.sql(spark_text).toPandas())


def _decimals_as_floats(frame: pd.DataFrame) -> pd.DataFrame:
    """Spark's exact decimals (e.g. avg of integers) as floats, as DuckDB's doubles are."""
    for name in frame.columns:
        column = frame[name]
        if column.dtype == object and column.map(lambda v: isinstance(v, Decimal)).any():
            frame[name] = column.map(lambda v: float(v) if isinstance(v, Decimal) else v)
    return frame
