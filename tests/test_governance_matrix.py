"""Governance matrix: caller x path x member kind, every cell checked against plain SQL.

Callers carry signed JWTs (HS256, audience checked) or none; the paths are the Python API
(`semantic.load`) and the CLI (`custintel metrics query --token`), both in token mode
(`semantic.identity: token`). Member kinds on the fixture model's `customer_360` view: public
(count by segment), masked (e-mail: clear for executives, `***@domain` for analysts),
row-filtered (revenue: account managers see their own customers only) and private (the
`customers` cube is not public). Expected rows come from SQL on the fixture warehouse, not from
the engine. The site build and the metric diff run under a configured role, not a caller's
token: tests/test_reports_governance.py and tests/test_semantic_diff.py cover them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import duckdb
import jwt
import pandas as pd
import pytest
from typer.testing import CliRunner

from custintel.core.settings import Settings, load_settings
from semantic import load
from semantic.cli import app
from semantic.errors import SemanticError
from semantic.identity import (
    BadSignature,
    ExpiredToken,
    MissingToken,
    RoleMismatch,
    Verifier,
    WrongAudience,
    verify_token,
)
from tests.conftest import write_config
from tests.semantic_support import MODEL_PATH, build_warehouse

SECRET = "matrix-secret-0123456789abcdef0123456789"
AUDIENCE = "custintel-tests"
V = "customer_360"
OWN = "am_2"

#: caller -> (claims or None for no token, how the token is spoiled)
CALLERS: dict[str, tuple[dict[str, Any] | None, str | None]] = {
    "no_token": (None, None),
    "expired": ({"role": "executive"}, "expired"),
    "wrong_signature": ({"role": "executive"}, "signature"),
    "wrong_audience": ({"role": "executive"}, "audience"),
    "analyst": ({"role": "analyst"}, None),
    "account_manager_own": ({"role": "account_manager", "account_manager_id": OWN}, None),
    "account_manager_null_id": ({"role": "account_manager", "account_manager_id": None}, None),
    "account_manager_empty_list": ({"role": "account_manager", "account_manager_id": []}, None),
    "analyst_and_account_manager": (
        {"roles": ["analyst", "account_manager"], "account_manager_id": OWN},
        None,
    ),
    "executive": ({"role": "executive"}, None),
}
#: callers that get no data at all, and the error each path must name
REFUSED = {
    "no_token": (MissingToken, "no token"),
    "expired": (ExpiredToken, "expired"),
    "wrong_signature": (BadSignature, "signature"),
    "wrong_audience": (WrongAudience, "audience"),
    "account_manager_null_id": (SemanticError, "account_manager_id.*fails closed"),
    "account_manager_empty_list": (SemanticError, "account_manager_id.*empty list"),
}
QUERIES = {
    "public": {"measures": [f"{V}.count"], "dimensions": [f"{V}.segment"]},
    "masked": {"dimensions": [f"{V}.customer_id", f"{V}.email"]},
    "row_filtered": {"measures": [f"{V}.revenue"]},
    "private": {"dimensions": ["customers.email"]},
}
CLI_ARGS = {
    "public": ["-m", f"{V}.count", "-d", f"{V}.segment"],
    "masked": ["-d", f"{V}.customer_id", "-d", f"{V}.email"],
    "row_filtered": ["-m", f"{V}.revenue"],
    "private": ["-d", "customers.email"],
}


def token_for(caller: str) -> str | None:
    claims, spoil = CALLERS[caller]
    if claims is None:
        return None
    now = int(time.time())
    body = {**claims, "aud": AUDIENCE, "iat": now, "exp": now + 600}
    if spoil == "expired":
        body["exp"] = now - 60
    if spoil == "audience":
        body["aud"] = "another-service"
    secret = "another-secret-0123456789abcdef012345" if spoil == "signature" else SECRET
    return jwt.encode(body, secret, algorithm="HS256")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("matrix")
    config = write_config(
        root,
        semantic={"model_path": str(MODEL_PATH), "identity": "token", "token_audience": AUDIENCE},
    )
    build_warehouse(root / "warehouse" / "novacom.duckdb")
    return {"config": config, "settings": load_settings(config)}


@pytest.fixture(autouse=True)
def environment(project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTINTEL_CONFIG", str(project["config"]))
    monkeypatch.setenv("CUBEJS_API_SECRET", SECRET)
    monkeypatch.delenv("CUSTINTEL_TOKEN", raising=False)


# -- expected values, by plain SQL on the fixture warehouse ---------------------------------


def sql(settings: Settings, text: str) -> pd.DataFrame:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(text).df()


def visible(caller: str) -> str:
    """The customers a caller may see, as a SQL condition on marts.fixture_customers `c`."""
    return f"c.account_manager_id = '{OWN}'" if caller == "account_manager_own" else "true"


def email_shown(caller: str) -> str:
    masked = "'***@' || split_part(c.email, '@', 2)"
    if caller in ("executive", "account_manager_own"):
        return "c.email"
    if caller == "analyst_and_account_manager":  # clear only on their own customers' rows
        return f"case when c.account_manager_id = '{OWN}' then c.email else {masked} end"
    return masked


def expected(settings: Settings, caller: str, kind: str) -> pd.DataFrame:
    where = visible(caller)
    if kind == "public":
        return sql(
            settings,
            f"""select c.segment as "{V}.segment", count(*) as "{V}.count"
            from marts.fixture_customers c where {where} group by 1""",
        )
    if kind == "masked":
        return sql(
            settings,
            f"""select c.customer_id as "{V}.customer_id",
            {email_shown(caller)} as "{V}.email" from marts.fixture_customers c where {where}""",
        )
    return sql(
        settings,
        f"""select sum(o.amount - o.discount_amount) as "{V}.revenue"
        from marts.fixture_customers c join warehouse.fact_order o using (customer_id)
        where {where}""",
    )


def same_rows(actual: pd.DataFrame, wanted: pd.DataFrame) -> None:
    def rows(frame: pd.DataFrame) -> list[tuple]:
        frame = frame[sorted(frame.columns)]
        values = [
            tuple(round(v, 6) if isinstance(v, float) else v for v in row)
            for row in frame.itertuples(index=False)
        ]
        return sorted(values, key=str)

    assert sorted(actual.columns) == sorted(wanted.columns)
    assert rows(actual) == rows(wanted)
    assert len(actual) > 0


# -- the paths --------------------------------------------------------------------------------


def via_api(settings: Settings, caller: str, kind: str) -> pd.DataFrame:
    return load(QUERIES[kind], settings=settings, token=token_for(caller))


def via_cli(settings: Settings, caller: str, kind: str) -> pd.DataFrame:
    token = token_for(caller)
    args = ["query", *CLI_ARGS[kind], "--format", "json", "--limit", "1000"]
    if token is not None:
        args += ["--token", token]
    result = CliRunner().invoke(app, args)
    if result.exit_code != 0:
        raise SemanticError(" ".join((result.stderr or result.output).split()))  # unwrapped
    return pd.DataFrame(json.loads(result.stdout))


PATHS = {"api": via_api, "cli": via_cli}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("kind", QUERIES)
@pytest.mark.parametrize("caller", CALLERS)
def test_cell(project, caller: str, kind: str, path: str) -> None:
    settings = project["settings"]
    run = PATHS[path]
    identity_refused = caller in REFUSED and caller.startswith(("no_", "expired", "wrong_"))
    if kind == "private" and not identity_refused:
        # cubes behind views are not public: nobody queries them directly, whatever the role
        with pytest.raises(SemanticError, match="'customers.email' is not public"):
            run(settings, caller, kind)
        return
    if caller in REFUSED:
        error, message = REFUSED[caller]
        with pytest.raises(SemanticError if path == "cli" else error, match=message):
            run(settings, caller, kind)
        return
    same_rows(run(settings, caller, kind), expected(settings, caller, kind))


def test_analyst_and_account_manager_sees_pii_only_on_own_rows(project) -> None:
    """Per-row masking (Cube PR 10803): every row visible, e-mail clear only on own rows."""
    frame = via_api(project["settings"], "analyst_and_account_manager", "masked")
    customers = sql(
        project["settings"],
        "select customer_id, email, account_manager_id from marts.fixture_customers",
    )
    shown = dict(zip(frame[f"{V}.customer_id"], frame[f"{V}.email"], strict=True))
    own = customers[customers.account_manager_id == OWN]
    others = customers[customers.account_manager_id != OWN]
    assert len(shown) == len(customers)
    assert all(shown[row.customer_id] == row.email for row in own.itertuples())
    assert all(
        shown[row.customer_id] != row.email and shown[row.customer_id].startswith("***@")
        for row in others.itertuples()
    )


# -- role arguments never override the token ----------------------------------------------------


def test_role_that_disagrees_with_the_token_is_an_error(project) -> None:
    settings = project["settings"]
    with pytest.raises(RoleMismatch, match="role 'executive' is not in the token"):
        load(QUERIES["masked"], role="executive", settings=settings, token=token_for("analyst"))
    with pytest.raises(RoleMismatch, match="account_manager_id"):
        load(
            QUERIES["row_filtered"],
            settings=settings,
            token=token_for("account_manager_own"),
            security_context={"account_manager_id": "am_1"},
        )
    with pytest.raises(RoleMismatch, match="roles"):
        load(
            QUERIES["masked"],
            settings=settings,
            token=token_for("analyst"),
            security_context={"roles": ["executive"]},
        )
    result = CliRunner().invoke(
        app, ["query", *CLI_ARGS["masked"], "--role", "executive", "--token", token_for("analyst")]
    )
    assert result.exit_code == 1 and "is not in the token" in result.stderr


def test_role_may_narrow_a_multi_role_token(project) -> None:
    """Narrowed to analyst, the two-role caller sees every e-mail masked."""
    settings = project["settings"]
    frame = load(
        QUERIES["masked"],
        role="analyst",
        settings=settings,
        token=token_for("analyst_and_account_manager"),
    )
    same_rows(frame, expected(settings, "analyst", "masked"))


def test_token_from_the_environment(project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTINTEL_TOKEN", token_for("account_manager_own"))
    settings = project["settings"]
    same_rows(
        load(QUERIES["row_filtered"], settings=settings),
        expected(settings, "account_manager_own", "row_filtered"),
    )


# -- owner mode (the default): declared roles, same rules ----------------------------------------


@pytest.fixture
def owner_settings(project) -> Settings:
    return project["settings"].model_copy(
        update={"semantic": project["settings"].semantic.model_copy(update={"identity": "owner"})}
    )


def test_owner_mode_role_never_overridden_by_a_roles_claim(owner_settings) -> None:
    with pytest.raises(SemanticError, match="disagrees"):
        load(
            {"dimensions": [f"{V}.full_name"]},
            role="analyst",
            settings=owner_settings,
            security_context={"roles": ["executive"]},
        )


@pytest.mark.parametrize("claim", [None, [], "", [None]])
def test_owner_mode_row_filter_fails_closed(owner_settings, claim) -> None:
    with pytest.raises(SemanticError, match="fails closed"):
        load(
            QUERIES["masked"],
            role="account_manager",
            settings=owner_settings,
            security_context={"account_manager_id": claim},
        )


def test_owner_mode_token_is_still_verified(owner_settings) -> None:
    with pytest.raises(BadSignature):
        load(QUERIES["public"], settings=owner_settings, token=token_for("wrong_signature"))


# -- the verifier on its own (reused by a server) ------------------------------------------------


def test_verifier_errors_are_distinct_and_rs256_works(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    verifier = Verifier(algorithm="RS256", public_key=pem, audience=AUDIENCE)
    good = jwt.encode(
        {"role": "analyst", "aud": AUDIENCE, "exp": int(time.time()) + 60}, key, algorithm="RS256"
    )
    assert verify_token(good, verifier)["role"] == "analyst"
    # an HS256 token signed with the public key as secret (algorithm confusion) is refused
    confused = jwt.encode(
        {"role": "executive", "aud": AUDIENCE, "exp": int(time.time()) + 60},
        "x" * 32,
        algorithm="HS256",
    )
    with pytest.raises(SemanticError, match="not signed with RS256"):
        verify_token(confused, verifier)
    unsigned = jwt.encode(
        {"role": "executive", "aud": AUDIENCE, "exp": int(time.time()) + 60}, None, algorithm="none"
    )
    with pytest.raises(SemanticError):
        verify_token(unsigned, verifier)
    no_expiry = jwt.encode({"role": "analyst", "aud": AUDIENCE}, key, algorithm="RS256")
    with pytest.raises(SemanticError, match="`exp`"):
        verify_token(no_expiry, verifier)
    with pytest.raises(MissingToken):
        verify_token("  ", verifier)
