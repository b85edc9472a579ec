"""What the report plugin runs queries through: a small protocol over the semantic layer.

`QueryRunner` holds a function from a Cube query (dict) to a DataFrame, the governed members'
metadata (title, format, lineage, ...) and, optionally, a function for explicitly ungoverned
SQL, the data's "as of" date and the ML model registry folder. `semantic_runner(settings)`
builds the production one on `semantic.load`; tests build one on fixture frames.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from reports.formats import GRANULARITIES, UNITS

LoadFunction = Callable[[dict[str, Any]], pd.DataFrame]
SqlFunction = Callable[[str], pd.DataFrame]


@dataclass(frozen=True)
class MemberInfo:
    """A governed member as the catalogue describes it (`view.member`)."""

    name: str
    title: str | None = None
    description: str | None = None
    format: str | None = None  # display format (reports.formats), from the model
    kind: str | None = None  # measure, dimension, segment
    type: str | None = None  # the member's type: count, sum, number, string, time ...
    owner: str | None = None
    certified: bool = False
    sql: str | None = None
    source: str | None = None  # cube.member it reads
    models: tuple[str, ...] = ()  # the SQLMesh models (warehouse tables) its SQL reads


@dataclass
class QueryRunner:
    load: LoadFunction
    members: Mapping[str, MemberInfo] = field(default_factory=dict)
    sql: SqlFunction | None = None
    as_of: dt.date | None = None
    registry: Path | None = None  # the ML model registry (```registry```, ```model_card```)
    close: Callable[[], None] | None = None  # releases connections; called when a build ends
    #: results kept at most (None: all, for a build); the served app bounds it, since free
    #: inputs (text, date ranges) make new queries without end
    cache_limit: int | None = None
    _cache: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    def run(self, query: dict[str, Any]) -> pd.DataFrame:
        """The result of a governed query (identical queries run once per build)."""
        key = json.dumps(query, sort_keys=True, default=str)
        if key not in self._cache:
            if self.cache_limit is not None and len(self._cache) >= self.cache_limit:
                self._cache.pop(next(iter(self._cache)))  # the oldest result
            self._cache[key] = in_stated_order(self.load(query), query)
        return self._cache[key].copy()

    def release(self) -> None:
        """End of a build: forget cached results (the next build sees fresh data) and close
        connections."""
        self._cache.clear()
        if self.close is not None:
            self.close()

    def run_sql(self, text: str) -> pd.DataFrame:
        if self.sql is None:
            raise ValueError("this site has no warehouse connection for ungoverned SQL")
        return self.sql(text)

    def member(self, column: str) -> MemberInfo | None:
        """The member behind a result column (`view.time.month` -> `view.time`)."""
        if column in self.members:
            return self.members[column]
        base, _, suffix = column.rpartition(".")
        return self.members.get(base) if suffix in GRANULARITIES else None

    def format_of(self, column: str) -> str | None:
        """The display format of a column: the member's format, or its time granularity."""
        base, _, suffix = column.rpartition(".")
        if suffix in GRANULARITIES and base in self.members:
            return suffix
        info = self.members.get(column)
        return info.format if info else None

    def title_of(self, column: str) -> str:
        """A reader's title for a column: the member's title (a time member by granularity:
        "Invoice date" by month is "Invoice month"), else its name in words without the view."""
        info = self.member(column)
        if info is not None and info.title:
            title = info.title
        else:
            name = (info.name if info else column).split(".", 1)[-1]
            title = name.replace("_", " ").replace(".", " ")
            title = title[:1].upper() + title[1:]
        if info is not None and info.name != column:
            title = by_granularity(title, column.rpartition(".")[2])
        return title


def in_stated_order(frame: pd.DataFrame, query: dict[str, Any]) -> pd.DataFrame:
    """The rows in the query's `order` (or Cube's default order), ties broken by every column:
    the engine returns tied rows in any order, and the site must be the same from the same
    warehouse."""
    order = query.get("order")
    if order is None:  # Cube's default order: first grouped time, else first measure, else
        order = _default_order(query)  # first dimension
    pairs = list(order.items()) if isinstance(order, dict) else [tuple(p) for p in order or []]
    keys = [(str(column), direction) for column, direction in pairs]
    resolved = []
    for column, direction in keys:
        found = [c for c in frame.columns if c == column or str(c).rpartition(".")[0] == column]
        if len(found) != 1:
            return frame  # an order the frame does not show: leave the engine's order
        resolved.append((found[0], direction != "desc"))
    if not resolved or frame.empty:
        return frame
    ties = frame.astype(str).sort_values(list(frame.columns), kind="stable").index
    ordered = frame.loc[ties].sort_values(
        [c for c, _ in resolved],
        ascending=[a for _, a in resolved],
        kind="stable",
        na_position="last",
    )
    return ordered.reset_index(drop=True)


def _default_order(query: dict[str, Any]) -> dict[str, str]:
    grouped = [
        td["dimension"]
        for td in query.get("timeDimensions") or []
        if isinstance(td, dict) and td.get("granularity")
    ]
    if grouped:
        return {grouped[0]: "asc"}
    if query.get("measures"):
        return {query["measures"][0]: "desc"}
    if query.get("dimensions"):
        return {query["dimensions"][0]: "asc"}
    return {}


def by_granularity(title: str, granularity: str) -> str:
    """ "Invoice date" -> "Invoice month"; "Month" stays "Month"; else "Opened (month)"."""
    if title.lower() == granularity:
        return title
    if title.lower().endswith(" date"):
        return f"{title[:-5]} {granularity}"
    return f"{title} ({granularity})"


COUNT_TYPES = ("count", "count_distinct", "count_distinct_approx")


def display_format(entry: Any) -> str | None:
    """How a catalogue entry's values are shown: a unit (meta.unit), `integer` for counts and
    `meta.decimals: 0`, else the model's format."""
    if getattr(entry, "unit", None) in UNITS:
        return str(entry.unit)
    if entry.format in (None, "number") and (
        entry.type in COUNT_TYPES or getattr(entry, "decimals", None) == 0
    ):
        return "integer"
    return entry.format


def member_infos(
    entries: list[Any], models: Mapping[str, tuple[str, ...]] | None = None
) -> dict[str, MemberInfo]:
    """MemberInfo for each `semantic.catalog()` entry, keyed by member name; `models` maps a
    member name to the SQLMesh models it reads (lineage)."""
    return {
        entry.name: MemberInfo(
            name=entry.name,
            title=entry.title,
            description=entry.description,
            format=display_format(entry),
            kind=entry.kind,
            type=entry.type,
            owner=entry.owner,
            certified=entry.certified,
            sql=entry.sql,
            source=entry.source,
            models=(models or {}).get(entry.name, ()),
        )
        for entry in entries
    }
