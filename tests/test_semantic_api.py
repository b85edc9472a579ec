"""The public API: `from semantic import load, compile_query, catalog, Query`."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest

from custintel.core.settings import load_settings
from semantic import CubeApiError, Query, catalog, compile_query, load
from tests.conftest import write_config
from tests.semantic_support import AS_OF, MODEL_PATH, build_warehouse, fixture_frames


@pytest.fixture
def settings_path(tmp_path: Path) -> Path:
    config = write_config(tmp_path, semantic={"model_path": str(MODEL_PATH)})
    build_warehouse(tmp_path / "warehouse" / "novacom.duckdb")
    return config


def test_load_runs_embedded_by_default(settings_path):
    query = Query(measures=["customer_360.count"], dimensions=["customer_360.status"])
    frame = load(query, role="executive", settings=load_settings(settings_path))
    customers = fixture_frames()["customers"]
    assert (
        dict(zip(frame["customer_360.status"], frame["customer_360.count"], strict=True))
        == customers.groupby("status").size().to_dict()
    )


def test_backend_follows_environment_override(settings_path, monkeypatch):
    monkeypatch.setenv("CUSTINTEL_SEMANTIC__BACKEND", "cube")
    monkeypatch.setenv("CUSTINTEL_SEMANTIC__CUBE_API_URL", "http://127.0.0.1:9/cubejs-api")
    monkeypatch.setenv("CUSTINTEL_TOKEN", jwt.encode({"role": "analyst"}, "k" * 32))
    with pytest.raises(CubeApiError, match="cannot reach the Cube API"):
        load({"measures": ["customer_360.count"]}, settings=load_settings(settings_path))


def test_compile_query_and_catalog(settings_path):
    settings = load_settings(settings_path)
    compiled = compile_query(
        {
            "measures": ["customer_360.count"],
            "timeDimensions": [
                {"dimension": "customer_360.signup_date", "dateRange": "last month"}
            ],
        },
        role="executive",
        settings=settings,
        as_of=AS_OF,
    )
    assert [p.isoformat() for p in compiled.params] == [
        "2024-05-01T00:00:00",
        "2024-05-31T23:59:59.999999",
    ]
    names = {entry.name for entry in catalog(settings)}
    assert {"customer_360.revenue", "order_lines.customers_count"} <= names
    assert not any(name.startswith("customers.") for name in names)  # cubes are private


def test_a_session_runs_every_query_on_the_connection_it_is_handed(settings_path):
    import duckdb

    import semantic

    settings = load_settings(settings_path)
    opened: list[duckdb.DuckDBPyConnection] = []
    connection = duckdb.connect(str(settings.warehouse_path), read_only=True)

    def handed() -> duckdb.DuckDBPyConnection:
        opened.append(connection)
        return connection

    session = semantic.session(settings, as_of=AS_OF, connection=handed)
    query = {"measures": ["customer_360.count"], "dimensions": ["customer_360.segment"]}
    first = session.load(query, role="executive")
    again = session.load(query, context=semantic.SecurityContext(claims={"role": "executive"}))
    customers = fixture_frames()["customers"]
    expected = customers.groupby("segment").size().to_dict()
    for frame in (first, again):
        assert (
            dict(zip(frame["customer_360.segment"], frame["customer_360.count"], strict=True))
            == expected
        )
    assert len(opened) == 2 and session._engine is not None  # one engine, one connection
    connection.close()
    assert session.cube_tables() == {
        "customers": "marts.fixture_customers",
        "orders": "warehouse.fact_order",
        "tickets": "warehouse.fact_support_ticket",
        "activity": "warehouse.fact_activity",
    }
    assert {e.name for e in session.catalog()} == {e.name for e in catalog(settings)}


def test_a_session_tells_who_sees_a_member_in_clear(settings_path):
    import semantic

    session = semantic.session(load_settings(settings_path))

    def caller(role: str) -> semantic.SecurityContext:
        return semantic.SecurityContext(claims={"role": role})

    assert session.sees_plain("customer_360", "full_name", caller("executive"))
    assert not session.sees_plain("customer_360", "full_name", caller("analyst"))  # masked
    assert not session.sees_plain("customer_360", "full_name", caller("marketing"))  # denied
    assert not session.sees_plain("no_such_view", "full_name", caller("executive"))


def test_a_callers_context_needs_the_embedded_engine(settings_path, monkeypatch):
    import semantic

    monkeypatch.setenv("CUSTINTEL_SEMANTIC__BACKEND", "cube")
    session = semantic.session(load_settings(settings_path))
    with pytest.raises(ValueError, match="needs the embedded engine on DuckDB"):
        session.load(
            {"measures": ["customer_360.count"]},
            context=semantic.SecurityContext(claims={"role": "executive"}),
        )
