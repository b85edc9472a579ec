"""Write model outputs back to the warehouse, keeping history.

`ml.churn_scores` has one row per customer x score_date x model_version. A write replaces the
rows of the (score_date, model_version) pairs it carries and keeps everything else, so
re-running a scoring is idempotent and older dates / versions stay for trend reports.
`ml.customer_segments` works the same way per (snapshot_date, model_version).
DDL is generated with SQLGlot from the column lists below.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
from sqlglot import exp

SCHEMA = "ml"

#: the columns declared for ml.churn_scores in sqlmesh/external_models/ml.yaml (same order)
CHURN_SCORES: dict[str, str] = {
    "customer_id": "VARCHAR",
    "score_date": "DATE",
    "churn_probability": "DOUBLE",
    "churn_probability_raw": "DOUBLE",
    "risk_band": "VARCHAR",
    **{
        f"reason_{i}{suffix}": kind
        for i in (1, 2, 3)
        for suffix, kind in (
            ("", "VARCHAR"),
            ("_driver", "VARCHAR"),
            ("_action", "VARCHAR"),
            ("_contribution", "DOUBLE"),
        )
    },
    "monthly_margin_amount": "DOUBLE",
    "monthly_churn_hazard": "DOUBLE",
    "predicted_clv_amount": "DOUBLE",
    "expected_remaining_months": "DOUBLE",
    "subscription_clv_amount": "DOUBLE",
    "order_clv_amount": "DOUBLE",
    "expected_retained_value_amount": "DOUBLE",
    "risk_rank": "INTEGER",
    "value_rank": "INTEGER",
    "predicted_uplift": "DOUBLE",
    "recommended_contact": "VARCHAR",
    "model_version": "VARCHAR",
    "scored_at": "TIMESTAMP",
}
CHURN_SCORES_KEY = ("customer_id", "score_date", "model_version")

CUSTOMER_SEGMENTS: dict[str, str] = {
    "customer_id": "VARCHAR",
    "snapshot_date": "DATE",
    "segment_id": "INTEGER",
    "segment_name": "VARCHAR",
    "model_version": "VARCHAR",
    "segmented_at": "TIMESTAMP",
}
CUSTOMER_SEGMENTS_KEY = ("customer_id", "snapshot_date", "model_version")


class WriteError(ValueError):
    """The frame to write does not match the table's columns or key."""


def create_table_sql(table: str, columns: dict[str, str], key: tuple[str, ...]) -> str:
    definitions: list[exp.Expr] = [
        exp.ColumnDef(this=exp.to_identifier(name), kind=exp.DataType.build(kind))
        for name, kind in columns.items()
    ]
    definitions.append(exp.PrimaryKey(expressions=[exp.to_identifier(c) for c in key]))
    create = exp.Create(
        this=exp.Schema(this=exp.to_table(f"{SCHEMA}.{table}"), expressions=definitions),
        kind="TABLE",
        exists=True,
    )
    return create.sql(dialect="duckdb")


def checked_rows(
    table: str, frame: pd.DataFrame, columns: dict[str, str], key: tuple[str, ...]
) -> pd.DataFrame:
    """The table's columns of `frame`; an error when one is missing or a key repeats."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise WriteError(f"{SCHEMA}.{table}: frame lacks column(s) {missing}")
    duplicated = frame.duplicated(list(key))
    if duplicated.any():
        raise WriteError(
            f"{SCHEMA}.{table}: {int(duplicated.sum())} rows repeat the key {key}, e.g. "
            f"{frame.loc[duplicated, list(key)].iloc[0].to_dict()}"
        )
    return frame[list(columns)]


def write_history(
    warehouse_path: Path | str,
    table: str,
    frame: pd.DataFrame,
    columns: dict[str, str],
    key: tuple[str, ...],
    replace_by: tuple[str, str],
) -> int:
    """Replace the rows of the `replace_by` pairs present in `frame`, insert `frame`."""
    rows = checked_rows(table, frame, columns, key)
    target = exp.to_table(f"{SCHEMA}.{table}").sql(dialect="duckdb")
    pairs = rows[list(replace_by)].drop_duplicates()
    with duckdb.connect(str(warehouse_path)) as con:
        con.execute(f"create schema if not exists {SCHEMA}")
        con.execute(create_table_sql(table, columns, key))
        for name, kind in columns.items():  # a table from an older release gains new columns
            column = exp.ColumnDef(this=exp.to_identifier(name), kind=exp.DataType.build(kind))
            con.execute(
                f"alter table {target} add column if not exists {column.sql(dialect='duckdb')}"
            )
        con.register("incoming_rows", rows)
        con.register("replaced_pairs", pairs)
        first, second = (exp.to_identifier(c).sql(dialect="duckdb") for c in replace_by)
        con.execute("begin transaction")
        con.execute(
            f"delete from {target} where ({first}, {second}) in "
            f"(select ({first}, {second}) from replaced_pairs)"
        )
        con.execute(f"insert into {target} by name select * from incoming_rows")
        con.execute("commit")
    return len(rows)


def write_churn_scores(warehouse_path: Path | str, scores: pd.DataFrame) -> int:
    return write_history(
        warehouse_path,
        "churn_scores",
        scores,
        CHURN_SCORES,
        CHURN_SCORES_KEY,
        ("score_date", "model_version"),
    )


def write_customer_segments(warehouse_path: Path | str, segments: pd.DataFrame) -> int:
    return write_history(
        warehouse_path,
        "customer_segments",
        segments,
        CUSTOMER_SEGMENTS,
        CUSTOMER_SEGMENTS_KEY,
        ("snapshot_date", "model_version"),
    )
