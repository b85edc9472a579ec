"""The YAML bodies of report blocks, parsed and validated (unknown keys are errors)."""

from __future__ import annotations

from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from reports.formats import FORMATS

#: the top-level keys of Cube's REST query JSON
QUERY_KEYS = frozenset(
    {
        "measures",
        "dimensions",
        "timeDimensions",
        "filters",
        "segments",
        "order",
        "limit",
        "offset",
        "timezone",
        "ungrouped",
        "total",
        "renewQuery",
    }
)


class SpecError(ValueError):
    """A block body is invalid; `offset` is the 0-based line within the body, when known."""

    def __init__(self, reason: str, offset: int | None = None):
        self.offset = offset
        super().__init__(reason)


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_format(value: str | None) -> str | None:
    if value is not None and value not in FORMATS:
        raise ValueError(f"unknown format {value!r} (one of {', '.join(sorted(FORMATS))})")
    return value


class ChartSpec(_Spec):
    type: Literal["bar", "line", "area", "scatter", "heatmap"]
    data: str
    x: str
    y: str | list[str]
    series: str | None = None  # one trace per value of this column
    size: str | None = None  # scatter: marker size
    value: str | None = None  # heatmap: cell value
    label: str | None = None  # hover text column
    title: str | None = None
    stacked: bool = False  # bar: stack instead of group
    height: int = 380
    empty: str | None = None  # the sentence shown when the query returns no rows

    @model_validator(mode="after")
    def _shape(self) -> ChartSpec:
        if self.type == "heatmap" and (self.value is None or not isinstance(self.y, str)):
            raise ValueError("a heatmap needs one `y` column and a `value` column")
        if self.type != "heatmap" and self.value is not None:
            raise ValueError("`value` is only for heatmaps")
        if self.size is not None and self.type != "scatter":
            raise ValueError("`size` is only for scatter charts")
        if self.series is not None and isinstance(self.y, list) and len(self.y) > 1:
            raise ValueError("use either `series` or several `y` columns, not both")
        return self

    @property
    def y_columns(self) -> list[str]:
        return [self.y] if isinstance(self.y, str) else list(self.y)


class KpiSpec(_Spec):
    data: str
    value: str
    title: str | None = None
    time: str | None = None  # time column ordering the periods; default: the query's one
    previous: str | None = None  # query holding the previous period (one row)
    format: str | None = None
    good: Literal["up", "down"] = "up"  # which direction of change is good news

    @field_validator("format")
    @classmethod
    def _format(cls, value: str | None) -> str | None:
        return _check_format(value)


class LinkSpec(_Spec):
    column: str  # cells of this column link to ...
    to: str  # ... a templated page, e.g. customers/[customer_id].md


class TableSpec(_Spec):
    data: str
    columns: list[str] | None = None
    formats: dict[str, str] = {}
    title: str | None = None
    search: bool = True
    download: bool = False
    link: LinkSpec | None = None
    total: bool = False  # a total row: the query's measures without its dimensions
    empty: str | None = None  # the sentence shown when the query returns no rows
    page_size: int | None = None  # rows per page (default 25)

    @field_validator("formats")
    @classmethod
    def _formats(cls, value: dict[str, str]) -> dict[str, str]:
        for fmt in value.values():
            _check_format(fmt)
        return value


class CatalogSpec(_Spec):
    title: str | None = None
    certified_only: bool = False


class RegistrySpec(_Spec):
    """A ```registry name``` query: a table read from the ML model registry's files."""

    model: str
    table: Literal[
        "version",
        "metrics",
        "calibration",
        "lift",
        "importance",
        "risk_bands",
        "segments",
        "migration",
        "action_list",
        "uplift",
        "uplift_effects",
        "reliability",
        "calibration_summary",
        "drift_summary",
        "score_drift",
        "feature_drift",
        "backtest",
        "backtest_bands",
    ]
    version: str = "latest"
    part: Literal["test", "valid"] = "test"  # metrics: which evaluation set
    limit: int | None = None


class ModelCardSpec(_Spec):
    """A ```model_card``` block: a version's model_card.md, shown on the page."""

    model: str
    version: str = "latest"
    open: bool = False  # shown expanded


SPECS: dict[str, type[_Spec]] = {
    "chart": ChartSpec,
    "kpi": KpiSpec,
    "table": TableSpec,
    "catalog": CatalogSpec,
    "registry": RegistrySpec,
    "model_card": ModelCardSpec,
}


def load_yaml(body: str) -> Any:
    try:
        return yaml.safe_load(body)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise SpecError(f"invalid YAML: {exc.problem or exc}", mark.line if mark else None) from exc


def _line_of_key(body: str, key: str) -> int | None:
    for offset, line in enumerate(body.split("\n")):
        if line.lstrip().startswith(f"{key}:"):
            return offset
    return None


def validate_query(query: Any, body: str = "") -> dict[str, Any]:
    """A Cube query's top-level keys checked (its members are the semantic layer's job)."""
    if not isinstance(query, dict) or not query:
        raise SpecError("a query is a YAML mapping of Cube query keys: measures, dimensions ...")
    for key in query:
        if key not in QUERY_KEYS:
            raise SpecError(
                f"unknown query key {key!r} (Cube query keys: {', '.join(sorted(QUERY_KEYS))})",
                _line_of_key(body, str(key)),
            )
    return query


def parse_query(body: str) -> dict[str, Any]:
    """A query block's Cube query."""
    return validate_query(load_yaml(body), body)


def parse_spec(kind: str, body: str) -> _Spec:
    """A component block's spec; the error names the field and, when found, its line."""
    raw = load_yaml(body) or {}
    if not isinstance(raw, dict):
        raise SpecError(f"a {kind} block holds a YAML mapping of settings")
    try:
        return SPECS[kind].model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"])
        key = str(error["loc"][0]) if error["loc"] else ""
        where = f"`{field}`: " if field else ""
        message = error["msg"].removeprefix("Value error, ")
        raise SpecError(f"{kind}: {where}{message}", _line_of_key(body, key)) from exc
