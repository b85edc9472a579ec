"""Cube's response shapes for a query run by the embedded engine.

- `/v1/load`: `query` (normalized: every list present, `timezone` UTC by default, `order` as
  `[{id, desc}]`, Cube's default `limit` 10000), `data` (one object per row), `annotation`
  (measures, dimensions, segments, timeDimensions: title, shortTitle, type, format),
  `lastRefreshTime`, `dataSource`, `dbType`, `external`, `slowQuery`, `total`.
- values as Cube's REST API returns them: numbers as strings (Cube's docs: "the REST API
  returns numeric measure and dimension values as strings"), times as
  `YYYY-MM-DDTHH:mm:ss.SSS`, booleans as booleans, missing as null. A grouped time dimension
  also appears under its name without granularity (Cube's backward-compatible key) unless that
  name is itself a queried dimension.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from semantic.definitions import DataModel
from semantic.engine.compiled import CompiledQuery
from semantic.engine.compiler import MAX_LIMIT
from semantic.query import Query
from semantic.server.members import lookup

DEFAULT_LIMIT = 10_000  # Cube's default row limit when a query has none
DB_TYPE = "duckdb"


def number_text(value: Any) -> str:
    """A number as the string Cube sends (JavaScript's shortest form: 12, 0.5, 1234.56)."""
    if isinstance(value, bool | np.bool_):
        return "1" if value else "0"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    number = float(value)
    if number.is_integer() and abs(number) < 1e21:
        return str(int(number))
    return repr(number)


def time_text(value: Any) -> str:
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}"


def wire_value(value: Any, member_type: str) -> Any:
    """One cell as Cube's JSON carries it."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating) and math.isnan(value):
        return None
    if member_type == "time" or isinstance(value, dt.date | pd.Timestamp):
        return time_text(value)
    if member_type == "number":
        return number_text(value)
    if member_type == "boolean":
        return bool(value)
    if isinstance(value, np.generic):
        return value.item()
    return value if isinstance(value, str | int | float | bool) else str(value)


def normalized_query(query: Query) -> dict[str, Any]:
    """The query as Cube echoes it back (normalizeQuery): every list present, order pairs as
    `{id, desc}`, the default limit and time zone filled in."""
    body = query.to_cube_json()
    for key in ("measures", "dimensions", "timeDimensions", "filters", "segments"):
        body.setdefault(key, [])
    body["order"] = [
        {"id": member, "desc": direction == "desc"} for member, direction in (query.order or ())
    ]
    limit = query.limit if query.limit is not None else DEFAULT_LIMIT
    body["limit"] = min(limit, MAX_LIMIT)
    body["rowLimit"] = body["limit"]
    body["timezone"] = query.timezone or "UTC"
    body["queryType"] = "regularQuery"
    return body


def annotation(model: DataModel, query: Query, compiled: CompiledQuery) -> dict[str, Any]:
    """Cube's `annotation`: each result member's title, short title, type and format."""
    sections: dict[str, dict[str, Any]] = {
        "measures": {},
        "dimensions": {},
        "segments": {},
        "timeDimensions": {},
    }
    for column in compiled.columns:
        base = column.name
        if column.kind == "time_dimension":
            base = column.name.rpartition(".")[0]
        description = lookup(model, base)
        body = (
            description.annotation()
            if description
            else {"title": column.name, "shortTitle": column.name, "type": column.type}
        )
        body["type"] = column.type
        if column.kind == "measure":
            sections["measures"][column.name] = body
        elif column.kind == "dimension":
            sections["dimensions"][column.name] = body
        else:
            granularity = column.name.rpartition(".")[2]
            sections["timeDimensions"][column.name] = {
                **body,
                "granularity": {
                    "name": granularity,
                    "title": granularity.title(),
                    "interval": f"1 {granularity}",
                    "type": "built-in",
                },
            }
            if base not in query.dimensions:
                sections["timeDimensions"][base] = body
    for segment in query.segments:
        description = lookup(model, segment)
        if description is not None:
            sections["segments"][segment] = description.annotation()
    return sections


def rows(query: Query, compiled: CompiledQuery, frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The result rows as Cube's `data` objects."""
    plan = []
    for index, column in enumerate(compiled.columns):
        aliases = [column.name]
        if column.kind == "time_dimension":
            base = column.name.rpartition(".")[0]
            if base not in query.dimensions:
                aliases.append(base)
        plan.append((index, column.type, aliases))
    data = []
    for record in frame.itertuples(index=False, name=None):
        row: dict[str, Any] = {}
        for index, member_type, aliases in plan:
            value = wire_value(record[index], member_type)
            for alias in aliases:
                row[alias] = value
        data.append(row)
    return data


def load_response(
    model: DataModel,
    query: Query,
    compiled: CompiledQuery,
    frame: pd.DataFrame,
    refreshed: dt.datetime,
) -> dict[str, Any]:
    """The body of a finished `/v1/load`."""
    return {
        "query": normalized_query(query),
        "data": rows(query, compiled, frame),
        "lastRefreshTime": refreshed.astimezone(dt.UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
        "annotation": annotation(model, query, compiled),
        "dataSource": "default",
        "dbType": DB_TYPE,
        "extDbType": None,
        "external": False,
        "slowQuery": False,
        "total": len(frame) if query.total else None,
    }


def json_param(value: Any) -> Any:
    """A bound parameter as JSON (dates as ISO text)."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [json_param(item) for item in value]
    return value


def sql_response(query: Query, compiled: CompiledQuery) -> dict[str, Any]:
    """The body of `/v1/sql`: the SQL with placeholders and its parameters, as Cube's
    `{"sql": {"sql": [text, params], ...}}`."""
    return {
        "dataSource": "default",
        "sql": {
            "status": "ok",
            "sql": [compiled.sql, [json_param(value) for value in compiled.params]],
            "order": {member: direction for member, direction in (query.order or ())},
            "aliasNameToMember": {column.name: column.name for column in compiled.columns},
            "dataSource": "default",
            "external": False,
            "preAggregations": [],
            "rollupMatchResults": [],
        },
    }


def dry_run_response(query: Query) -> dict[str, Any]:
    """The body of `/v1/dry-run`: the normalized query, its order and pivot query."""
    normalized = normalized_query(query)
    return {
        "queryType": "regularQuery",
        "normalizedQueries": [normalized],
        "queryOrder": [{member: direction for member, direction in (query.order or ())}],
        "transformedQueries": [None],
        "pivotQuery": {**normalized, "queryType": "regularQuery"},
    }
