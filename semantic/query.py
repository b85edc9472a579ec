"""Cube REST API query (`/v1/load` JSON) as validated pydantic models.

`Query.model_validate({...})` accepts the JSON Cube documents (camelCase keys: `timeDimensions`,
`dateRange`; `order` as an object or as a list of pairs; filters with `member` or the older
`dimension`, and `{and: [...]}` / `{or: [...]}` groups). `Query.to_cube_json()` gives the JSON
to POST to a Cube server. Unknown keys are errors, so a misspelt key is never ignored.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from semantic.definitions import GRANULARITIES
from semantic.errors import QueryError

FilterValue = str | int | float | bool | None


def _iso(value: Any) -> Any:
    """Dates (e.g. from YAML) as the ISO strings Cube expects."""
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="milliseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_iso(item) for item in value]
    return value


def _filter_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "logical" if ("and" in value or "or" in value) else "member"
    return "logical" if isinstance(value, LogicalFilter) else "member"


class _QueryPart(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class MemberFilter(_QueryPart):
    """`{member, operator, values}`; `dimension` is accepted as Cube's older spelling."""

    member: str
    operator: str
    values: tuple[FilterValue, ...] | None = None

    @model_validator(mode="before")
    @classmethod
    def _dimension_alias(cls, data: Any) -> Any:
        if isinstance(data, dict) and "dimension" in data and "member" not in data:
            data = dict(data)
            data["member"] = data.pop("dimension")
        return data

    @field_validator("values", mode="before")
    @classmethod
    def _dates_as_text(cls, value: Any) -> Any:
        return _iso(value)

    def to_cube_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"member": self.member, "operator": self.operator}
        if self.values is not None:
            body["values"] = [None if v is None else str(v) for v in self.values]
        return body


class LogicalFilter(_QueryPart):
    """`{and: [...]}` or `{or: [...]}`."""

    and_: tuple[Filter, ...] | None = Field(default=None, alias="and")
    or_: tuple[Filter, ...] | None = Field(default=None, alias="or")

    @model_validator(mode="after")
    def _exactly_one(self) -> LogicalFilter:
        if (self.and_ is None) == (self.or_ is None):
            raise ValueError("a logical filter has exactly one of `and` / `or`")
        return self

    @property
    def operator(self) -> Literal["and", "or"]:
        return "and" if self.and_ is not None else "or"

    @property
    def items(self) -> tuple[Filter, ...]:
        return self.and_ if self.and_ is not None else self.or_ or ()

    def to_cube_json(self) -> dict[str, Any]:
        return {self.operator: [item.to_cube_json() for item in self.items]}


Filter = Annotated[
    Annotated[MemberFilter, Tag("member")] | Annotated[LogicalFilter, Tag("logical")],
    Discriminator(_filter_kind),
]
LogicalFilter.model_rebuild()


class TimeDimension(_QueryPart):
    dimension: str
    granularity: str | None = None
    date_range: tuple[str, ...] | str | None = Field(default=None, alias="dateRange")
    compare_date_range: tuple[tuple[str, ...] | str, ...] | None = Field(
        default=None, alias="compareDateRange"
    )

    @field_validator("granularity")
    @classmethod
    def _known_granularity(cls, value: str | None) -> str | None:
        if value is not None and value not in GRANULARITIES:
            raise ValueError(
                f"unknown granularity '{value}' (expected one of "
                f"{', '.join(GRANULARITIES)}; custom granularities are not "
                "supported)"
            )
        return value

    @field_validator("date_range", mode="before")
    @classmethod
    def _range_dates_as_text(cls, value: Any) -> Any:
        return _iso(value)

    @field_validator("date_range")
    @classmethod
    def _range_shape(cls, value: Any) -> Any:
        if isinstance(value, tuple) and not 1 <= len(value) <= 2:
            raise ValueError("dateRange must hold one or two dates")
        return value

    def to_cube_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"dimension": self.dimension}
        if self.granularity:
            body["granularity"] = self.granularity
        if self.date_range is not None:
            body["dateRange"] = (
                self.date_range if isinstance(self.date_range, str) else list(self.date_range)
            )
        if self.compare_date_range is not None:
            body["compareDateRange"] = [
                item if isinstance(item, str) else list(item) for item in self.compare_date_range
            ]
        return body


class Query(_QueryPart):
    """A Cube REST query: measures, dimensions, timeDimensions, filters, segments, order..."""

    measures: tuple[str, ...] = ()
    dimensions: tuple[str, ...] = ()
    time_dimensions: tuple[TimeDimension, ...] = Field(default=(), alias="timeDimensions")
    filters: tuple[Filter, ...] = ()
    segments: tuple[str, ...] = ()
    order: tuple[tuple[str, Literal["asc", "desc"]], ...] | None = None
    limit: int | None = Field(default=None, ge=0)
    offset: int | None = Field(default=None, ge=0)
    timezone: str | None = None
    total: bool | None = None
    ungrouped: bool | None = None
    renew_query: bool | None = Field(default=None, alias="renewQuery")

    @field_validator("order", mode="before")
    @classmethod
    def _order_pairs(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return tuple((member, direction) for member, direction in value.items())
        return value

    @classmethod
    def parse(cls, query: Query | dict[str, Any]) -> Query:
        """A Query from a Query or REST JSON; raise QueryError listing what is wrong."""
        if isinstance(query, Query):
            return query
        try:
            return cls.model_validate(query)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in error['loc']) or 'query'}: {error['msg']}"
                for error in exc.errors()
            )
            raise QueryError(f"invalid query: {problems}") from exc

    def to_cube_json(self) -> dict[str, Any]:
        """The JSON a Cube server's /v1/load expects."""
        body: dict[str, Any] = {}
        if self.measures:
            body["measures"] = list(self.measures)
        if self.dimensions:
            body["dimensions"] = list(self.dimensions)
        if self.time_dimensions:
            body["timeDimensions"] = [td.to_cube_json() for td in self.time_dimensions]
        if self.filters:
            body["filters"] = [item.to_cube_json() for item in self.filters]
        if self.segments:
            body["segments"] = list(self.segments)
        if self.order is not None:
            body["order"] = [[member, direction] for member, direction in self.order]
        for key, value in (
            ("limit", self.limit),
            ("offset", self.offset),
            ("timezone", self.timezone),
            ("total", self.total),
            ("ungrouped", self.ungrouped),
            ("renewQuery", self.renew_query),
        ):
            if value is not None:
                body[key] = value
        return body
