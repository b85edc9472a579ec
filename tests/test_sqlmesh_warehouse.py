"""Dimensions and facts: SCD type 2 history, standardised values, derived amounts, column names."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from tests.sqlmesh_fixtures import Build, base_build, planted_rejections, query


def _names(text: str) -> list[str]:
    return text.split()


#: the public columns of every dimension and fact (the marts build on these names)
COLUMNS = {
    "dim_customer": _names(
        "customer_version_id customer_id account_manager_id customer_name email phone "
        "customer_segment customer_tier customer_status city state country region signup_date "
        "contract_end_date has_marketing_consent valid_from valid_to is_current "
        "version_number"
    ),
    "dim_account_manager": _names("account_manager_id account_manager_name email region"),
    "dim_opportunity": _names(
        "opportunity_id customer_id account_manager_id opportunity_name opportunity_type "
        "opportunity_stage opportunity_amount close_probability weighted_amount created_date "
        "close_date is_closed is_won"
    ),
    "dim_campaign": _names(
        "campaign_id campaign_name campaign_type campaign_objective target_audience "
        "budget_amount start_date end_date duration_days"
    ),
    "dim_support_ticket": _names(
        "ticket_id customer_id kb_article_id ticket_priority ticket_status contact_channel "
        "ticket_category is_escalated created_at resolved_at"
    ),
    "dim_service": _names(
        "service_id service_name service_type monthly_cost_amount is_active launched_date"
    ),
    "dim_kb_article": _names(
        "kb_article_id article_title article_category version_number article_author "
        "published_at updated_at"
    ),
    "fact_invoice": _names(
        "invoice_id customer_id invoice_date billing_period_start_date "
        "billing_period_end_date payment_status is_paid gross_amount credit_amount "
        "discount_amount discount_end_date revenue_amount"
    ),
    "fact_order": _names(
        "order_id customer_id ordered_at ordered_date order_type product_name order_status "
        "quantity gross_amount discount_amount net_amount is_discounted"
    ),
    "fact_service_assignment": _names(
        "service_assignment_id customer_id service_id start_date end_date "
        "monthly_charge_amount is_active"
    ),
    "fact_support_ticket": _names(
        "ticket_id customer_id kb_article_id created_at created_date resolved_at is_resolved "
        "resolution_hours is_escalated is_first_contact_resolution satisfaction_score "
        "has_satisfaction_score"
    ),
    "fact_campaign_target": _names(
        "campaign_target_id campaign_id customer_id targeted_at targeted_date responded_at "
        "response_type has_responded is_converted attributed_revenue_amount"
    ),
    "fact_network_usage": _names(
        "customer_id service_id usage_date data_volume_mb voice_minutes session_count "
        "outage_minutes has_outage"
    ),
    "fact_kb_article_view": _names(
        "kb_article_view_id kb_article_id customer_id viewed_at viewed_date"
    ),
}


@pytest.fixture(scope="module")
def build(shared_root: Path) -> Build:
    return base_build(shared_root)


def _valid(build: Build, table: str) -> pd.DataFrame:
    planted = planted_rejections(months=2)
    rows = [
        row
        for number, row in enumerate(build.rows[table], start=1)
        if (table, number) not in planted
    ]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("model", sorted(COLUMNS))
def test_model_exposes_the_documented_columns(build: Build, model: str) -> None:
    columns = query(
        build.settings,
        "select column_name from information_schema.columns "
        f"where table_schema = 'warehouse' and table_name = '{model}' order by ordinal_position",
    )
    assert [name for (name,) in columns] == COLUMNS[model]


def test_customer_whose_tier_changed_twice_has_three_versions(build: Build) -> None:
    rows = query(
        build.settings,
        "select customer_tier, valid_from, valid_to, is_current, version_number "
        "from warehouse.dim_customer where customer_id = 'C001' order by valid_from",
    )
    changes = [row for row in build.rows["crm__customers"] if row["customer_id"] == "C001"]
    stamps = [row["updated_at"] for row in changes]
    assert rows == [
        ("Bronze", stamps[0], stamps[1], False, 1),
        ("Silver", stamps[1], stamps[2], False, 2),
        ("Gold", stamps[2], None, True, 3),
    ]


def test_history_keeps_one_current_version_per_valid_customer(build: Build) -> None:
    rows = query(
        build.settings,
        "select customer_id, count(*) filter (where is_current), count(*) "
        "from warehouse.dim_customer group by customer_id order by customer_id",
    )
    valid = _valid(build, "crm__customers")
    valid = valid[valid["account_manager_id"].isna() | (valid["account_manager_id"] != "AM99")]
    expected = [
        (customer_id, 1, count)
        for customer_id, count in valid.groupby("customer_id").size().sort_index().items()
    ]
    assert rows == expected


def test_spelling_variants_are_standardised(build: Build) -> None:
    customer = query(
        build.settings,
        "select customer_segment, customer_tier from warehouse.dim_customer "
        "where customer_id = 'C002'",
    )
    manager = query(
        build.settings,
        "select account_manager_name, email, region from warehouse.dim_account_manager "
        "where account_manager_id = 'AM02'",
    )
    campaign = query(
        build.settings,
        "select campaign_type, campaign_objective from warehouse.dim_campaign "
        "where campaign_id = 'K2'",
    )
    assert customer == [("SMB", "Platinum")]  # landed as 'smb', 'PLATINUM'
    assert manager == [("Bob South", "bob@novacom.example", "South")]  # ' Bob South ', 'south '
    assert campaign == [("Email", "Win-back")]  # 'email', 'win back'


def test_invoice_revenue_is_gross_minus_credit_minus_discount(build: Build) -> None:
    invoices = _valid(build, "billing__invoices")
    invoices = invoices[invoices["customer_id"] != "C005"]
    expected = invoices["gross_amount"] - invoices["credit_amount"] - invoices["discount_amount"]
    rows = query(build.settings, "select sum(revenue_amount), count(*) from warehouse.fact_invoice")
    assert rows == [(pytest.approx(expected.sum()), len(invoices))]


def test_order_net_amount_is_gross_minus_discount(build: Build) -> None:
    orders = _valid(build, "billing__orders").set_index("order_id")
    rows = query(
        build.settings, "select order_id, net_amount, is_discounted from warehouse.fact_order"
    )
    assert {order_id: (net, flag) for order_id, net, flag in rows} == {
        order_id: (row.gross_amount - row.discount_amount, row.discount_amount > 0)
        for order_id, row in orders.iterrows()
    }


def test_ticket_resolution_hours(build: Build) -> None:
    tickets = {row["ticket_id"]: row for row in build.rows["support__tickets"]}
    rows = query(
        build.settings,
        "select ticket_id, resolution_hours, is_resolved from warehouse.fact_support_ticket",
    )
    hours = (tickets["S1"]["resolved_at"] - tickets["S1"]["created_at"]) / dt.timedelta(hours=1)
    assert sorted(rows) == [("S1", pytest.approx(hours), True), ("S2", None, False)]
