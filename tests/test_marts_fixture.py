"""The marts built from the hand-written landing fixture (tests/fixtures/landing_csv) hold the
values worked out by hand from its README and CSVs, column family by column family.

The fixture: five customers, January-March 2024. Its last usage day is 2024-03-31, so the as-of
date is 2024-03-31 and every "last N days" window of the current marts is the N days up to and
including it (reference date 2024-04-01). Monthly snapshots are 2024-02-01 and 2024-03-01.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.marts_support import query

D = dt.date
AS_OF = D(2024, 3, 31)
REFERENCE = D(2024, 4, 1)


def days(start: dt.date, end: dt.date) -> int:
    """Days from start to end (end - start)."""
    return (end - start).days


def account_component(tier: float, tenure_days: int, days_to_contract_end: int | None) -> float:
    contract = 0.5 if days_to_contract_end is None else (1.0 if days_to_contract_end > 90 else 0.0)
    return (tier + min(tenure_days / 730, 1.0) + contract) / 3


def health(usage: float, engagement: float, outcomes: float, account: float, support: float):
    return 35 * usage + 25 * engagement + 20 * outcomes + 15 * account + 5 * support


@pytest.fixture(scope="module")
def warehouse(landing_csv_warehouse) -> Path:
    """The run's shared build of the fixture (conftest.py `landing_csv_warehouse`), read-only."""
    assert landing_csv_warehouse.summary.as_of == AS_OF
    return landing_csv_warehouse.settings.warehouse_path


def rows_by_key(warehouse: Path, table: str, *keys: str) -> dict:
    rows = query(warehouse, f"select * from {table}")
    return {tuple(row[k] for k in keys) if len(keys) > 1 else row[keys[0]]: row for row in rows}


def assert_values(row: dict, expected: dict) -> None:
    for column, value in expected.items():
        if isinstance(value, float):
            assert row[column] == pytest.approx(value, abs=1e-6), column
        else:
            assert row[column] == value, column


def test_data_as_of_is_the_last_event_date(warehouse: Path) -> None:
    (row,) = query(warehouse, "select * from marts.data_as_of")
    assert row == {
        "as_of_date": AS_OF,
        "reference_date": REFERENCE,
        "data_start_date": D(2024, 1, 1),
        "first_snapshot_date": D(2024, 2, 1),
    }


def test_churn_events_record_the_change_to_churned(warehouse: Path) -> None:
    assert query(warehouse, "select * from marts.customer_churn_events") == [
        {
            "customer_id": "C003",
            "churned_at": dt.datetime(2024, 3, 15, 12, 0),
            "churn_date": D(2024, 3, 15),
            "status_before_churn": "Active",
            "customer_segment": "Enterprise",
            "customer_tier": "Gold",
        }
    ]


def test_daily_activity_combines_usage_orders_and_portal_logins(warehouse: Path) -> None:
    daily = rows_by_key(warehouse, "marts.customer_daily_activity", "customer_id", "activity_date")
    # usage every day for C001, C002, C004 (91 days), C003 until 2024-03-14, C005 from 02-10;
    # every order and KB view falls on a usage day, so no extra rows
    assert len(daily) == 91 * 3 + days(D(2024, 1, 1), D(2024, 3, 15)) + days(
        D(2024, 2, 10), REFERENCE
    )
    assert_values(daily[("C001", D(2024, 1, 20))], {"orders_placed_count": 1, "kb_views_count": 0})
    assert_values(daily[("C001", D(2024, 1, 15))], {"kb_views_count": 1, "services_used_count": 1})
    assert_values(
        daily[("C001", D(2024, 3, 1))],
        {
            "services_used_count": 2,
            "data_volume_mb": 2 * 100.0,
            "session_count": 2 * 2,
        },
    )
    # the cancelled order is still activity: the customer placed it
    assert daily[("C004", D(2024, 2, 15))]["orders_placed_count"] == 1
    assert_values(
        daily[("C003", D(2024, 2, 1))],
        {
            "outage_minutes": 2 * 60.0,
            "is_usage_day": True,
            "is_activity_day": True,
        },
    )


def test_customer_360_profile_comes_from_the_current_crm_version(warehouse: Path) -> None:
    view = rows_by_key(warehouse, "marts.customer_360_view", "customer_id")
    assert sorted(view) == ["C001", "C002", "C003", "C004", "C005"]
    assert_values(
        view["C001"],
        {
            "customer_segment": "Residential",  # first version spelled 'residential '
            "customer_tier": "Gold",  # Bronze -> Silver -> Gold
            "customer_status": "Active",
            "account_manager_id": None,
            "signup_date": D(2023, 6, 1),
            "contract_end_date": None,
            "as_of_date": AS_OF,
        },
    )
    assert view["C004"]["customer_name"] == "City of Fairview <script>alert(1)</script>"
    assert_values(view["C003"], {"customer_status": "Churned", "churn_date": D(2024, 3, 15)})
    assert view["C005"]["phone"] is None


def test_customer_360_tenure_and_contract(warehouse: Path) -> None:
    view = rows_by_key(warehouse, "marts.customer_360_view", "customer_id")
    assert view["C001"]["tenure_days"] == days(D(2023, 6, 1), REFERENCE) == 305
    assert view["C001"]["tenure_months"] == int(305 * 12 / 365.25) == 10
    # a churned customer's tenure ends at the churn date
    assert view["C003"]["tenure_days"] == days(D(2021, 4, 1), D(2024, 3, 15))
    assert view["C005"]["tenure_days"] == days(D(2024, 2, 10), REFERENCE)
    assert view["C002"]["days_to_contract_end"] == days(REFERENCE, D(2024, 11, 14))
    assert view["C003"]["days_to_contract_end"] == -1  # contract ended 2024-03-31
    assert view["C001"]["days_to_contract_end"] is None


def test_customer_360_revenue_is_net_of_credits_and_discounts(warehouse: Path) -> None:
    view = rows_by_key(warehouse, "marts.customer_360_view", "customer_id")
    assert_values(
        view["C001"],
        {
            "lifetime_revenue_amount": 50.0 + (80 - 5) + (80 - 5),
            "revenue_12m_amount": 50.0 + (80 - 5) + (80 - 5),
            # the last 90 days (2024-01-02..03-31) hold the February and March invoices
            "revenue_90d_amount": 2 * (80.0 - 5),
            "gross_3m_amount": 50.0 + 80 + 80,
            "credit_3m_amount": 0.0,
        },
    )
    assert view["C002"]["lifetime_revenue_amount"] == pytest.approx(3 * (90 - 10))
    assert_values(
        view["C003"],
        {
            "lifetime_revenue_amount": 75.0 + (75 - 15) + 37.5,
            "revenue_90d_amount": (75.0 - 15) + 37.5,
            "credit_3m_amount": 15.0,
            "gross_3m_amount": 75.0 + 75 + 37.5,
        },
    )
    assert view["C005"]["revenue_90d_amount"] == pytest.approx(16.67 + 25)


def test_customer_360_orders_count_completed_orders_only(warehouse: Path) -> None:
    view = rows_by_key(warehouse, "marts.customer_360_view", "customer_id")
    assert_values(
        view["C002"],
        {
            "lifetime_orders_count": 2,
            "lifetime_order_revenue_amount": (60.0 - 20) + (300 - 100),
            "avg_order_value_amount": ((60.0 - 20) + (300 - 100)) / 2,
            "order_discount_share": (20.0 + 100) / (60 + 300),
            # invoice and order discounts over invoice and order gross, last 12 months
            "discount_share_12m": (3 * 10.0 + 20 + 100) / (3 * 90 + 60 + 300),
            "orders_90d": 2,
        },
    )
    # C004's only order was cancelled: no orders, no AOV, but it was placed (engagement)
    assert_values(
        view["C004"],
        {
            "lifetime_orders_count": 0,
            "lifetime_order_revenue_amount": 0.0,
            "orders_90d": 1,
        },
    )
    assert view["C004"]["avg_order_value_amount"] is None
    assert view["C001"]["discount_share_12m"] == pytest.approx((5.0 + 5) / (50 + 80 + 80 + 120))


def test_customer_360_services(warehouse: Path) -> None:
    view = rows_by_key(warehouse, "marts.customer_360_view", "customer_id")
    assert_values(
        view["C001"],
        {
            "active_services_count": 2,
            "service_types": "Internet, TV",
            "has_internet": True,
            "has_tv": True,
            "has_mobile": False,
            "has_voice": False,
            "monthly_recurring_charge_amount": 50.0 + 30,
            "services_used_30d": 2,
        },
    )
    assert_values(view["C002"], {"service_types": "Internet, Voice", "has_voice": True})
    # C003's services ended on 2024-03-15; it used both of them until 03-14
    assert_values(
        view["C003"],
        {
            "active_services_count": 0,
            "service_types": None,
            "monthly_recurring_charge_amount": 0.0,
            "services_used_30d": 2,
        },
    )
    assert_values(view["C005"], {"service_types": "Mobile", "has_mobile": True})


def test_customer_360_usage_windows_and_trend(warehouse: Path) -> None:
    view = rows_by_key(warehouse, "marts.customer_360_view", "customer_id")
    # C001: S01 every day, S02 from 02-01; 100 MB, 10 minutes, 2 sessions per service and day
    assert_values(
        view["C001"],
        {
            "usage_days_30d": 30,
            "usage_days_90d": 90,
            "data_volume_mb_30d": 30 * 2 * 100.0,
            "data_volume_mb_90d": 90 * 100.0 + 60 * 100,
            "voice_minutes_90d": 90 * 10.0 + 60 * 10,
            "sessions_30d": 30 * 2 * 2,
            "sessions_prior_30d": 30 * 2 * 2,
            "usage_trend_pct": 0.0,
        },
    )
    # C003 stopped on 03-14: 13 days (03-02..03-14) of two services at half volume
    assert_values(
        view["C003"],
        {
            "usage_days_30d": 13,
            "usage_days_90d": 30 + 29 + 14,
            "data_volume_mb_30d": 13 * 2 * 50.0,
            "sessions_30d": 13 * 2 * 2,
            "sessions_prior_30d": 30 * 2 * 2,
            "usage_trend_pct": (13 * 2 * 2) / (30 * 2 * 2) - 1,
            "outage_minutes_30d": 0.0,
        },
    )
    # C005 started on 02-10: 21 days (02-10..03-01) in the prior window
    assert view["C005"]["usage_trend_pct"] == pytest.approx((30 * 2) / (21 * 2) - 1)
    assert view["C005"]["usage_days_90d"] == days(D(2024, 2, 10), REFERENCE)


def test_customer_360_support_campaigns_and_opportunities(warehouse: Path) -> None:
    view = rows_by_key(warehouse, "marts.customer_360_view", "customer_id")
    assert_values(
        view["C003"],
        {
            "lifetime_tickets_count": 2,
            "tickets_90d": 2,
            "escalated_tickets_90d": 1,
            "low_csat_tickets_90d": 2,
            "open_tickets": 0,
            "avg_satisfaction_score_90d": (1 + 2) / 2,
            "campaigns_targeted_count": 1,
            "campaigns_responded_count": 1,
            "campaign_responses_90d": 1,
            "open_opportunities_count": 0,
        },
    )
    assert_values(
        view["C004"],
        {
            "tickets_90d": 1,
            "escalated_tickets_90d": 1,
            "open_tickets": 1,
            "campaigns_targeted_count": 0,
            "open_opportunity_amount": 0.0,  # OP02 is Closed Won
        },
    )
    assert view["C004"]["avg_satisfaction_score_90d"] is None
    assert_values(
        view["C002"],
        {
            "campaigns_targeted_count": 1,
            "campaigns_responded_count": 0,
            "campaigns_targeted_90d": 1,
            "campaign_responses_90d": 0,
            "open_opportunities_count": 1,
            "open_opportunity_amount": 2400.0,
            "open_opportunity_weighted_amount": 2400.0 * 0.5,
        },
    )
    assert view["C001"]["avg_satisfaction_score_90d"] == 5.0


def test_customer_360_activity_and_recency(warehouse: Path) -> None:
    view = rows_by_key(warehouse, "marts.customer_360_view", "customer_id")
    assert_values(
        view["C001"],
        {
            "kb_views_30d": 1,
            "kb_views_90d": 2,
            "active_days_30d": 30,
            "active_days_90d": 90,
            "last_activity_date": AS_OF,
            "recency_days": 0,
            "is_active_30d": True,
        },
    )
    assert_values(
        view["C003"],
        {
            "active_days_30d": 13,
            "last_activity_date": D(2024, 3, 14),
            "recency_days": days(D(2024, 3, 14), AS_OF),
            "is_active_30d": False,
        },
    )


def test_customer_360_health_score_by_hand(warehouse: Path) -> None:
    view = rows_by_key(warehouse, "marts.customer_360_view", "customer_id")
    # C001: used both services every day, 1 campaign message answered, Gold, 305 days,
    # month-to-month, one ticket rated 5
    c001 = dict(
        usage=0.5 * 30 / 30 + 0.5 * 1.0,
        engagement=0.5 * 90 / 90 + 0.5 * 1 / 1,
        outcomes=0.5 * 2 / 2 + 0.5 * (1 - 0 / 210),
        account=account_component(0.75, 305, None),
        support=1 - (1 + 0 + 0) / 4,
    )
    # C002: one message, no response; Silver, 503 days, contract ends in 227 days; no tickets
    c002 = dict(
        usage=1.0,
        engagement=0.5 * 1 + 0.5 * 0 / 1,
        outcomes=1.0,
        account=account_component(0.5, 503, 227),
        support=1.0,
    )
    # C004: no messages (neutral 0.5); Platinum; one escalated ticket
    c004 = dict(
        usage=1.0,
        engagement=0.5 * 1 + 0.5 * 0.5,
        outcomes=1.0,
        account=account_component(1.0, 1543, 283),
        support=1 - (1 + 1 + 0) / 4,
    )
    # C005: 51 active days, one unanswered message; Bronze, 51 days
    c005 = dict(
        usage=1.0,
        engagement=0.5 * 51 / 90 + 0.5 * 0,
        outcomes=1.0,
        account=account_component(0.25, 51, None),
        support=1.0,
    )
    for customer, components in {"C001": c001, "C002": c002, "C004": c004, "C005": c005}.items():
        row = view[customer]
        for name, value in components.items():
            assert row[f"health_{name}_component"] == pytest.approx(value), (customer, name)
        assert row["health_score"] == pytest.approx(health(**components), abs=0.05), customer
        assert row["engagement_score"] == pytest.approx(100 * components["engagement"], abs=0.05)
    assert view["C001"]["health_score"] == pytest.approx(92.1, abs=0.05)
    # churned customers have no health or engagement score
    assert view["C003"]["health_score"] is None
    assert view["C003"]["engagement_score"] is None


def test_customer_360_value_segment_and_risk(warehouse: Path) -> None:
    view = rows_by_key(warehouse, "marts.customer_360_view", "customer_id")
    assert view["C001"]["historical_clv_amount"] == pytest.approx(200.0 + 120)
    assert view["C002"]["historical_clv_amount"] == pytest.approx(240.0 + 240)
    assert view["C003"]["historical_clv_amount"] == pytest.approx(172.5)
    # base average of the 12-month revenue of the Active customers: (200+240+120+41.67)/4
    base = (200 + 240 + 120 + 41.67) / 4
    assert view["C001"]["revenue_12m_amount"] >= base > view["C004"]["revenue_12m_amount"]
    segments = {customer: row["behavioural_segment"] for customer, row in view.items()}
    assert segments == {
        "C001": "High-Value Active",  # above the base average, healthy, few discounts
        "C002": "Discount-Driven",  # 24% of its gross discounted away
        "C003": "Churned",
        "C004": "Core",
        "C005": "Core",
    }
    # no churn scores yet: at-risk falls back to the inactivity rule, scores stay null
    assert {row["at_risk_basis"] for c, row in view.items() if c != "C003"} == {"inactivity_rule"}
    assert not any(row["is_at_risk"] for row in view.values())
    assert view["C003"]["meets_inactivity_rule"]  # usage down 57%
    assert {row["churn_probability"] for row in view.values()} == {None}
    assert {row["model_version"] for row in view.values()} == {None}


def test_churn_features_snapshot_rows_and_point_in_time_profile(warehouse: Path) -> None:
    features = rows_by_key(
        warehouse, "marts.churn_prediction_features", "customer_id", "snapshot_date"
    )
    feb, mar = D(2024, 2, 1), D(2024, 3, 1)
    assert sorted(features) == [
        ("C001", feb),
        ("C001", mar),
        ("C002", feb),
        ("C002", mar),
        ("C003", feb),
        ("C003", mar),
        ("C004", feb),
        ("C004", mar),
        ("C005", mar),
    ]
    # the CRM version in effect just before the snapshot: Silver from 02-01, Gold only from
    # 03-01 09:00
    assert features[("C001", feb)]["customer_tier"] == "Bronze"
    assert features[("C001", mar)]["customer_tier"] == "Silver"
    # no label yet: snapshot + 90 days is after the as-of date
    assert {row["churned_within_90d"] for row in features.values()} == {None}
    assert {row["churn_date"] for row in features.values()} == {None}


def test_churn_features_of_c003_before_it_churned(warehouse: Path) -> None:
    features = rows_by_key(
        warehouse, "marts.churn_prediction_features", "customer_id", "snapshot_date"
    )
    snapshot = D(2024, 3, 1)
    row = features[("C003", snapshot)]
    assert_values(
        row,
        {
            "history_days": days(D(2024, 1, 1), snapshot),
            "customer_status": "Active",
            "customer_segment": "Enterprise",
            "region": "South",
            "has_account_manager": True,
            "tenure_days": days(D(2021, 4, 1), snapshot),
            "is_month_to_month": False,
            "days_to_contract_end": days(snapshot, D(2024, 3, 31)),
            # billing: the January and February invoices
            "monthly_recurring_charge_amount": 50.0 + 25,
            "revenue_3m_amount": 75.0 + (75 - 15),
            "revenue_12m_amount": 75.0 + (75 - 15),
            "revenue_change_1m_pct": (75.0 - 15) / 75 - 1,
            "credit_3m_amount": 15.0,
            "gross_3m_amount": 75.0 + 75,
            "discount_share_3m": 0.0,
            # usage: 30 days before the snapshot are 01-31..02-29
            "usage_days_30d": 30,
            "usage_days_90d": 31 + 29,
            "data_volume_mb_30d": 30 * 2 * 100.0,
            "sessions_30d": 30 * 2 * 2,
            "sessions_prior_30d": 30 * 2 * 2,
            "usage_change_30d_pct": 0.0,
            "outage_minutes_30d": 2 * 60.0,
            "outage_minutes_90d": 2 * 60.0,
            # support: both February tickets, resolved and rated 1 and 2 before the snapshot
            "tickets_90d": 2,
            "escalated_tickets_90d": 1,
            "avg_satisfaction_score_90d": 1.5,
            "low_csat_tickets_90d": 2,
            "open_tickets": 0,
            # engagement
            "kb_views_90d": 0,
            "orders_90d": 0,
            "campaigns_targeted_90d": 1,
            "campaign_responses_90d": 1,
            "campaign_opt_outs_90d": 0,
            "has_opted_out": False,
            "active_days_30d": 30,
            "active_days_90d": 60,
            "is_active_30d": True,
            "last_activity_date": D(2024, 2, 29),
            "recency_days": 0,
            # services
            "active_services_count": 2,
            "has_internet": True,
            "has_mobile": True,
            "has_tv": False,
            "services_used_30d": 2,
            "services_added_90d": 0,
            "services_removed_90d": 0,
            # churn drivers: February sessions per day (2 services x 2 x 29 days / 29) against
            # the January peak (2 x 2 x 31 / 31); TK01 escalated and rated 1, TK02 rated 2, both
            # opened last month (weight 0.6 ^ 0); the Retention campaign CMP02 reached it on
            # 02-05 and was only opened; no discounts, no orders, no November invoice
            "usage_vs_peak_12m_ratio": (116 / 29) / (124 / 31),
            "escalated_tickets_weighted_12m": 1.0,
            "low_csat_tickets_weighted_12m": 2.0,
            "account_kb_views_30d": 0,
            "account_kb_views_90d": 0,
            "retention_campaigns_targeted_90d": 1,
            "retention_offers_accepted_90d": 0,
            "months_since_discount": None,
            "discounted_invoice_streak_months": 0,
            "gross_change_3m_pct": None,
            "order_discount_rate_12m": None,
        },
    )
    components = dict(
        usage=1.0,
        engagement=0.5 * 60 / 90 + 0.5 * 1,
        outcomes=0.5 * 1 + 0.5 * (1 - 15 / 150),
        account=account_component(0.75, days(D(2021, 4, 1), snapshot), 30),
        support=1 - min((2 + 1 + 2) / 4, 1),
    )
    for name, value in components.items():
        assert row[f"health_{name}_component"] == pytest.approx(value), name
    assert row["health_score"] == pytest.approx(health(**components), abs=0.05)
    assert row["meets_inactivity_rule"] is False
    # 12-month revenue 135 >= the base average (125 + 160 + 135 + 80 + 16.67) / 5, healthy
    assert row["behavioural_segment"] == "High-Value Active"


def test_churn_features_windows_at_the_history_start(warehouse: Path) -> None:
    features = rows_by_key(
        warehouse, "marts.churn_prediction_features", "customer_id", "snapshot_date"
    )
    row = features[("C003", D(2024, 2, 1))]
    # the prior 30-day window (12-03..01-01) starts before the history: no usage change
    assert row["usage_change_30d_pct"] is None
    assert row["revenue_change_1m_pct"] is None  # no December invoice
    assert_values(row, {"usage_days_90d": 31, "revenue_3m_amount": 75.0, "history_days": 31})
    c001 = features[("C001", D(2024, 3, 1))]
    assert_values(
        c001,
        {
            "sessions_30d": 2 + 29 * 2 * 2,  # 01-31: S01 only, then both services in February
            "usage_change_30d_pct": (2 + 29 * 4) / (30 * 2) - 1,
            "discount_share_3m": (5.0 + 0) / (50 + 80 + 120),  # invoices and order O01
            "services_added_90d": 1,  # TV Plus from 02-01
            "kb_views_30d": 0,
            "kb_views_90d": 1,
            # February 116 sessions / 29 days against the January peak 62 / 31
            "usage_vs_peak_12m_ratio": (116 / 29) / (62 / 31),
            "months_since_discount": 1,  # February's invoice: 5.00 off; January's none
            "discounted_invoice_streak_months": 1,
            "order_discount_rate_12m": 0.0,  # O01 without a discount
            "account_kb_views_90d": 0,  # V01 is a Technical article
        },
    )
    c002 = features[("C002", D(2024, 3, 1))]
    # January and February invoices discounted; O02 (January) discounted, O03 is after 03-01
    assert_values(
        c002,
        {
            "months_since_discount": 1,
            "discounted_invoice_streak_months": 2,
            "order_discount_rate_12m": 1.0,
            "retention_campaigns_targeted_90d": 1,  # T04, not answered
        },
    )
    # no month before the last one: no peak to compare with
    assert features[("C005", D(2024, 3, 1))]["usage_vs_peak_12m_ratio"] is None
    assert features[("C003", D(2024, 2, 1))]["usage_vs_peak_12m_ratio"] is None
    segments = {key: row["behavioural_segment"] for key, row in features.items()}
    assert segments[("C002", D(2024, 3, 1))] == "Discount-Driven"  # (20 + 20) / (180 + 60)
    assert segments[("C001", D(2024, 2, 1))] == "Core"  # 50 < (50 + 80 + 75 + 40) / 4


def test_monthly_activity_matrix(warehouse: Path) -> None:
    months = rows_by_key(
        warehouse, "marts.customer_monthly_activity", "customer_id", "month_start_date"
    )
    jan, feb, mar = D(2024, 1, 1), D(2024, 2, 1), D(2024, 3, 1)
    assert len(months) == 3 * 4 + 2  # C005 from February
    assert_values(
        months[("C001", jan)],
        {
            "customer_tier": "Bronze",
            "active_days": 31,
            "usage_days": 31,
            "orders_placed_count": 1,
            "kb_views_count": 1,
            "months_since_signup": 7,
            "monthly_recurring_charge_amount_at_month_end": 50.0,
            "is_active_month": True,
        },
    )
    assert months[("C001", feb)]["customer_tier"] == "Silver"
    assert months[("C001", mar)]["customer_tier"] == "Gold"
    assert months[("C001", jan)]["usage_change_30d_pct_at_month_end"] is None
    assert months[("C001", feb)]["usage_change_30d_pct_at_month_end"] == pytest.approx(
        (2 + 29 * 4) / (30 * 2) - 1
    )
    assert_values(
        months[("C003", mar)],
        {
            "status_at_month_start": "Active",
            "status_at_month_end": "Churned",
            "is_customer_at_month_start": True,
            "is_customer_at_month_end": False,
            "has_churned_in_month": True,
            "active_days": 14,
            "is_active_30d_at_month_end": False,
            "is_at_risk_at_month_end": False,
            "active_services_count_at_month_end": 0,
        },
    )
    assert_values(
        months[("C005", feb)],
        {
            "status_at_month_start": None,
            "is_new_customer": True,
            "months_since_signup": 0,
            "active_days": days(D(2024, 2, 10), mar),
            "orders_placed_count": 1,
            "is_customer_at_month_start": False,
            "is_customer_at_month_end": True,
            "has_mobile_at_month_end": True,
        },
    )


def test_segmentation_analysis_by_month_segment_and_tier(warehouse: Path) -> None:
    seg = rows_by_key(
        warehouse,
        "marts.customer_segmentation_analysis",
        "month_start_date",
        "customer_segment",
        "customer_tier",
    )
    jan, feb, mar = D(2024, 1, 1), D(2024, 2, 1), D(2024, 3, 1)
    assert len(seg) == 4 + 5 + 5
    march_revenue = (80 - 5) + (90 - 10) + 37.5 + 40 + 25
    assert_values(
        seg[(mar, "Enterprise", "Gold")],
        {
            "customers_at_month_start": 1,
            "customers": 0,
            "churned_customers": 1,
            "churned_customers_from_base": 1,
            "churn_rate": 1 / 1,
            "active_customers_30d": 0,
            "revenue_amount": 37.5,
            "share_of_total_revenue": 37.5 / march_revenue,
            "tickets_count": 0,
            "customers_change": 0 - 1,
            "revenue_change_pct": 37.5 / (75 - 15) - 1,
            "churn_rate_change": 1.0 - 0.0,
        },
    )
    assert_values(
        seg[(feb, "Residential", "Bronze")],
        {  # C005 signed up in February
            "customers_at_month_start": 0,
            "customers": 1,
            "new_customers": 1,
            "revenue_amount": 16.67,
            "arpu_amount": 16.67 / 1,  # one customer active at the month end
            "orders_count": 1,
            "order_revenue_amount": 20.0,
            "aov_amount": 20.0,
            "mobile_adoption_rate": 1.0,
            "active_rate": 1.0,
        },
    )
    assert seg[(feb, "Residential", "Bronze")]["churn_rate"] is None  # nobody at the start
    assert seg[(mar, "Enterprise", "Gold")]["arpu_amount"] is None  # nobody active at the end
    assert_values(
        seg[(feb, "Enterprise", "Gold")],
        {
            "tickets_count": 2,
            "tickets_per_100_customers": 100 * 2 / ((1 + 1) / 2),
        },
    )
    # C001 is counted in the tier it had at each month end
    assert (mar, "Residential", "Gold") in seg and (feb, "Residential", "Silver") in seg
    assert seg[(mar, "Residential", "Gold")]["customers_change"] is None  # no February row
    assert_values(
        seg[(mar, "SMB", "Silver")],
        {
            "orders_count": 1,
            "order_revenue_amount": 300.0 - 100,
            "revenue_change_pct": 0.0,
        },
    )
    assert seg[(feb, "Government", "Platinum")]["orders_count"] == 0  # the order was cancelled
    assert seg[(jan, "Residential", "Bronze")]["revenue_amount"] == pytest.approx(50.0)
    for month in (jan, feb, mar):
        shares = [row["share_of_total_revenue"] for key, row in seg.items() if key[0] == month]
        assert sum(shares) == pytest.approx(1.0)


def test_behavioural_segment_cohorts_by_month(warehouse: Path) -> None:
    cohorts = rows_by_key(
        warehouse,
        "marts.customer_behavioural_segment_monthly",
        "month_start_date",
        "behavioural_segment",
    )
    feb, mar = D(2024, 2, 1), D(2024, 3, 1)
    assert sorted(cohorts) == [
        (feb, "Core"),
        (feb, "Discount-Driven"),
        (feb, "High-Value Active"),
        (mar, "Core"),
        (mar, "Discount-Driven"),
        (mar, "High-Value Active"),
    ]
    # February cohorts: Core = C001, C004; Discount-Driven = C002; High-Value = C003
    feb_revenue = (80 - 5) + 40 + (90 - 10) + (75 - 15)
    assert_values(
        cohorts[(feb, "Core")],
        {
            "customers": 2,
            "revenue_amount": (80.0 - 5) + 40,
            "share_of_total_revenue": ((80 - 5) + 40) / feb_revenue,
        },
    )
    assert_values(
        cohorts[(feb, "High-Value Active")],
        {
            "customers": 1,
            "tickets_count": 2,
            "tickets_per_100_customers": 200.0,
        },
    )
    # March: High-Value = C001, C003; C003 churned on 03-15
    assert_values(
        cohorts[(mar, "High-Value Active")],
        {
            "customers": 2,
            "churned_customers": 1,
            "churn_rate": 1 / 2,
            "revenue_amount": (80.0 - 5) + 37.5,
            "customers_change": 2 - 1,
            "revenue_change_pct": ((80 - 5) + 37.5) / (75 - 15) - 1,
            "tickets_count": 1,
        },
    )
    assert_values(
        cohorts[(mar, "Discount-Driven")],
        {
            "orders_count": 1,
            "order_revenue_amount": 200.0,
            "churn_rate": 0.0,
        },
    )
    assert cohorts[(mar, "Core")]["customers"] == 2  # C004 and C005
    assert cohorts[(mar, "Core")]["churned_within_90d_rate"] is None  # no label known yet


def test_active_customers_30d_by_day_and_segment(warehouse: Path) -> None:
    active = rows_by_key(
        warehouse, "marts.active_customers_30d", "calendar_date", "customer_segment"
    )
    enterprise_days = days(D(2024, 1, 1), D(2024, 3, 15))  # Active until 03-15 12:00
    assert len(active) == 3 * 91 + enterprise_days
    assert active[(D(2024, 2, 9), "Residential")]["customers"] == 1
    assert_values(
        active[(D(2024, 2, 10), "Residential")],
        {
            "customers": 2,
            "active_customers_30d": 2,
            "active_rate": 1.0,
        },
    )
    assert active[(D(2024, 3, 14), "Enterprise")]["active_customers_30d"] == 1
    assert (D(2024, 3, 15), "Enterprise") not in active
    assert_values(active[(AS_OF, "Government")], {"customers": 1, "active_customers_30d": 1})
