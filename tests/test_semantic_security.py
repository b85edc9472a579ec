"""Access policies: row-level filters and member masking by role, as the fixture model declares."""

from __future__ import annotations

import pandas as pd
import pytest

from semantic.definitions import AccessPolicy, PolicyFilter
from semantic.engine import Engine
from semantic.engine.security import SecurityContext, applicable, row_filters
from semantic.errors import AccessDenied
from tests.semantic_support import AS_OF, MODEL_PATH, build_warehouse, fixture_frames

V = "customer_360"
PII_QUERY = {
    "dimensions": [f"{V}.customer_id", f"{V}.full_name", f"{V}.email", f"{V}.phone"],
    "order": {f"{V}.customer_id": "asc"},
}


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return fixture_frames()


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, frames) -> Engine:
    path = build_warehouse(tmp_path_factory.mktemp("security") / "w.duckdb", frames)
    return Engine(MODEL_PATH, path, as_of=AS_OF)


def test_executive_sees_every_row_and_real_pii(engine, frames):
    result = engine.load(PII_QUERY, role="executive")
    customers = frames["customers"].sort_values("customer_id")
    assert result[f"{V}.email"].tolist() == customers.email.tolist()
    assert result[f"{V}.full_name"].tolist() == customers.full_name.tolist()


def test_analyst_sees_masked_pii_with_each_members_mask(engine, frames):
    result = engine.load(PII_QUERY, role="analyst")
    customers = frames["customers"].sort_values("customer_id")
    domains = customers.email.str.split("@").str[1]
    assert result[f"{V}.email"].tolist() == ("***@" + domains).tolist()  # mask sql
    assert set(result[f"{V}.phone"]) == {"XXX-XXX"}  # static mask
    assert result[f"{V}.full_name"].isna().all()  # no mask defined: NULL
    assert result[f"{V}.customer_id"].tolist() == customers.customer_id.tolist()


def test_analyst_filters_see_the_masked_value_only(engine, frames):
    real_email = frames["customers"].email.iloc[0]
    query = {
        "measures": [f"{V}.count"],
        "filters": [{"member": f"{V}.email", "operator": "equals", "values": [real_email]}],
    }
    assert engine.load(query, role="executive")[f"{V}.count"].tolist() == [1]
    assert engine.load(query, role="analyst")[f"{V}.count"].tolist() == [0]


def test_account_manager_sees_only_own_customers_unmasked(engine, frames):
    result = engine.load(
        {"measures": [f"{V}.count", f"{V}.revenue", f"{V}.ticket_count"]},
        role="account_manager",
        security_context={"account_manager_id": "am_2"},
    )
    customers = frames["customers"]
    own = customers[customers.account_manager_id == "am_2"]
    orders = frames["orders"][frames["orders"].customer_id.isin(own.customer_id)]
    tickets = frames["tickets"][frames["tickets"].customer_id.isin(own.customer_id)]
    assert result[f"{V}.count"].tolist() == [len(own)]
    assert result[f"{V}.revenue"].iloc[0] == pytest.approx(
        (orders.amount - orders.discount_amount).sum()
    )
    assert result[f"{V}.ticket_count"].tolist() == [len(tickets)]
    emails = engine.load(
        PII_QUERY, role="account_manager", security_context={"account_manager_id": "am_2"}
    )
    assert sorted(emails[f"{V}.email"]) == sorted(own.email)


def test_row_filter_value_from_context_is_data_not_sql(engine):
    result = engine.load(
        {"measures": [f"{V}.count"]},
        role="account_manager",
        security_context={"account_manager_id": "am_1' OR '1'='1"},
    )
    assert result[f"{V}.count"].tolist() == [0]


def test_account_manager_without_id_is_refused(engine):
    with pytest.raises(AccessDenied, match="account_manager_id"):
        engine.load({"measures": [f"{V}.count"]}, role="account_manager")


def test_unknown_or_missing_role_is_refused(engine):
    with pytest.raises(AccessDenied, match="no access policy applies"):
        engine.load({"measures": [f"{V}.count"]})
    with pytest.raises(AccessDenied, match="intern"):
        engine.load({"measures": [f"{V}.count"]}, role="intern")


def test_member_level_includes_deny_other_members(engine, frames):
    allowed = engine.load(
        {"measures": [f"{V}.count"], "dimensions": [f"{V}.segment"]}, role="marketing"
    )
    assert allowed[f"{V}.count"].sum() == len(frames["customers"])
    with pytest.raises(AccessDenied, match=r"may not query 'customer_360\.revenue'"):
        engine.load({"measures": [f"{V}.revenue"]}, role="marketing")
    with pytest.raises(AccessDenied, match="email"):
        engine.load(
            {"measures": [f"{V}.count"], "filters": [{"member": f"{V}.email", "operator": "set"}]},
            role="marketing",
        )


def test_roles_list_in_context_unions_policies(engine, frames):
    result = engine.load(PII_QUERY, security_context={"roles": ["marketing", "executive"]})
    customers = frames["customers"].sort_values("customer_id")
    assert result[f"{V}.email"].tolist() == customers.email.tolist()  # executive: unmasked


def test_negated_condition_applies_only_to_callers_without_the_claim():
    own_rows = (
        PolicyFilter(
            member="account_manager_id",
            operator="equals",
            values=("{ securityContext.account_manager_id }",),
        ),
    )
    policies = [
        AccessPolicy(roles=("account_manager",), row_filters=own_rows, index=0),
        AccessPolicy(roles=("*",), conditions=("{ not securityContext.role }",), index=1),
    ]
    anonymous = SecurityContext.build(None, {})
    manager = SecurityContext.build("account_manager", {"account_manager_id": "am_1"})
    assert [p.index for p in applicable(policies, anonymous, "view v")] == [1]
    assert row_filters(policies, anonymous, "view v") is None  # every row
    # the '*' policy does not apply to the manager, so it cannot widen their rows
    assert [p.index for p in applicable(policies, manager, "view v")] == [0]
    assert row_filters(policies, manager, "view v") == [own_rows]
    with pytest.raises(AccessDenied, match="intern"):
        applicable(policies, SecurityContext.build("intern", {}), "view v")
