"""Cube REST client against a local HTTP server speaking Cube's documented /v1 contract.

The server does not compute anything: it checks the JWT, answers the first /v1/load with
`{"error": "Continue wait"}` (HTTP 200, as Cube does while a query runs) and then returns a
canned response in Cube's format (numbers as strings, `annotation` with member types).
`/v1/sql` and `/v1/dry-run` answer in the shapes of Cube's API gateway (`gateway.ts`: `sql`
returns `{sql: {sql: [text, params], order: {member: asc|desc}, ...}, dataSource}`; `dryRun`
returns `{queryType, normalizedQueries, queryOrder, transformedQueries, pivotQuery}`), with
date ranges normalised as Cube's `normalizeQuery` does (`...T00:00:00.000` /
`...T23:59:59.999`). Scripted faults: HTTP statuses answered before the real answer (with an
optional `Retry-After`) and delays that outlast the client's read timeout.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import jwt
import pandas as pd
import pytest

from custintel.core.settings import load_settings
from semantic import load
from semantic.client import CubeClient
from semantic.engine import Engine
from semantic.engine.dates import local_to_utc, parse_instant
from semantic.errors import (
    CubeApiError,
    CubeTimeout,
    CubeUnavailable,
    CubeUnreachable,
    SemanticError,
)
from tests.conftest import write_config
from tests.semantic_support import MODEL_PATH

SECRET = "test-secret-for-the-local-cube-contract"
QUERY = {
    "measures": ["customer_360.revenue", "customer_360.count"],
    "dimensions": ["customer_360.segment", "customer_360.is_active"],
    "timeDimensions": [
        {
            "dimension": "customer_360.signup_date",
            "granularity": "month",
            "dateRange": ["2024-01-01", "2024-02-29"],
        }
    ],
}
ROWS = [
    {
        "customer_360.segment": "SMB",
        "customer_360.is_active": "true",
        "customer_360.signup_date.month": "2024-01-01T00:00:00.000",
        "customer_360.signup_date": "2024-01-01T00:00:00.000",
        "customer_360.revenue": "1234.50",
        "customer_360.count": "12",
    },
    {
        "customer_360.segment": "Enterprise",
        "customer_360.is_active": "false",
        "customer_360.signup_date.month": "2024-02-01T00:00:00.000",
        "customer_360.signup_date": "2024-02-01T00:00:00.000",
        "customer_360.revenue": "99",
        "customer_360.count": "3",
    },
]
ANNOTATION = {
    "measures": {
        "customer_360.revenue": {"title": "Revenue", "type": "number"},
        "customer_360.count": {"title": "Count", "type": "number"},
    },
    "dimensions": {
        "customer_360.segment": {"title": "Segment", "type": "string"},
        "customer_360.is_active": {"title": "Is Active", "type": "boolean"},
    },
    "segments": {},
    "timeDimensions": {
        "customer_360.signup_date.month": {"title": "Signup", "type": "time"},
        "customer_360.signup_date": {"title": "Signup", "type": "time"},
    },
}


def _day_bound(value: str, index: int) -> str:
    """A dateRange bound as Cube's normalizeQuery writes it (dates widened to the whole day)."""
    if "T" in value:
        return parse_instant(value, end=index == 1).isoformat(timespec="milliseconds")
    return f"{value}T00:00:00.000" if index == 0 else f"{value}T23:59:59.999"


def normalized(query: dict[str, Any]) -> dict[str, Any]:
    """The query as Cube's API gateway normalises it for /v1/dry-run (absolute ranges only:
    a relative string would be read with the server's own clock, which the client avoids)."""
    tds = []
    for td in query.get("timeDimensions", []):
        date_range = td.get("dateRange")
        if isinstance(date_range, list):
            pair = date_range * 2 if len(date_range) == 1 else date_range
            td = {**td, "dateRange": [_day_bound(v, i) for i, v in enumerate(pair)]}
        tds.append(td)
    return {
        "measures": [],
        "dimensions": [],
        "filters": [],
        "segments": [],
        "limit": 10000,
        "timezone": "UTC",
        **query,
        "timeDimensions": tds,
        "rowLimit": 10000,
    }


def default_order(query: dict[str, Any]) -> dict[str, str]:
    """Cube's default order: the first granular time dimension asc, else the first measure
    desc, else the first dimension asc."""
    for td in query.get("timeDimensions", []):
        if td.get("granularity"):
            return {f"{td['dimension']}.{td['granularity']}": "asc"}
    if query.get("measures"):
        return {query["measures"][0]: "desc"}
    return {query["dimensions"][0]: "asc"} if query.get("dimensions") else {}


class CubeContract(BaseHTTPRequestHandler):
    """Cube's REST API surface for the client: /v1/load (with Continue wait), /v1/sql,
    /v1/dry-run and /v1/meta, plus scripted faults (`failures`, `delays`)."""

    requests: list[dict[str, Any]] = []
    pending: set[str] = set()
    failures: list[int] = []  # HTTP statuses answered, one per request, before real answers
    retry_after: str | None = None
    delays: list[float] = []  # seconds slept before answering, one per request

    def log_message(self, *args: Any) -> None:  # keep pytest output clean
        pass

    def _reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _fault(self, path: str) -> bool:
        """Play the next scripted fault; True when it answered (or dropped) the request."""
        self.requests.append(
            {
                "path": path,
                "at": time.monotonic(),
                "fault": True,
                "request_id": self.headers.get("x-request-id"),
            }
        )
        if self.delays:
            time.sleep(self.delays.pop(0))  # the client has given up by now
            return True
        if self.failures:
            status = self.failures.pop(0)
            data = f"<html><body><h1>{status} from the proxy</h1></body></html>".encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html")
            if self.retry_after is not None:
                self.send_header("Retry-After", self.retry_after)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return True
        self.requests.pop()
        return False

    def _claims(self) -> dict[str, Any] | None:
        try:
            return jwt.decode(self.headers.get("Authorization", ""), SECRET, algorithms=["HS256"])
        except jwt.PyJWTError:
            self._reply(403, {"error": "Invalid token"})
            return None

    def _record(self, path: str, query: dict[str, Any] | None, claims: dict[str, Any]) -> None:
        self.requests.append(
            {
                "path": path,
                "query": query,
                "claims": claims,
                "method": self.command,
                "at": time.monotonic(),
                "request_id": self.headers.get("x-request-id"),
            }
        )

    def _answer(self, path: str, query: dict[str, Any], claims: dict[str, Any]) -> None:
        self._record(path, query, claims)
        if "customer_360.nope" in query.get("measures", []):
            self._reply(400, {"error": "'nope' not found for path 'customer_360.nope'"})
        elif path.endswith("/v1/sql"):
            self._sql(query)
        elif path.endswith("/v1/dry-run"):
            self._reply(
                200,
                {
                    "queryType": "regularQuery",
                    "normalizedQueries": [normalized(query)],
                    "queryOrder": [default_order(query)],
                    "transformedQueries": [None],
                    "pivotQuery": {**normalized(query), "queryType": "regularQuery"},
                },
            )
        else:
            self._load(query)

    def _sql(self, query: dict[str, Any]) -> None:
        query = normalized(query)
        params: list[str] = []
        where = []
        for td in query["timeDimensions"]:
            if td.get("dateRange"):
                params += td["dateRange"]
                column = td["dimension"].replace(".", "__")
                where.append(f"{column} >= ?::timestamptz AND {column} <= ?::timestamptz")
        text = (
            'SELECT count(*) "customer_360__count" FROM customers AS "customers"'
            + (" WHERE " + " AND ".join(where) if where else "")
            + " LIMIT 10000"
        )
        self._reply(
            200,
            {
                "sql": {
                    "sql": [text, params],
                    "order": default_order(query),
                    "timeDimensionAlias": None,
                    "external": False,
                    "preAggregations": [],
                    "dataSource": "default",
                    "aliasNameToMember": {"customer_360__count": "customer_360.count"},
                },
                "dataSource": "default",
            },
        )

    def _load(self, query: dict[str, Any]) -> None:
        key = json.dumps(query, sort_keys=True)
        if key not in self.pending:
            self.pending.add(key)
            self._reply(200, {"error": "Continue wait"})
            return
        self.pending.discard(key)
        self._reply(
            200,
            {
                "query": query,
                "data": ROWS,
                "annotation": ANNOTATION,
                "lastRefreshTime": "2024-06-30T00:00:00.000Z",
            },
        )

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        url = urlparse(self.path)
        if self._fault(url.path):
            return
        claims = self._claims()
        if claims is None:
            return
        if url.path == "/cubejs-api/v1/meta":
            self._record(url.path, None, claims)
            self._reply(
                200,
                {
                    "cubes": [
                        {
                            "name": "customer_360",
                            "type": "view",
                            "measures": [{"name": "customer_360.revenue"}],
                        }
                    ]
                },
            )
        elif url.path in ("/cubejs-api/v1/load", "/cubejs-api/v1/sql", "/cubejs-api/v1/dry-run"):
            self._answer(url.path, json.loads(parse_qs(url.query)["query"][0]), claims)
        else:
            self._reply(404, {"error": "not found"})

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        path = urlparse(self.path).path
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self._fault(path):
            return
        claims = self._claims()
        if claims is None:
            return
        if path not in ("/cubejs-api/v1/load", "/cubejs-api/v1/sql", "/cubejs-api/v1/dry-run"):
            self._reply(404, {"error": "not found"})
            return
        self._answer(path, body["query"], claims)


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out closed the socket: nothing to report


@pytest.fixture
def cube_url() -> Iterator[str]:
    CubeContract.requests = []
    CubeContract.pending = set()
    CubeContract.failures = []
    CubeContract.retry_after = None
    CubeContract.delays = []
    server = QuietServer(("127.0.0.1", 0), CubeContract)
    server.timeout = 5
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/cubejs-api"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def signed(claims: dict[str, Any], secret: str = SECRET) -> str:
    """A caller's token as the identity provider issues it (the client never signs)."""
    return jwt.encode({**claims, "exp": int(time.time()) + 600}, secret, algorithm="HS256")


def client(url: str, claims: dict[str, Any] | None = None, **options: Any) -> CubeClient:
    settings = {
        "poll_interval_seconds": 0.01,
        "max_wait_seconds": 5,
        "timeout_seconds": 5,
        "backoff_seconds": 0.01,
        **options,
    }
    return CubeClient(url, signed(claims or {"role": "executive"}), **settings)


def test_load_waits_through_continue_wait_and_types_columns(cube_url):
    with client(cube_url, {"role": "account_manager", "account_manager_id": "am_1"}) as cube:
        frame = cube.load(QUERY)
    assert len(CubeContract.requests) == 2  # 'Continue wait', then the result
    first, second = CubeContract.requests
    assert first["request_id"].endswith("-span-1") and second["request_id"].endswith("-span-2")
    assert first["request_id"].rsplit("-span-", 1)[0] == second["request_id"].rsplit("-span-", 1)[0]
    assert second["claims"]["role"] == "account_manager"
    assert second["claims"]["account_manager_id"] == "am_1"
    assert second["query"]["timeDimensions"][0]["dateRange"] == ["2024-01-01", "2024-02-29"]
    assert list(frame.columns) == [
        "customer_360.segment",
        "customer_360.is_active",
        "customer_360.signup_date.month",
        "customer_360.revenue",
        "customer_360.count",
    ]
    assert frame["customer_360.revenue"].tolist() == [1234.5, 99.0]
    assert frame["customer_360.count"].tolist() == [12, 3]
    assert pd.api.types.is_integer_dtype(frame["customer_360.count"])
    assert frame["customer_360.is_active"].tolist() == [True, False]
    assert frame["customer_360.signup_date.month"].tolist() == [
        pd.Timestamp("2024-01-01"),
        pd.Timestamp("2024-02-01"),
    ]


def test_get_method_sends_the_query_as_url_parameter(cube_url):
    with client(cube_url, method="GET") as cube:
        frame = cube.load({"measures": ["customer_360.count"]})
    assert {r["method"] for r in CubeContract.requests} == {"GET"}
    assert frame["customer_360.count"].tolist() == [12, 3]


def test_meta_lists_views(cube_url):
    with client(cube_url) as cube:
        meta = cube.meta()
    assert [c["name"] for c in meta["cubes"]] == ["customer_360"]


def test_errors_and_bad_tokens_raise_cube_api_error(cube_url):
    with client(cube_url) as cube, pytest.raises(CubeApiError, match="HTTP 400.*nope"):
        cube.load({"measures": ["customer_360.nope"]})
    forged = signed({"role": "executive"}, "a-different-secret-of-enough-length")
    with (
        CubeClient(cube_url, forged, timeout_seconds=5) as cube,
        pytest.raises(CubeApiError, match="HTTP 403.*Invalid token"),
    ):
        cube.meta()


def test_continue_wait_gives_up_after_max_wait(cube_url):
    class AlwaysWaiting(CubeClient):
        def _send(self, path, headers, query):  # the server never finishes
            return {"error": "Continue wait"}

    with (
        AlwaysWaiting(
            cube_url, signed({}), max_wait_seconds=0.05, poll_interval_seconds=0.01
        ) as cube,
        pytest.raises(CubeApiError, match="Continue wait"),
    ):
        cube.load({"measures": ["customer_360.count"]})


def test_public_load_uses_cube_backend_from_config(cube_url, tmp_path, monkeypatch):
    config = write_config(tmp_path, semantic={"backend": "cube", "cube_api_url": cube_url})
    monkeypatch.delenv("CUBEJS_API_SECRET", raising=False)  # the client never needs it
    token = signed({"role": "executive"})
    frame = load(
        {"measures": ["customer_360.count"]},
        role="executive",
        settings=load_settings(config),
        token=token,
    )
    assert frame["customer_360.count"].tolist() == [12, 3]
    assert CubeContract.requests[-1]["claims"]["role"] == "executive"
    with pytest.raises(SemanticError, match="role 'analyst' disagrees with the token"):
        load(
            {"measures": ["customer_360.count"]},
            role="analyst",
            settings=load_settings(config),
            token=token,
        )
    monkeypatch.delenv("CUSTINTEL_TOKEN", raising=False)
    with pytest.raises(SemanticError, match="needs the caller's token"):
        load({"measures": ["customer_360.count"]}, settings=load_settings(config))


def test_missing_token_is_a_clear_error(cube_url):
    with CubeClient(cube_url) as cube, pytest.raises(CubeApiError, match="no token"):
        cube.meta()


# ---------------------------------------------------------------- /v1/sql and /v1/dry-run
def test_sql_returns_the_statement_parameters_and_order_cube_planned(cube_url):
    with client(cube_url, {"role": "analyst"}) as cube:
        planned = cube.sql(QUERY)
    (request,) = CubeContract.requests
    assert request["path"] == "/cubejs-api/v1/sql" and request["claims"]["role"] == "analyst"
    assert planned.sql.startswith("SELECT count(*)") and planned.sql.count("?") == 2
    assert planned.params == ["2024-01-01T00:00:00.000", "2024-02-29T23:59:59.999"]
    assert planned.order == {"customer_360.signup_date.month": "asc"}
    assert planned.data_source == "default"
    assert planned.raw["sql"]["aliasNameToMember"] == {"customer_360__count": "customer_360.count"}


def test_sql_without_a_statement_pair_is_a_clear_error(cube_url):
    class OldServer(CubeClient):
        def _send(self, path, headers, query):
            return {"sql": {"status": "error", "error": "cannot plan"}}

    with (
        OldServer(cube_url, signed({})) as cube,
        pytest.raises(CubeApiError, match=r"/v1/sql response has no `sql.sql`"),
    ):
        cube.sql({"measures": ["customer_360.count"]})


def test_dry_run_returns_the_query_as_cube_normalises_it(cube_url):
    query = {
        "measures": ["customer_360.count"],
        "timeDimensions": [
            {"dimension": "customer_360.signup_date", "dateRange": ["2024-02-01", "2024-02-29"]}
        ],
    }
    with client(cube_url) as cube:
        answer = cube.dry_run(query)
        with pytest.raises(CubeApiError, match="HTTP 400.*nope"):
            cube.dry_run({"measures": ["customer_360.nope"]})
    assert answer["queryType"] == "regularQuery"
    (normal,) = answer["normalizedQueries"]
    assert normal["timeDimensions"][0]["dateRange"] == [
        "2024-02-01T00:00:00.000",
        "2024-02-29T23:59:59.999",
    ]
    assert answer["queryOrder"] == [{"customer_360.count": "desc"}]
    assert [r["path"] for r in CubeContract.requests] == ["/cubejs-api/v1/dry-run"] * 2


def test_sql_and_dry_run_work_over_get(cube_url):
    with client(cube_url, method="GET") as cube:
        assert cube.sql(QUERY).params == ["2024-01-01T00:00:00.000", "2024-02-29T23:59:59.999"]
        assert cube.dry_run(QUERY)["queryType"] == "regularQuery"
    assert {r["method"] for r in CubeContract.requests} == {"GET"}


# ---------------------------------------------------------------- retries
def test_502_503_504_are_retried_with_backoff_then_the_answer_is_read(cube_url):
    CubeContract.failures = [502, 503, 504]
    with client(cube_url, backoff_seconds=0.05, retries=3) as cube:
        frame = cube.load(QUERY)
    assert frame["customer_360.count"].tolist() == [12, 3]
    attempts = CubeContract.requests
    assert [r.get("fault", False) for r in attempts] == [True, True, True, False, False]
    ids = [r["request_id"] for r in attempts]
    assert len({i.rsplit("-span-", 1)[0] for i in ids}) == 1  # one request id
    assert [int(i.rsplit("-span-", 1)[1]) for i in ids] == [1, 2, 3, 4, 5]
    gaps = [b["at"] - a["at"] for a, b in zip(attempts, attempts[1:4], strict=False)]
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1 and gaps[2] >= 0.2  # exponential backoff


def test_retry_after_is_honoured_up_to_the_backoff_cap(cube_url):
    CubeContract.failures, CubeContract.retry_after = [503], "0.3"
    with client(cube_url, backoff_seconds=0.01) as cube:
        cube.meta()
    first, second = CubeContract.requests
    assert second["at"] - first["at"] >= 0.3
    CubeContract.requests = []
    CubeContract.failures, CubeContract.retry_after = [503], "30"
    started = time.monotonic()
    with client(cube_url, backoff_seconds=0.01, max_backoff_seconds=0.1) as cube:
        cube.meta()
    assert time.monotonic() - started < 10  # not the 30 s asked for


def test_a_server_that_stays_unavailable_is_given_up_after_the_retries(cube_url):
    CubeContract.failures = [503] * 10
    with (
        client(cube_url, retries=2) as cube,
        pytest.raises(CubeUnavailable, match=r"HTTP 503.*gave up after 3 attempts"),
    ):
        cube.load(QUERY)
    assert len(CubeContract.requests) == 3
    CubeContract.failures, CubeContract.requests = [502], []
    with (
        client(cube_url, retries=0) as cube,
        pytest.raises(CubeUnavailable, match=r"HTTP 502.*after 1 attempt\)"),
    ):
        cube.meta()
    assert len(CubeContract.requests) == 1


def test_client_errors_are_not_retried(cube_url):
    with client(cube_url, retries=3) as cube, pytest.raises(CubeApiError, match="HTTP 400"):
        cube.load({"measures": ["customer_360.nope"]})
    assert len(CubeContract.requests) == 1
    CubeContract.requests = []
    forged = signed({"role": "executive"}, "a-different-secret-of-enough-length")
    with (
        CubeClient(cube_url, forged, retries=3, backoff_seconds=0.01) as cube,
        pytest.raises(CubeApiError, match="HTTP 403") as raised,
    ):
        cube.meta()
    assert not isinstance(raised.value, CubeUnavailable | CubeTimeout | CubeUnreachable)


def test_a_read_timeout_is_retried_and_then_reported_as_a_timeout(cube_url):
    CubeContract.delays = [0.6]
    with client(cube_url, timeout_seconds=0.2, retries=1) as cube:
        assert cube.meta()["cubes"][0]["name"] == "customer_360"
    assert len(CubeContract.requests) == 2
    CubeContract.delays, CubeContract.requests = [0.6, 0.6], []
    with (
        client(cube_url, timeout_seconds=0.2, retries=1) as cube,
        pytest.raises(CubeTimeout) as raised,
    ):
        cube.meta()
    message = str(raised.value)
    assert "did not answer within 0.2s (read timeout)" in message
    assert "gave up after 2 attempts" in message and "cannot reach" not in message


def test_no_server_is_reported_as_unreachable_at_once_not_as_a_timeout():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with (
        CubeClient(
            f"http://127.0.0.1:{port}/cubejs-api",
            signed({}),
            retries=3,
            backoff_seconds=5,
            timeout_seconds=2,
        ) as cube,
        pytest.raises(CubeUnreachable, match=r"cannot reach the Cube API") as raised,
    ):
        cube.meta()
    assert time.monotonic() - started < 4  # refused: not retried (a retry waits 5 s)
    assert "attempt" not in str(raised.value) and "timeout" not in str(raised.value)


# ---------------------------------------------------------------- as_of
RELATIVE = {
    "measures": ["customer_360.count"],
    "timeDimensions": [
        {
            "dimension": "customer_360.signup_date",
            "granularity": "day",
            "dateRange": "from 7 days ago to now",
        }
    ],
    "timezone": "America/New_York",
}


def test_relative_ranges_are_resolved_with_as_of_before_they_reach_cube(cube_url):
    as_of = dt.date(2024, 3, 15)
    query = {
        "measures": ["customer_360.count"],
        "timeDimensions": [
            {
                "dimension": "customer_360.signup_date",
                "granularity": "month",
                "dateRange": "last month",
            },
            {"dimension": "customer_360.signup_date", "dateRange": ["2023-01-01", "2023-01-31"]},
        ],
    }
    with client(cube_url, as_of=as_of) as cube:
        cube.load(query)
        cube.sql(RELATIVE)
        normal = cube.dry_run(RELATIVE)["normalizedQueries"][0]
    sent = CubeContract.requests[-1]["query"]
    sent_load = CubeContract.requests[0]["query"]
    assert sent_load["timeDimensions"][0]["dateRange"] == [
        "2024-02-01T00:00:00.000",
        "2024-02-29T23:59:59.999",
    ]
    assert sent_load["timeDimensions"][1]["dateRange"] == ["2023-01-01", "2023-01-31"]
    assert sent["timeDimensions"][0]["dateRange"] == [
        "2024-03-08T00:00:00.000",
        "2024-03-15T23:59:59.999",
    ]
    assert sent["timezone"] == "America/New_York"  # Cube reads the pair in that zone
    assert normal["timeDimensions"][0]["dateRange"] == sent["timeDimensions"][0]["dateRange"]


def test_cube_backend_and_embedded_engine_read_a_relative_range_alike(cube_url):
    as_of = dt.date(2024, 3, 15)
    with client(cube_url, as_of=as_of) as cube:
        cube.dry_run(RELATIVE)
    start, end = CubeContract.requests[-1]["query"]["timeDimensions"][0]["dateRange"]
    engine = Engine(MODEL_PATH, ":memory:", as_of=as_of)
    low, high = engine.compile(RELATIVE, role="executive").params[:2]
    timezone = RELATIVE["timezone"]
    assert local_to_utc(parse_instant(start, end=False), timezone) == low
    assert abs(local_to_utc(parse_instant(end, end=True), timezone) - high) < dt.timedelta(
        milliseconds=1
    )


def test_relative_compare_date_ranges_are_resolved_too(cube_url):
    query = {
        "measures": ["customer_360.count"],
        "timeDimensions": [
            {
                "dimension": "customer_360.signup_date",
                "compareDateRange": ["this week", ["2024-01-01", "2024-01-07"]],
            }
        ],
    }
    with client(cube_url, as_of=dt.date(2024, 3, 13)) as cube:  # a Wednesday
        cube.dry_run(query)
    sent = CubeContract.requests[-1]["query"]["timeDimensions"][0]["compareDateRange"]
    assert sent == [
        ["2024-03-11T00:00:00.000", "2024-03-17T23:59:59.999"],
        ["2024-01-01", "2024-01-07"],
    ]


def test_public_load_passes_as_of_to_the_cube_backend(cube_url, tmp_path, monkeypatch):
    config = write_config(tmp_path, semantic={"backend": "cube", "cube_api_url": cube_url})
    load(
        {
            "measures": ["customer_360.count"],
            "timeDimensions": [
                {"dimension": "customer_360.signup_date", "dateRange": "last 2 days"}
            ],
        },
        settings=load_settings(config),
        token=signed({"role": "executive"}),
        as_of=dt.date(2024, 1, 1),
    )
    sent = CubeContract.requests[-1]["query"]["timeDimensions"][0]["dateRange"]
    assert sent == ["2023-12-30T00:00:00.000", "2023-12-31T23:59:59.999"]


def test_cli_sql_with_the_cube_backend_prints_cubes_own_sql(cube_url, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from semantic.cli import app

    config = write_config(tmp_path, semantic={"backend": "cube", "cube_api_url": cube_url})
    monkeypatch.setenv("CUSTINTEL_CONFIG", str(config))
    monkeypatch.setenv("CUSTINTEL_TOKEN", signed({"role": "executive"}))
    result = CliRunner().invoke(
        app,
        [
            "query",
            "-m",
            "customer_360.count",
            "-t",
            "customer_360.signup_date:month:last 2 months",
            "--sql",
            "--as-of",
            "2024-03-15",
        ],
    )
    assert result.exit_code == 0, result.output
    assert CubeContract.requests[-1]["path"] == "/cubejs-api/v1/sql"
    lines = result.output.splitlines()
    assert lines[0].startswith("SELECT count(*)") and lines[0].endswith("LIMIT 10000;")
    assert lines[1:] == ["-- $1 = '2024-01-01T00:00:00.000'", "-- $2 = '2024-02-29T23:59:59.999'"]
