"""Cube REST client against a local HTTP server speaking Cube's documented /v1 contract.

The server does not compute anything: it checks the JWT, answers the first /v1/load with
`{"error": "Continue wait"}` (HTTP 200, as Cube does while a query runs) and then returns a
canned response in Cube's format (numbers as strings, `annotation` with member types).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import jwt
import pandas as pd
import pytest

from custintel.settings import load_settings
from semantic import load
from semantic.client import CubeClient
from semantic.errors import CubeApiError, SemanticError
from tests.conftest import write_config

SECRET = "test-secret-for-the-local-cube-contract"
QUERY = {
    "measures": ["customer_360.revenue", "customer_360.count"],
    "dimensions": ["customer_360.segment", "customer_360.is_active"],
    "timeDimensions": [{"dimension": "customer_360.signup_date", "granularity": "month",
                        "dateRange": ["2024-01-01", "2024-02-29"]}],
}
ROWS = [
    {"customer_360.segment": "SMB", "customer_360.is_active": "true",
     "customer_360.signup_date.month": "2024-01-01T00:00:00.000",
     "customer_360.signup_date": "2024-01-01T00:00:00.000",
     "customer_360.revenue": "1234.50", "customer_360.count": "12"},
    {"customer_360.segment": "Enterprise", "customer_360.is_active": "false",
     "customer_360.signup_date.month": "2024-02-01T00:00:00.000",
     "customer_360.signup_date": "2024-02-01T00:00:00.000",
     "customer_360.revenue": "99", "customer_360.count": "3"},
]
ANNOTATION = {
    "measures": {"customer_360.revenue": {"title": "Revenue", "type": "number"},
                 "customer_360.count": {"title": "Count", "type": "number"}},
    "dimensions": {"customer_360.segment": {"title": "Segment", "type": "string"},
                   "customer_360.is_active": {"title": "Is Active", "type": "boolean"}},
    "segments": {},
    "timeDimensions": {"customer_360.signup_date.month": {"title": "Signup", "type": "time"},
                       "customer_360.signup_date": {"title": "Signup", "type": "time"}},
}


class CubeContract(BaseHTTPRequestHandler):
    """Cube's REST API surface for the client: /v1/load (with Continue wait) and /v1/meta."""

    requests: list[dict[str, Any]] = []
    pending: set[str] = set()

    def log_message(self, *args: Any) -> None:  # keep pytest output clean
        pass

    def _reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _claims(self) -> dict[str, Any] | None:
        try:
            return jwt.decode(self.headers.get("Authorization", ""), SECRET, algorithms=["HS256"])
        except jwt.PyJWTError:
            self._reply(403, {"error": "Invalid token"})
            return None

    def _load(self, query: dict[str, Any], claims: dict[str, Any]) -> None:
        self.requests.append({"query": query, "claims": claims, "method": self.command,
                              "request_id": self.headers.get("x-request-id")})
        if "customer_360.nope" in query.get("measures", []):
            self._reply(400, {"error": "'nope' not found for path 'customer_360.nope'"})
            return
        key = json.dumps(query, sort_keys=True)
        if key not in self.pending:
            self.pending.add(key)
            self._reply(200, {"error": "Continue wait"})
            return
        self.pending.discard(key)
        self._reply(200, {"query": query, "data": ROWS, "annotation": ANNOTATION,
                          "lastRefreshTime": "2024-06-30T00:00:00.000Z"})

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        claims = self._claims()
        if claims is None:
            return
        url = urlparse(self.path)
        if url.path == "/cubejs-api/v1/meta":
            self._reply(200, {"cubes": [{"name": "customer_360", "type": "view",
                                         "measures": [{"name": "customer_360.revenue"}]}]})
        elif url.path == "/cubejs-api/v1/load":
            self._load(json.loads(parse_qs(url.query)["query"][0]), claims)
        else:
            self._reply(404, {"error": "not found"})

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        claims = self._claims()
        if claims is None:
            return
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if urlparse(self.path).path != "/cubejs-api/v1/load":
            self._reply(404, {"error": "not found"})
            return
        self._load(body["query"], claims)


@pytest.fixture
def cube_url() -> Iterator[str]:
    CubeContract.requests = []
    CubeContract.pending = set()
    server = ThreadingHTTPServer(("127.0.0.1", 0), CubeContract)
    server.timeout = 5
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
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
    return CubeClient(url, signed(claims or {"role": "executive"}), poll_interval_seconds=0.01,
                      max_wait_seconds=5, timeout_seconds=5, **options)


def test_load_waits_through_continue_wait_and_types_columns(cube_url):
    with client(cube_url, {"role": "account_manager", "account_manager_id": "am_1"}) as cube:
        frame = cube.load(QUERY)
    assert len(CubeContract.requests) == 2  # 'Continue wait', then the result
    first, second = CubeContract.requests
    assert first["request_id"].endswith("-span-1") and second["request_id"].endswith("-span-2")
    assert first["request_id"].rsplit("-span-", 1)[0] == second["request_id"].rsplit("-span-",
                                                                                        1)[0]
    assert second["claims"]["role"] == "account_manager"
    assert second["claims"]["account_manager_id"] == "am_1"
    assert second["query"]["timeDimensions"][0]["dateRange"] == ["2024-01-01", "2024-02-29"]
    assert list(frame.columns) == ["customer_360.segment", "customer_360.is_active",
                                   "customer_360.signup_date.month", "customer_360.revenue",
                                   "customer_360.count"]
    assert frame["customer_360.revenue"].tolist() == [1234.5, 99.0]
    assert frame["customer_360.count"].tolist() == [12, 3]
    assert pd.api.types.is_integer_dtype(frame["customer_360.count"])
    assert frame["customer_360.is_active"].tolist() == [True, False]
    assert frame["customer_360.signup_date.month"].tolist() == [pd.Timestamp("2024-01-01"),
                                                                pd.Timestamp("2024-02-01")]


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
    with CubeClient(cube_url, forged, timeout_seconds=5) as cube, \
            pytest.raises(CubeApiError, match="HTTP 403.*Invalid token"):
        cube.meta()


def test_continue_wait_gives_up_after_max_wait(cube_url):
    class AlwaysWaiting(CubeClient):
        def _send(self, path, headers, query):  # the server never finishes
            return {"error": "Continue wait"}

    with AlwaysWaiting(cube_url, signed({}), max_wait_seconds=0.05, poll_interval_seconds=0.01
                       ) as cube, pytest.raises(CubeApiError, match="Continue wait"):
        cube.load({"measures": ["customer_360.count"]})


def test_public_load_uses_cube_backend_from_config(cube_url, tmp_path, monkeypatch):
    config = write_config(tmp_path, semantic={"backend": "cube", "cube_api_url": cube_url})
    monkeypatch.delenv("CUBEJS_API_SECRET", raising=False)  # the client never needs it
    token = signed({"role": "executive"})
    frame = load({"measures": ["customer_360.count"]}, role="executive",
                 settings=load_settings(config), token=token)
    assert frame["customer_360.count"].tolist() == [12, 3]
    assert CubeContract.requests[-1]["claims"]["role"] == "executive"
    with pytest.raises(SemanticError, match="role 'analyst' disagrees with the token"):
        load({"measures": ["customer_360.count"]}, role="analyst",
             settings=load_settings(config), token=token)
    monkeypatch.delenv("CUSTINTEL_TOKEN", raising=False)
    with pytest.raises(SemanticError, match="needs the caller's token"):
        load({"measures": ["customer_360.count"]}, settings=load_settings(config))


def test_missing_token_is_a_clear_error(cube_url):
    with CubeClient(cube_url) as cube, pytest.raises(CubeApiError, match="no token"):
        cube.meta()
