"""The Cube-compatible REST API of `custintel serve` (semantic/server, reports/serve/app.py)
on the shared generated warehouse, served by uvicorn on 127.0.0.1.

- compatibility: the project's own Cube client (semantic/client.py) pointed at the server
  returns exactly what the embedded engine returns, for every glossary metric of
  semantic/model/README.md by segment and by month, for an executive, an analyst and an
  account manager (row filter);
- wire format as Cube's: numbers as strings, times `YYYY-MM-DDTHH:mm:ss.SSS`, typed
  annotation, normalized query; `/v1/meta`, `/v1/sql`, `/v1/dry-run`;
- "Continue wait" then the result on a later poll;
- auth: no token 401; wrong signature, expired, wrong audience, garbage 403; `Bearer` or bare;
- hostile requests: unknown member, bad JSON, query arrays, SQL in values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import httpx
import pandas as pd
import pytest

from custintel.core.settings import Settings
from reports.serve.app import create_app, served_engine
from semantic.client import CubeClient
from semantic.engine import Engine, SecurityContext
from semantic.errors import CubeApiError, SemanticError
from tests.serve_support import AUDIENCE, SECRET, running, token

ROOT = Path(__file__).resolve().parent.parent
GLOSSARY = ROOT / "semantic" / "model" / "README.md"


def glossary_members() -> list[str]:
    """Every member named in the glossary table (`.x` and a bare `x` continue the previous
    view)."""
    text = GLOSSARY.read_text()
    table = text.split("## Glossary metric", 1)[1].split("\n## ", 1)[0]
    members: list[str] = []
    for line in table.splitlines()[3:]:
        cells = line.split("|")
        if len(cells) < 3:
            continue
        view = None
        for name in re.findall(r"`([a-z_.]+)`", cells[2]):
            if name.startswith(".") and view:
                name = view + name
            elif "." not in name and view:
                name = f"{view}.{name}"
            view = name.split(".", 1)[0]
            members.append(name)
    return list(dict.fromkeys(members))


@dataclass
class Served:
    url: str
    settings: Settings
    engine: Engine

    def client(self, claims: dict, **options) -> CubeClient:
        return CubeClient(f"{self.url}/cubejs-api", token=token(claims), **options)


def _settings(settings: Settings) -> Settings:
    semantic = settings.semantic.model_copy(update={"token_audience": AUDIENCE})
    return settings.model_copy(update={"semantic": semantic})


@pytest.fixture(scope="module")
def served(generated_warehouse, tmp_path_factory) -> Iterator[Served]:
    site = tmp_path_factory.mktemp("served_site")
    (site / "index.html").write_text("<html><body>site</body></html>")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CUBEJS_API_SECRET", SECRET)
        settings = _settings(generated_warehouse.settings)
        engine = served_engine(settings)
        with running(create_app(settings, site_dir=site, engine=engine)) as url:
            yield Served(url, settings, engine)


EXECUTIVE = {"role": "executive"}
ANALYST = {"role": "analyst"}


def _view_time(engine: Engine, view: str) -> str:
    model = engine.model
    for name, member in model.views[view].members.items():
        definition = model.cubes[member.cube].member(member.member)
        if member.kind == "dimension" and getattr(definition, "type", None) == "time":
            return f"{view}.{name}"
    raise AssertionError(f"view {view} has no time dimension")


def _queries(engine: Engine) -> list[dict]:
    queries = []
    for member in glossary_members():
        view = member.split(".", 1)[0]
        queries.append(
            {
                "measures": [member],
                "dimensions": [f"{view}.segment"],
                "order": {f"{view}.segment": "asc"},
            }
        )
        queries.append(
            {
                "measures": [member],
                "timeDimensions": [{"dimension": _view_time(engine, view), "granularity": "month"}],
                "order": [[_view_time(engine, view), "asc"]],
            }
        )
    return queries


def _same(expected: pd.DataFrame, got: pd.DataFrame) -> None:
    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected)
    pd.testing.assert_frame_equal(
        got.reset_index(drop=True),
        expected.reset_index(drop=True),
        check_dtype=False,
        check_exact=False,
        rtol=1e-12,
    )


def test_glossary_parsed() -> None:
    members = glossary_members()
    assert "revenue.revenue" in members and "customer_health.at_risk_rate" in members
    assert "subscriptions.monthly_recurring_charge" in members
    assert len(members) >= 25


@pytest.mark.parametrize("claims", [EXECUTIVE, ANALYST], ids=["executive", "analyst"])
def test_client_equals_engine_for_every_glossary_metric(served: Served, claims: dict) -> None:
    context = SecurityContext(claims=dict(claims))
    with served.client(claims) as client:
        for query in _queries(served.engine):
            expected = served.engine.load(query, context=context)
            assert len(expected) > 0, query
            _same(expected, client.load(query))


def test_get_and_post_agree_and_row_filters_apply(served: Served, generated_warehouse) -> None:
    with duckdb.connect(str(generated_warehouse.settings.warehouse_path), read_only=True) as con:
        manager, n_customers = con.execute(
            "select account_manager_id, count(*) from warehouse.dim_customer "
            "where is_current and customer_status = 'Active' "
            "and account_manager_id is not null group by 1 "
            "order by 2 desc, 1 limit 1"
        ).fetchone()
    claims = {"role": "account_manager", "account_manager_id": manager}
    query = {"measures": ["customer_health.customers"], "dimensions": ["customer_health.segment"]}
    context = SecurityContext(claims=claims)
    expected = served.engine.load(query, context=context)
    with served.client(claims, method="GET") as get, served.client(claims) as post:
        _same(expected, get.load(query))
        _same(expected, post.load(query))
    assert expected["customer_health.customers"].sum() == n_customers


def test_wire_format_is_cubes(served: Served) -> None:
    query = {
        "measures": ["revenue.revenue", "revenue.orders"],
        "timeDimensions": [{"dimension": "revenue.invoice_date", "granularity": "month"}],
        "order": {"revenue.invoice_date": "asc"},
        "limit": 3,
    }
    response = httpx.post(
        f"{served.url}/cubejs-api/v1/load",
        json={"query": query},
        headers={"Authorization": token(EXECUTIVE)},
    )
    assert response.status_code == 200
    body = response.json()
    row = body["data"][0]
    assert isinstance(row["revenue.revenue"], str) and isinstance(row["revenue.orders"], str)
    assert re.fullmatch(r"\d+", row["revenue.orders"])
    assert re.fullmatch(r"\d{4}-\d{2}-01T00:00:00\.000", row["revenue.invoice_date.month"])
    assert row["revenue.invoice_date"] == row["revenue.invoice_date.month"]
    annotation = body["annotation"]
    assert annotation["measures"]["revenue.revenue"]["type"] == "number"
    assert annotation["measures"]["revenue.revenue"]["shortTitle"]
    assert annotation["timeDimensions"]["revenue.invoice_date.month"]["type"] == "time"
    assert annotation["dimensions"] == {} and annotation["segments"] == {}
    assert body["query"]["limit"] == 3 and body["query"]["timezone"] == "UTC"
    assert body["query"]["order"] == [{"id": "revenue.invoice_date", "desc": False}]
    assert len(body["data"]) == 3


def test_meta_sql_and_dry_run(served: Served) -> None:
    headers = {"Authorization": f"Bearer {token(ANALYST)}"}
    meta = httpx.get(f"{served.url}/cubejs-api/v1/meta", headers=headers).json()
    names = {cube["name"] for cube in meta["cubes"]}
    assert {"revenue", "customer_health", "churn"} <= names
    health = next(cube for cube in meta["cubes"] if cube["name"] == "customer_health")
    assert all(cube["type"] == "view" for cube in meta["cubes"])
    assert any(
        m["name"] == "customer_health.customers" and m["type"] == "number"
        for m in health["measures"]
    )
    denied = httpx.get(
        f"{served.url}/cubejs-api/v1/meta", headers={"Authorization": token({"role": "intern"})}
    ).json()
    assert denied["cubes"] == []

    query = {
        "measures": ["revenue.revenue"],
        "filters": [
            {
                "member": "revenue.segment",
                "operator": "equals",
                "values": ["SMB'; drop table x; --"],
            }
        ],
    }
    sql = httpx.get(
        f"{served.url}/cubejs-api/v1/sql", headers=headers, params={"query": json.dumps(query)}
    ).json()["sql"]
    text, params = sql["sql"]
    assert "SMB'; drop" not in text and "SMB'; drop table x; --" in params
    compiled = served.engine.compile(query, context=SecurityContext(claims=ANALYST))
    assert text == compiled.sql
    dry = httpx.post(
        f"{served.url}/cubejs-api/v1/dry-run",
        headers=headers,
        json={"query": {**query, "order": {"revenue.revenue": "desc"}}},
    ).json()
    assert dry["queryType"] == "regularQuery"
    assert dry["normalizedQueries"][0]["measures"] == ["revenue.revenue"]
    assert dry["queryOrder"] == [{"revenue.revenue": "desc"}]


def test_client_sql_and_dry_run_against_the_server(served: Served) -> None:
    query = {
        "measures": ["revenue.revenue"],
        "dimensions": ["revenue.segment"],
        "filters": [{"member": "revenue.segment", "operator": "equals", "values": ["SMB"]}],
        "order": {"revenue.revenue": "desc"},
    }
    compiled = served.engine.compile(query, context=SecurityContext(claims=ANALYST))
    with served.client(ANALYST) as client:
        sql = client.sql(query)
        assert sql.sql == compiled.sql and sql.params == compiled.params
        assert sql.order == {"revenue.revenue": "desc"} and sql.data_source == "default"
        dry = client.dry_run(query)
        assert dry["normalizedQueries"][0]["filters"] == query["filters"]
        with pytest.raises(CubeApiError, match="HTTP 400"):
            client.dry_run({"measures": ["revenue.nope"]})


def test_continue_wait_then_result(generated_warehouse, tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("site")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CUBEJS_API_SECRET", SECRET)
        settings = _settings(generated_warehouse.settings)
        engine = served_engine(settings)
        app = create_app(settings, site_dir=tmp_path, wait_seconds=0.0, engine=engine)
        query = {
            "measures": ["churn.churn_rate"],
            "dimensions": ["churn.segment"],
            "timeDimensions": [{"dimension": "churn.month", "granularity": "month"}],
            "order": [["churn.month", "asc"], ["churn.segment", "asc"]],
        }
        with running(app) as url:
            headers = {"Authorization": token(EXECUTIVE)}
            first = httpx.post(f"{url}/cubejs-api/v1/load", json={"query": query}, headers=headers)
            assert first.status_code == 200 and first.json() == {"error": "Continue wait"}
            for _ in range(200):
                polled = httpx.post(
                    f"{url}/cubejs-api/v1/load", json={"query": query}, headers=headers
                ).json()
                if polled.get("error") != "Continue wait":
                    break
            assert "data" in polled and polled["data"]
            with CubeClient(
                f"{url}/cubejs-api", token=token(EXECUTIVE), poll_interval_seconds=0.01
            ) as client:
                _same(
                    engine.load(query, context=SecurityContext(claims=EXECUTIVE)),
                    client.load(query),
                )


@pytest.mark.parametrize(
    "make_header, status, reason",
    [
        # headers are made when the test runs (a token made at collection could expire before
        # a long suite reaches it, and then fail for the wrong reason)
        (lambda: None, 401, "Authorization header"),
        (
            lambda: token(EXECUTIVE, secret="another-secret-another-secret-0123456789"),
            403,
            "signature",
        ),
        (lambda: token(EXECUTIVE, expires_in=-60), 403, "expired"),
        (lambda: token(EXECUTIVE, audience="someone-else"), 403, "audience"),
        (lambda: "not-a-jwt", 403, "Invalid token"),
        (lambda: "Bearer", 403, "Invalid token"),
        (lambda: f"Bearer {token({'role': 'executive'}, audience=None)}", 403, "no `aud`"),
    ],
    ids=[
        "missing",
        "wrong-signature",
        "expired",
        "wrong-audience",
        "garbage",
        "bare-bearer",
        "no-audience",
    ],
)
def test_auth(
    served: Served, make_header: Callable[[], str | None], status: int, reason: str
) -> None:
    header = make_header()
    headers = {} if header is None else {"Authorization": header}
    for method, path in (("GET", "/v1/meta"), ("POST", "/v1/load"), ("GET", "/v1/sql")):
        response = httpx.request(
            method,
            f"{served.url}/cubejs-api{path}",
            headers=headers,
            json={"query": {"measures": ["revenue.revenue"]}} if method == "POST" else None,
            params={"query": '{"measures": ["revenue.revenue"]}'},
        )
        assert response.status_code == status, (path, response.text)
        assert reason.lower() in response.json()["error"].lower()
        assert "data" not in response.json()


def test_bearer_and_bare_tokens_both_work(served: Served) -> None:
    bare = token(EXECUTIVE)
    for header in (bare, f"Bearer {bare}", f"bearer {bare}"):
        response = httpx.get(f"{served.url}/cubejs-api/v1/meta", headers={"Authorization": header})
        assert response.status_code == 200 and response.json()["cubes"]


@pytest.mark.parametrize(
    "body, message",
    [
        ({"query": {"measures": ["revenue.nope"]}}, "nope"),
        ({"query": [{"measures": ["revenue.revenue"]}]}, "data blending"),
        ({"query": {"measures": ["revenue.revenue"], "limitt": 3}}, "limitt"),
        ({"nothing": 1}, '{"query"'),
        (
            {
                "query": {
                    "measures": ["customer_health.customers"],
                    "filters": [
                        {
                            "member": "customer_health.full_name",
                            "operator": "contains",
                            "values": ["a"],
                        }
                    ],
                }
            },
            None,
        ),
    ],
    ids=["unknown-member", "array", "misspelt-key", "no-query", "masked-filter-ok"],
)
def test_bad_queries_are_400_with_the_reason(
    served: Served, body: dict, message: str | None
) -> None:
    response = httpx.post(
        f"{served.url}/cubejs-api/v1/load", json=body, headers={"Authorization": token(ANALYST)}
    )
    if message is None:
        assert response.status_code == 200
        return
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]


def test_not_json_and_client_error_naming(served: Served) -> None:
    response = httpx.post(
        f"{served.url}/cubejs-api/v1/load",
        content=b"{nope",
        headers={"Authorization": token(ANALYST), "Content-Type": "application/json"},
    )
    assert response.status_code == 400 and "not JSON" in response.json()["error"]
    with served.client(ANALYST) as client, pytest.raises(CubeApiError, match="HTTP 400"):
        client.load({"measures": ["revenue.nope"]})
    with pytest.raises(SemanticError):
        served.engine.load({"measures": ["revenue.nope"]}, context=SecurityContext(claims=ANALYST))
