"""What a re-delivered landing table changed, in time: the earliest date a changed row touches.

The loader compares the rows of the files that changed (added, modified or removed files) before
and after the reload, ignoring lineage (a row moved to another file is the same row). Rows only
on one side are paired by the contract key:

- a row added or removed counts from its table's `effective_date` column (contract.yaml);
- a row whose key stayed and whose values changed counts from the earlier of the old and new
  value of each changed date column (a ticket resolved later counts from its resolution, an
  invoice moved to another month from the earlier month), and from its `effective_date` when a
  column that is not a date changed (a corrected amount counts from the invoice's date);
- a table without an `effective_date` counts from the beginning of history.

The warehouse restates every model downstream of the table from that date (custintel.app.pipeline).
"""

from __future__ import annotations

import datetime as dt

import duckdb

from custintel.core.landing.contract import Column, Table

#: "from the beginning of history" (the pipeline clips it to sqlmesh.start)
BEGINNING = dt.date(1, 1, 1)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _as_date(side: str, column: Column) -> str:
    return f"cast({side}.{_quoted(column.name)} as date)"


def _effective(table: Table, side: str) -> str:
    if table.effective_date is None:
        return f"date '{BEGINNING.isoformat()}'"
    return _as_date(side, table.column(table.effective_date))


def _changed_column(table: Table, column: Column) -> str:
    differs = f"o.{_quoted(column.name)} is distinct from n.{_quoted(column.name)}"
    if column.type in ("date", "timestamp"):
        value = f"least({_as_date('o', column)}, {_as_date('n', column)})"
    else:
        value = f"least({_effective(table, 'o')}, {_effective(table, 'n')})"
    return f"case when {differs} then {value} end"


def earliest_change(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    before: str,
    after: str,
    before_files: list[str],
    after_files: list[str],
) -> dt.date | None:
    """The earliest date touched by the rows of `before_files` in relation `before` and of
    `after_files` in `after` that differ; None when no row's values changed."""
    columns = ", ".join(_quoted(name) for name in table.column_names)
    key = " and ".join(f"o.{_quoted(k)} is not distinct from n.{_quoted(k)}" for k in table.key)
    changed = ", ".join(_changed_column(table, column) for column in table.columns)
    sql = f"""
        with old_rows as (
          select {columns} from {before} where _source_file in (select unnest(?))
        ),
        new_rows as (
          select {columns} from {after} where _source_file in (select unnest(?))
        ),
        old_only as (select *, true as _side from (select * from old_rows except all
                                                   select * from new_rows)),
        new_only as (select *, true as _side from (select * from new_rows except all
                                                   select * from old_rows)),
        paired as (
          select
            case
              when o._side is null then {_effective(table, "n")}
              when n._side is null then {_effective(table, "o")}
              else least({changed})
            end as touched
          from old_only as o
          full outer join new_only as n on {key}
        )
        select count(*), min(coalesce(touched, date '{BEGINNING.isoformat()}')) from paired
    """
    count, earliest = con.execute(sql, [before_files, after_files]).fetchall()[0]
    return earliest if count else None
