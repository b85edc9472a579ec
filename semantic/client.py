"""Client for a Cube server's REST API with the same `load(query)` interface as the engine.

- `POST {api_url}/v1/load` with `{"query": ...}` (or GET with `?query=<json>`), repeating the
  request while Cube answers `{"error": "Continue wait"}` (HTTP 200, query still running),
  until `max_wait_seconds`.
- `POST {api_url}/v1/sql`: the SQL Cube would run (`{"sql": {"sql": [text, params], "order":
  {...}, ...}}`), and `POST {api_url}/v1/dry-run`: the query as Cube normalises it
  (`queryType`, `normalizedQueries`, `queryOrder`, `pivotQuery`, ...), without running it.
- `GET {api_url}/v1/meta` for the published cubes and views.
- Transient failures are retried a bounded number of times with exponential backoff
  (tenacity): HTTP 502/503/504 (a `Retry-After` header is honoured up to the backoff cap),
  read timeouts and connect timeouts. Each has its own error once retries are spent:
  `CubeUnavailable` (the status), `CubeTimeout` (reached, but no answer within the read
  timeout) and `CubeUnreachable` (no connection; a refused connection is not retried:
  nothing listens there). Every attempt gets its own `x-request-id`
  span of one request id, as Cube's own client does.
- Relative date ranges ('last 12 months', 'from 7 days ago to now') are resolved with `as_of`
  (default today, as the embedded engine) into absolute `[start, end]` pairs before the query
  leaves this process: Cube would otherwise read them with its own clock, and switching
  backends would change the numbers. The pair is wall-clock time in the query's `timezone`,
  which the query keeps, so Cube converts it exactly as the engine does.
- Authentication: the caller's own JWT (issued by whoever issues tokens, verified by the Cube
  server's `check_auth`), sent as the `Authorization` header. The client never holds the API
  secret and cannot choose a role: the token's claims are the security context.
- Cube returns numbers as strings; `annotation` gives each member's type, used to build typed
  pandas columns (number -> numeric, time -> datetime64, boolean -> bool).
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from semantic.engine.dates import resolve_range
from semantic.errors import CubeApiError, CubeTimeout, CubeUnavailable, CubeUnreachable
from semantic.query import Query, TimeDimension

if TYPE_CHECKING:  # pandas loads only when a frame is built
    import pandas as pd

CONTINUE_WAIT = "Continue wait"
RETRY_STATUSES = frozenset({502, 503, 504})
TRANSIENT = (CubeUnavailable, CubeTimeout, CubeUnreachable)


def _retryable(error: BaseException) -> bool:
    """502/503/504 and timeouts (read or connect); a refused connection fails at once."""
    return isinstance(error, TRANSIENT) and getattr(error, "retryable", True)


@dataclass(frozen=True)
class CubeSql:
    """What `/v1/sql` says Cube would run for a query."""

    sql: str
    params: list[Any]
    order: dict[str, str] = field(default_factory=dict)
    data_source: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


class CubeClient:
    """Thin httpx client for Cube's REST API (`api_url` ends with `/cubejs-api`)."""

    def __init__(
        self,
        api_url: str,
        token: str | None = None,
        *,
        method: Literal["POST", "GET"] = "POST",
        timeout_seconds: float = 30.0,
        max_wait_seconds: float = 300.0,
        poll_interval_seconds: float = 0.5,
        retries: int = 3,
        backoff_seconds: float = 0.5,
        max_backoff_seconds: float = 8.0,
        as_of: dt.date | None = None,
        transport: httpx.BaseTransport | None = None,
    ):
        if retries < 0:
            raise ValueError("retries must be >= 0")
        self.api_url = api_url.rstrip("/")
        self.caller_token = token
        self.method = method
        self.timeout_seconds = timeout_seconds
        self.max_wait_seconds = max_wait_seconds
        self.poll_interval_seconds = poll_interval_seconds
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.as_of = as_of
        self._http = httpx.Client(timeout=timeout_seconds, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> CubeClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ------------------------------------------------------------------ auth
    def token(self) -> str:
        """The caller's JWT, sent as is."""
        if not self.caller_token:
            raise CubeApiError(
                "no token: a Cube server needs the caller's JWT (CUSTINTEL_TOKEN or --token)"
            )
        return self.caller_token

    # ------------------------------------------------------------------ requests
    def _request(self, path: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"Authorization": self.token()}
        request_id = str(uuid.uuid4())
        deadline = time.monotonic() + self.max_wait_seconds
        spans = iter(range(1, 1_000_000))
        while True:
            body = self._send_with_retries(path, headers, query, request_id, spans)
            if body.get("error") != CONTINUE_WAIT:
                return body
            if time.monotonic() >= deadline:
                raise CubeApiError(
                    f"Cube did not finish the query within "
                    f"{self.max_wait_seconds:g}s (still 'Continue wait')"
                )
            time.sleep(self.poll_interval_seconds)

    def _send_with_retries(
        self,
        path: str,
        headers: dict[str, str],
        query: dict[str, Any] | None,
        request_id: str,
        spans: Any,
    ) -> dict[str, Any]:
        """One answer, retrying transient failures; the last one raised with the count."""
        retrying = Retrying(
            stop=stop_after_attempt(self.retries + 1),
            wait=self._backoff,
            retry=retry_if_exception(_retryable),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    headers["x-request-id"] = f"{request_id}-span-{next(spans)}"
                    return self._send(path, headers, query)
        except TRANSIENT as exc:
            if not _retryable(exc):
                raise
            attempts = self.retries + 1
            raise type(exc)(
                f"{exc} (gave up after {attempts} attempt{'s' if attempts > 1 else ''})"
            ) from exc
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _backoff(self, state: RetryCallState) -> float:
        """Exponential backoff (backoff, 2x, 4x...) capped; a longer Retry-After wins."""
        wait = self.backoff_seconds * 2 ** (state.attempt_number - 1)
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            wait = max(wait, retry_after)
        return min(wait, self.max_backoff_seconds)

    def _send(
        self, path: str, headers: dict[str, str], query: dict[str, Any] | None
    ) -> dict[str, Any]:
        url = f"{self.api_url}{path}"
        try:
            if query is None:
                response = self._http.get(url, headers=headers)
            elif self.method == "GET":
                response = self._http.get(url, headers=headers, params={"query": json.dumps(query)})
            else:
                response = self._http.post(url, headers=headers, json={"query": query})
        except httpx.ConnectTimeout as exc:
            raise CubeUnreachable(
                f"cannot reach the Cube API at {url}: no connection within "
                f"{self.timeout_seconds:g}s (connect timeout)"
            ) from exc
        except httpx.ConnectError as exc:
            error = CubeUnreachable(f"cannot reach the Cube API at {url}: {exc}")
            error.retryable = False  # nothing listens there
            raise error from exc
        except httpx.TimeoutException as exc:
            raise CubeTimeout(
                f"the Cube API at {url} accepted the request but did not answer "
                f"within {self.timeout_seconds:g}s (read timeout)"
            ) from exc
        except httpx.HTTPError as exc:
            error = CubeUnreachable(f"cannot reach the Cube API at {url}: {exc}")
            error.retryable = False
            raise error from exc
        if response.status_code in RETRY_STATUSES:
            unavailable = CubeUnavailable(
                f"Cube API {path} answered HTTP "
                f"{response.status_code} "
                f"({response.reason_phrase or 'unavailable'}): "
                f"{response.text[:200]!r}"
            )
            unavailable.retry_after = _retry_after(response)
            raise unavailable
        try:
            body = response.json()
        except ValueError as exc:
            raise CubeApiError(
                f"Cube API {url} answered HTTP {response.status_code} with "
                f"non-JSON: {response.text[:200]!r}"
            ) from exc
        if response.status_code >= 400:
            message = body.get("error", body) if isinstance(body, dict) else body
            raise CubeApiError(
                f"Cube API {path} failed with HTTP {response.status_code}: {message}"
            )
        if not isinstance(body, dict):
            raise CubeApiError(
                f"Cube API {path} answered with {type(body).__name__}, expected an object"
            )
        if "error" in body and body["error"] != CONTINUE_WAIT:
            raise CubeApiError(f"Cube API {path} error: {body['error']}")
        return body

    # ------------------------------------------------------------------ endpoints
    def prepare(self, query: Query | dict[str, Any]) -> Query:
        """The query as it is sent: relative date ranges resolved with `as_of`."""
        return absolute_ranges(Query.parse(query), self.as_of or dt.date.today())

    def load_raw(self, query: Query | dict[str, Any]) -> dict[str, Any]:
        """The /v1/load response (first result of a multi-result response)."""
        body = self._request("/v1/load", self.prepare(query).to_cube_json())
        if "results" in body:
            results = body["results"]
            if not results:
                raise CubeApiError("Cube API /v1/load returned no results")
            return results[0]
        return body

    def sql(self, query: Query | dict[str, Any]) -> CubeSql:
        """The SQL Cube would run for the query (`/v1/sql`), with its parameters."""
        body = self._request("/v1/sql", self.prepare(query).to_cube_json())
        part = body.get("sql")
        if isinstance(part, list):  # a blending query answers one entry per query
            part = part[0].get("sql") if part and isinstance(part[0], dict) else None
        statement = part.get("sql") if isinstance(part, dict) else None
        if not (
            isinstance(part, dict)
            and isinstance(statement, list)
            and len(statement) == 2
            and isinstance(statement[0], str)
        ):
            raise CubeApiError("Cube API /v1/sql response has no `sql.sql` [text, params] pair")
        params = statement[1]
        return CubeSql(
            sql=statement[0],
            params=list(params.values()) if isinstance(params, dict) else list(params or []),
            order=dict(part.get("order") or {}),
            data_source=body.get("dataSource") or part.get("dataSource"),
            raw=body,
        )

    def dry_run(self, query: Query | dict[str, Any]) -> dict[str, Any]:
        """The query as Cube normalises it (`/v1/dry-run`): `queryType`, `normalizedQueries`,
        `queryOrder`, `pivotQuery`; Cube rejects unknown members and denied access here."""
        body = self._request("/v1/dry-run", self.prepare(query).to_cube_json())
        if not isinstance(body.get("normalizedQueries"), list):
            raise CubeApiError("Cube API /v1/dry-run response has no `normalizedQueries` list")
        return body

    def meta(self) -> dict[str, Any]:
        """The /v1/meta response: cubes and views visible to the token's security context."""
        return self._request("/v1/meta")

    def load(self, query: Query | dict[str, Any]) -> pd.DataFrame:
        """A query's rows as a typed DataFrame, columns named like the embedded engine's."""
        parsed = Query.parse(query)
        return typed_frame(parsed, self.load_raw(parsed))


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds from a `Retry-After: <seconds>` header (an HTTP date is ignored)."""
    value = response.headers.get("Retry-After", "").strip()
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _instant(value: dt.datetime) -> str:
    return value.isoformat(timespec="milliseconds")


def _absolute(date_range: str | tuple[str, ...], as_of: dt.date) -> str | tuple[str, ...]:
    if not isinstance(date_range, str):
        return date_range
    start, end = resolve_range(date_range, as_of)
    return _instant(start), _instant(end)


def absolute_ranges(query: Query, as_of: dt.date) -> Query:
    """`query` with every relative `dateRange` (and `compareDateRange` entry) replaced by the
    absolute pair the embedded engine reads for the same `as_of`."""
    changed: list[TimeDimension] = []
    for td in query.time_dimensions:
        update: dict[str, Any] = {}
        if isinstance(td.date_range, str):
            update["date_range"] = _absolute(td.date_range, as_of)
        if td.compare_date_range and any(isinstance(r, str) for r in td.compare_date_range):
            update["compare_date_range"] = tuple(_absolute(r, as_of) for r in td.compare_date_range)
        changed.append(td.model_copy(update=update) if update else td)
    if all(new is old for new, old in zip(changed, query.time_dimensions, strict=True)):
        return query
    return query.model_copy(update={"time_dimensions": tuple(changed)})


def result_columns(query: Query) -> list[str]:
    """Column order of a result: dimensions, grouped time dimensions, measures."""
    columns = list(query.dimensions)
    for td in query.time_dimensions:
        name = f"{td.dimension}.{td.granularity}" if td.granularity else None
        if name and name not in columns:
            columns.append(name)
    return columns + list(query.measures)


def _member_types(annotation: dict[str, Any]) -> dict[str, str]:
    types: dict[str, str] = {}
    for section in ("measures", "dimensions", "timeDimensions", "segments"):
        for name, info in (annotation.get(section) or {}).items():
            if isinstance(info, dict) and "type" in info:
                types[name] = str(info["type"])
    return types


def _convert(series: pd.Series, member_type: str) -> pd.Series:
    import pandas as pd

    if member_type == "number":
        return pd.to_numeric(series, errors="raise")
    if member_type == "time":
        return pd.to_datetime(series)
    if member_type == "boolean":
        mapping = {"true": True, "false": False, "1": True, "0": False}
        return series.map(
            lambda v: v if v is None or isinstance(v, bool) else mapping.get(str(v).lower())
        )
    return series


def typed_frame(query: Query, response: dict[str, Any]) -> pd.DataFrame:
    """A DataFrame from a /v1/load response, typed by its annotation."""
    import pandas as pd

    columns = result_columns(query)
    rows = response.get("data")
    if not isinstance(rows, list):
        raise CubeApiError("Cube API /v1/load response has no `data` list")
    types = _member_types(response.get("annotation") or {})
    frame = (
        pd.DataFrame.from_records(rows, columns=columns)
        if rows
        else pd.DataFrame({column: pd.Series(dtype=object) for column in columns})
    )
    for column in columns:
        member_type = types.get(column)
        if member_type is None:
            raise CubeApiError(f"Cube API response has no annotation for '{column}'")
        try:
            frame[column] = _convert(frame[column], member_type)
        except (ValueError, TypeError) as exc:
            raise CubeApiError(f"cannot read column '{column}' as {member_type}: {exc}") from exc
    return frame
