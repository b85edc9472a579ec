"""Client for a Cube server's REST API with the same `load(query)` interface as the engine.

- `POST {api_url}/v1/load` with `{"query": ...}` (or GET with `?query=<json>`), repeating the
  request while Cube answers `{"error": "Continue wait"}` (HTTP 200, query still running),
  until `max_wait_seconds`.
- `GET {api_url}/v1/meta` for the published cubes and views.
- Authentication: the caller's own JWT (issued by whoever issues tokens, verified by the Cube
  server's `check_auth`), sent as the `Authorization` header. The client never holds the API
  secret and cannot choose a role: the token's claims are the security context.
- Cube returns numbers as strings; `annotation` gives each member's type, used to build typed
  pandas columns (number -> numeric, time -> datetime64, boolean -> bool).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Literal

import httpx
import pandas as pd

from semantic.errors import CubeApiError
from semantic.query import Query

CONTINUE_WAIT = "Continue wait"


class CubeClient:
    """Thin httpx client for Cube's REST API (`api_url` ends with `/cubejs-api`)."""

    def __init__(self, api_url: str, token: str | None = None, *,
                 method: Literal["POST", "GET"] = "POST", timeout_seconds: float = 30.0,
                 max_wait_seconds: float = 300.0, poll_interval_seconds: float = 0.5,
                 transport: httpx.BaseTransport | None = None):
        self.api_url = api_url.rstrip("/")
        self.caller_token = token
        self.method = method
        self.max_wait_seconds = max_wait_seconds
        self.poll_interval_seconds = poll_interval_seconds
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
            raise CubeApiError("no token: a Cube server needs the caller's JWT (CUSTINTEL_TOKEN "
                               "or --token)")
        return self.caller_token

    # ------------------------------------------------------------------ requests
    def _request(self, path: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"Authorization": self.token()}
        request_id = str(uuid.uuid4())
        deadline = time.monotonic() + self.max_wait_seconds
        span = 1
        while True:
            headers["x-request-id"] = f"{request_id}-span-{span}"
            body = self._send(path, headers, query)
            if body.get("error") != CONTINUE_WAIT:
                return body
            if time.monotonic() >= deadline:
                raise CubeApiError(f"Cube did not finish the query within "
                                   f"{self.max_wait_seconds:g}s (still 'Continue wait')")
            span += 1
            time.sleep(self.poll_interval_seconds)

    def _send(self, path: str, headers: dict[str, str],
              query: dict[str, Any] | None) -> dict[str, Any]:
        url = f"{self.api_url}{path}"
        try:
            if query is None:
                response = self._http.get(url, headers=headers)
            elif self.method == "GET":
                response = self._http.get(url, headers=headers,
                                          params={"query": json.dumps(query)})
            else:
                response = self._http.post(url, headers=headers, json={"query": query})
        except httpx.HTTPError as exc:
            raise CubeApiError(f"cannot reach the Cube API at {url}: {exc}") from exc
        try:
            body = response.json()
        except ValueError as exc:
            raise CubeApiError(f"Cube API {url} answered HTTP {response.status_code} with "
                               f"non-JSON: {response.text[:200]!r}") from exc
        if response.status_code >= 400:
            message = body.get("error", body) if isinstance(body, dict) else body
            raise CubeApiError(f"Cube API {path} failed with HTTP {response.status_code}: "
                               f"{message}")
        if not isinstance(body, dict):
            raise CubeApiError(f"Cube API {path} answered with {type(body).__name__}, "
                               "expected an object")
        if "error" in body and body["error"] != CONTINUE_WAIT:
            raise CubeApiError(f"Cube API {path} error: {body['error']}")
        return body

    def load_raw(self, query: Query | dict[str, Any]) -> dict[str, Any]:
        """The /v1/load response (first result of a multi-result response)."""
        body = self._request("/v1/load", Query.parse(query).to_cube_json())
        if "results" in body:
            results = body["results"]
            if not results:
                raise CubeApiError("Cube API /v1/load returned no results")
            return results[0]
        return body

    def meta(self) -> dict[str, Any]:
        """The /v1/meta response: cubes and views visible to the token's security context."""
        return self._request("/v1/meta")

    def load(self, query: Query | dict[str, Any]) -> pd.DataFrame:
        """A query's rows as a typed DataFrame, columns named like the embedded engine's."""
        parsed = Query.parse(query)
        return typed_frame(parsed, self.load_raw(parsed))


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
    if member_type == "number":
        return pd.to_numeric(series, errors="raise")
    if member_type == "time":
        return pd.to_datetime(series)
    if member_type == "boolean":
        mapping = {"true": True, "false": False, "1": True, "0": False}
        return series.map(lambda v: v if v is None or isinstance(v, bool)
                          else mapping.get(str(v).lower()))
    return series


def typed_frame(query: Query, response: dict[str, Any]) -> pd.DataFrame:
    """A DataFrame from a /v1/load response, typed by its annotation."""
    columns = result_columns(query)
    rows = response.get("data")
    if not isinstance(rows, list):
        raise CubeApiError("Cube API /v1/load response has no `data` list")
    types = _member_types(response.get("annotation") or {})
    frame = pd.DataFrame.from_records(rows, columns=columns) if rows else \
        pd.DataFrame({column: pd.Series(dtype=object) for column in columns})
    for column in columns:
        member_type = types.get(column)
        if member_type is None:
            raise CubeApiError(f"Cube API response has no annotation for '{column}'")
        try:
            frame[column] = _convert(frame[column], member_type)
        except (ValueError, TypeError) as exc:
            raise CubeApiError(f"cannot read column '{column}' as {member_type}: {exc}") from exc
    return frame
