"""The real semantic model against independent SQL on a warehouse built from landing_csv.

The warehouse is a copy of the run's one build of tests/fixtures/landing_csv (landing loader, then
the full SQLMesh project; conftest.py `landing_csv_warehouse`), with a few churn scores written to
ml.churn_scores and the score consumers refreshed, so at-risk customers are decided by a score for
some customers and by the inactivity rule for others. Every glossary metric is queried through the
embedded engine by segment (the customer's current segment) and by month, and compared to plain SQL
written here against the facts, dim_customer's history and the marts' flags. Money agrees to the
cent, rates to 1e-9. Then: no fan-out when customer, invoice and ticket measures are mixed, and the
access policies of every view.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from custintel.app import transform
from custintel.core.settings import Settings, load_settings
from semantic.engine import Engine
from semantic.errors import AccessDenied
from semantic.model_loader import load_model
from tests.shared_build_support import copy_project

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "semantic" / "model"
AS_OF = dt.date(2024, 3, 31)  # last day of the fixture's landing data
MONTHS = ("2024-01-01", "2024-03-31")  # the fixture's months
CENT = 0.005

# (customer, score date, probability, band, predicted CLV): C001's latest score (medium)
# replaces an older high one; C002 is high; C003 has churned (its score must not count);
# C004 is low; C005 has no score (the inactivity rule decides).
SCORES = [
    ("C001", "2024-02-01", 0.71, "high", 800.0),
    ("C001", "2024-03-01", 0.35, "medium", 900.0),
    ("C002", "2024-03-01", 0.82, "high", 1500.0),
    ("C003", "2024-03-01", 0.95, "high", 100.0),
    ("C004", "2024-03-01", 0.08, "low", 4200.0),
]


@dataclass
class Built:
    settings: Settings
    engine: Engine

    def sql(self, query: str) -> pd.DataFrame:
        with duckdb.connect(str(self.settings.warehouse_path), read_only=True) as con:
            return con.execute(query).df()

    def load(
        self, query: dict, role: str | None = "executive", context: dict | None = None
    ) -> pd.DataFrame:
        return self.engine.load(query, role=role, security_context=context)


#: the latest run's action-list columns (value rank, predicted uplift, offer or call) by
#: customer; C001's older score has none
ACTION = {
    ("C001", "2024-03-01"): (3, 0.021, "offer"),
    ("C002", "2024-03-01"): (1, -0.004, "call"),
    ("C003", "2024-03-01"): (4, 0.0, "call"),
    ("C004", "2024-03-01"): (2, 0.035, "offer"),
}


def _write_scores(path: Path) -> None:
    rows = [
        (
            customer,
            dt.date.fromisoformat(day),
            probability,
            band,
            f"reason_{n}",
            0.5,
            None,
            None,
            None,
            None,
            clv,
            *ACTION.get((customer, day), (None, None, None)),
            "churn_catboost/v1",
            dt.datetime(2024, 4, 1, 6),
        )
        for n, (customer, day, probability, band, clv) in enumerate(SCORES)
    ]
    with duckdb.connect(str(path)) as con:
        con.executemany(
            "insert into ml.churn_scores (customer_id, score_date, "
            "churn_probability, risk_band, reason_1, reason_1_contribution, "
            "reason_2, reason_2_contribution, reason_3, reason_3_contribution, "
            "predicted_clv_amount, value_rank, predicted_uplift, "
            "recommended_contact, model_version, scored_at) values "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, landing_csv_warehouse) -> Iterator[Built]:
    """A copy of the run's shared build of landing_csv (conftest.py `landing_csv_warehouse`:
    loader, then the whole project applied at the as-of date), scored here."""
    assert landing_csv_warehouse.summary.as_of == AS_OF
    config = copy_project(landing_csv_warehouse.root, tmp_path_factory.mktemp("semantic"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CUSTINTEL_CONFIG", str(config))
        settings = load_settings(config)
        assert settings.warehouse_path != landing_csv_warehouse.settings.warehouse_path
        _write_scores(settings.warehouse_path)
        transform.refresh_score_consumers(settings, as_of=AS_OF)
        yield Built(settings, Engine(load_model(MODEL), settings.warehouse_path, as_of=AS_OF))


# -- comparing ------------------------------------------------------------------------------


def _key(value: object) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return pd.Timestamp(value).date().isoformat()
    return value


def assert_same(
    actual: pd.DataFrame, expected: pd.DataFrame, keys: list[str], tolerance: float = 1e-9
) -> None:
    """Same key combinations; every other column equal (None == None) within `tolerance`."""

    def indexed(frame: pd.DataFrame) -> dict[tuple, dict]:
        rows = {}
        for record in frame.to_dict("records"):
            rows[tuple(_key(record[key]) for key in keys)] = record
        return rows

    left, right = indexed(actual), indexed(expected)
    assert sorted(left, key=str) == sorted(right, key=str)
    for key, expected_row in right.items():
        for column, want in expected_row.items():
            if column in keys:
                continue
            got, want = _key(left[key][column]), _key(want)
            if want is None or got is None:
                assert got == want, (key, column, got, want)
            else:
                assert got == pytest.approx(want, rel=tolerance, abs=tolerance), (key, column)


def semantic(
    built: Built,
    view: str,
    measures: list[str],
    dimensions: list[str] = (),
    month: str | None = None,
    date_range: tuple[str, str] = MONTHS,
) -> pd.DataFrame:
    """A query through the engine (by `month` of that time dimension, within `date_range`),
    with columns renamed to the bare member names and `month`."""
    body: dict = {
        "measures": [f"{view}.{m}" for m in measures],
        "dimensions": [f"{view}.{d}" for d in dimensions],
    }
    if month:
        body["timeDimensions"] = [
            {"dimension": f"{view}.{month}", "granularity": "month", "dateRange": list(date_range)}
        ]
    frame = built.load(body)
    frame.columns = [c.split(".")[1] if c.count(".") == 1 else "month" for c in frame.columns]
    return frame


CURRENT = (
    "(select customer_id, customer_segment as segment from warehouse.dim_customer where is_current)"
)


# -- revenue, orders, AOV -------------------------------------------------------------------


def test_revenue_by_segment_and_month_is_billed_net_of_credits_and_discounts(built):
    expected = built.sql(f"""
        select c.segment, date_trunc('month', i.invoice_date) as month,
               sum(i.revenue_amount) as revenue
        from warehouse.fact_invoice i join {CURRENT} c using (customer_id)
        group by all""")
    actual = semantic(built, "revenue", ["revenue"], ["segment"], month="invoice_date")
    assert_same(actual, expected, ["segment", "month"], CENT)
    assert actual.revenue.sum() == pytest.approx(774.17, abs=CENT)  # landing_csv invoices


def test_orders_and_aov_by_segment_and_month_count_completed_orders(built):
    expected = built.sql(f"""
        select c.segment, date_trunc('month', o.ordered_at) as month,
               count(*) filter (where o.order_status = 'Completed') as orders,
               sum(o.gross_amount - o.discount_amount)
                 filter (where o.order_status = 'Completed') as order_revenue,
               sum(o.gross_amount - o.discount_amount)
                 filter (where o.order_status = 'Completed')
                 / nullif(count(*) filter (where o.order_status = 'Completed'), 0) as aov
        from warehouse.fact_order o join {CURRENT} c using (customer_id)
        group by all""")
    actual = semantic(
        built, "revenue", ["orders", "order_revenue", "aov"], ["segment"], month="ordered_at"
    )
    assert_same(actual, expected, ["segment", "month"], CENT)


def test_arpu_by_segment_and_month_is_revenue_per_month_end_active_customer(built):
    revenue = built.sql(f"""
        select c.segment, date_trunc('month', i.invoice_date) as month,
               sum(i.gross_amount - i.credit_amount - i.discount_amount) as revenue
        from warehouse.fact_invoice i join {CURRENT} c using (customer_id) group by all""")
    active = built.sql(f"""
        select c.segment, m.month_start_date as month,
               count(*) filter (where m.is_active_30d_at_month_end) as active_customers
        from marts.customer_monthly_activity m join {CURRENT} c using (customer_id)
        group by all""")
    expected = revenue.merge(active, on=["segment", "month"], how="outer")
    expected["arpu"] = expected.revenue / expected.active_customers.where(
        expected.active_customers > 0
    )
    actual = semantic(
        built, "engagement", ["revenue", "active_customers", "arpu"], ["segment"], month="month"
    )
    assert_same(actual, expected, ["segment", "month"], CENT)


def test_monthly_arpu_agrees_with_the_segmentation_mart(built):
    """The mart's arpu_amount and the semantic layer's engagement.arpu are one definition:
    over all segments, a month's revenue / its month-end active customers."""
    expected = built.sql("""
        select month_start_date as month,
               sum(revenue_amount) / nullif(sum(active_customers_30d), 0) as arpu
        from marts.customer_segmentation_analysis group by all""")
    actual = semantic(built, "engagement", ["arpu"], month="month")
    assert_same(actual, expected, ["month"], CENT)


def test_arpu_over_the_whole_period_divides_by_average_active_customers(built):
    expected = built.sql(f"""
        with revenue as (
          select c.segment, sum(i.revenue_amount) as revenue
          from warehouse.fact_invoice i join {CURRENT} c using (customer_id) group by all),
        base as (
          select c.segment,
                 count(*) filter (where m.is_active_30d_at_month_end) as active_months,
                 count(distinct m.month_start_date) as months
          from marts.customer_monthly_activity m join {CURRENT} c using (customer_id)
          group by all)
        select segment, revenue / nullif(active_months * 1.0 / months, 0) as arpu
        from revenue join base using (segment)""")
    actual = semantic(built, "engagement", ["arpu"], ["segment"])
    assert_same(actual, expected, ["segment"], CENT)


# -- customers, activity, churn, risk -------------------------------------------------------


def test_customers_and_active_customers_now_by_segment_from_the_facts(built):
    expected = built.sql("""
        with as_of as (select as_of_date from marts.data_as_of),
        activity as (
          select customer_id, usage_date as day from warehouse.fact_network_usage
          where session_count > 0 or data_volume_mb > 0 or voice_minutes > 0
          union all select customer_id, cast(ordered_at as date) from warehouse.fact_order
          union all select customer_id, cast(viewed_at as date)
          from warehouse.fact_kb_article_view),
        recent as (
          select distinct customer_id from activity, as_of
          where day between as_of_date - interval 29 day and as_of_date)
        select d.customer_segment as segment,
               count(*) filter (where d.customer_status = 'Active') as customers,
               count(*) filter (where d.customer_status = 'Active'
                                and r.customer_id is not null) as active_customers
        from warehouse.dim_customer d left join recent r using (customer_id)
        where d.is_current group by all""")
    actual = semantic(built, "customer_health", ["customers", "active_customers"], ["segment"])
    assert_same(actual, expected, ["segment"])


def test_customers_and_active_customers_by_month_match_the_segmentation_mart(built):
    expected = built.sql("""
        select customer_segment as segment_at_month_end, month_start_date as month,
               sum(customers) as customers, sum(active_customers_30d) as active_customers,
               sum(at_risk_customers) as at_risk_customers
        from marts.customer_segmentation_analysis group by all""")
    actual = semantic(
        built,
        "engagement",
        ["customers", "active_customers"],
        ["segment_at_month_end"],
        month="month",
    )
    risk = semantic(built, "churn", ["at_risk_customers"], ["segment_at_month_end"], month="month")
    actual = actual.merge(risk, on=["segment_at_month_end", "month"])
    assert_same(actual, expected, ["segment_at_month_end", "month"])


CHURN_SQL = f"""
    with months as (
      select cast(m as date) as month, cast(m + interval 1 month as date) as next_month
      from unnest(generate_series(date '2024-01-01', date '2024-03-01', interval 1 month))
        as t(m)),
    base as (
      select months.month, d.customer_id
      from months join warehouse.dim_customer d
        on d.valid_from < months.month
        and (d.valid_to is null or d.valid_to >= months.month)
      where d.customer_status = 'Active'),
    churns as (
      select months.month, e.customer_id
      from months join marts.customer_churn_events e
        on e.churn_date >= months.month and e.churn_date < months.next_month)
    select c.segment, x.month,
           count(distinct x.customer_id) filter (where x.kind = 'churn') as churned_customers,
           count(distinct x.customer_id) filter (where x.kind = 'base') as base,
           count(distinct x.customer_id) filter (where x.kind = 'churn' and x.in_base)
             as churned_from_base
    from (
      select month, customer_id, 'base' as kind, true as in_base from base
      union all
      select churns.month, churns.customer_id, 'churn',
             base.customer_id is not null
      from churns left join base using (month, customer_id)) x
    join {CURRENT} c using (customer_id)
    group by all"""


def test_churn_by_segment_and_month_from_dim_customer_history(built):
    expected = built.sql(CHURN_SQL)
    expected["churn_rate"] = expected.churned_from_base / expected.base.where(expected.base > 0)
    expected = expected.rename(columns={"base": "customers_in_base_at_month_start"})
    expected = expected.drop(columns="churned_from_base")
    actual = semantic(
        built,
        "churn",
        ["churned_customers", "customers_in_base_at_month_start", "churn_rate"],
        ["segment"],
        month="month",
    )
    assert_same(actual, expected, ["segment", "month"])
    assert actual.churned_customers.sum() == 1  # C003 churned on 2024-03-15


def test_churn_rate_by_month_end_segment_matches_the_segmentation_mart(built):
    expected = built.sql("""
        select customer_segment as segment_at_month_end, month_start_date as month,
               sum(churned_customers_from_base) * 1.0 / nullif(sum(customers_at_month_start), 0)
                 as churn_rate
        from marts.customer_segmentation_analysis group by all""")
    actual = semantic(built, "churn", ["churn_rate"], ["segment_at_month_end"], month="month")
    assert_same(actual, expected, ["segment_at_month_end", "month"])


def test_risk_pages_offer_or_call_list_is_the_latest_run_by_value_rank(built):
    """The Risk page's "Offer or call" query: the latest run only (C001's older score is not
    there), in value-rank order, with the stored uplift and recommendation as written."""
    from reports.inputs import queries_without_inputs

    page = Path(__file__).parents[1] / "reports" / "pages" / "risk-revenue-prioritisation.md"
    query = queries_without_inputs(page.read_text())["offer_or_call"]
    frame = built.load(query)
    assert frame["churn_risk.customer_id"].tolist() == ["C002", "C004", "C001", "C003"]
    assert frame["churn_risk.value_rank"].tolist() == [1, 2, 3, 4]
    assert frame["churn_risk.predicted_uplift"].tolist() == pytest.approx(
        [-0.004, 0.035, 0.021, 0.0]
    )
    assert frame["churn_risk.recommended_contact"].tolist() == ["call", "offer", "offer", "call"]
    expected = built.sql("""
        select s.customer_id, v.customer_tier, s.churn_probability
        from ml.churn_scores s join marts.customer_360_view v using (customer_id)
        where s.score_date = (select max(score_date) from ml.churn_scores)
        order by s.value_rank""")
    assert frame["churn_risk.tier"].tolist() == expected["customer_tier"].tolist()
    assert frame["churn_risk.churn_probability"].tolist() == pytest.approx(
        expected["churn_probability"].tolist()
    )


AT_RISK_SQL = """
    with latest as (
      select * from ml.churn_scores
      where score_date = (select max(score_date) from ml.churn_scores)),  -- the latest run
    flagged as (
      select d.customer_id, d.customer_segment as segment,
             d.customer_status = 'Active' as is_customer,
             d.customer_status = 'Active' and case when s.customer_id is not null
               then s.risk_band = 'high' else v.meets_inactivity_rule end as is_at_risk,
             case when d.customer_status = 'Active' then s.predicted_clv_amount end
               as predicted_clv_amount
      from warehouse.dim_customer d
      join marts.customer_360_view v using (customer_id)
      left join latest s using (customer_id)
      where d.is_current),
    revenue_90d as (
      select customer_id, sum(revenue_amount) as revenue
      from warehouse.fact_invoice, marts.data_as_of
      where invoice_date between as_of_date - interval 89 day and as_of_date
      group by all)
    select segment,
           count(*) filter (where is_at_risk) as at_risk_customers,
           count(*) filter (where is_at_risk) * 1.0
             / nullif(count(*) filter (where is_customer), 0) as at_risk_rate,
           sum(r.revenue) filter (where is_at_risk) as revenue_at_risk,
           sum(predicted_clv_amount) as predicted_clv,
           avg(predicted_clv_amount) as avg_predicted_clv
    from flagged left join revenue_90d r using (customer_id)
    group by all"""


def test_at_risk_revenue_at_risk_and_clv_now_by_segment(built):
    expected = built.sql(AT_RISK_SQL)
    actual = semantic(
        built,
        "customer_health",
        [
            "at_risk_customers",
            "at_risk_rate",
            "revenue_at_risk",
            "predicted_clv",
            "avg_predicted_clv",
        ],
        ["segment"],
    )
    assert_same(actual, expected, ["segment"], CENT)
    smb = actual.set_index("segment").loc["SMB"]
    # C002: high band, invoices of 2024-02-01 and 2024-03-01 (80 each) in the 90 days
    assert (smb.at_risk_customers, smb.revenue_at_risk) == (1, pytest.approx(160.0))


def test_historical_clv_and_health_score_by_segment(built):
    expected = built.sql(f"""
        with value as (
          select customer_id, sum(revenue_amount) as amount from warehouse.fact_invoice
          group by all
          union all
          select customer_id, sum(gross_amount - discount_amount) from warehouse.fact_order
          where order_status = 'Completed' group by all)
        select c.segment, sum(value.amount) as historical_clv
        from {CURRENT} c left join value using (customer_id) group by all""")
    health = built.sql(
        "select customer_segment as segment, avg(health_score) as avg_health_score "
        "from marts.customer_360_view group by all"
    )
    expected = expected.merge(health, on="segment")
    actual = semantic(built, "customer_health", ["historical_clv", "avg_health_score"], ["segment"])
    assert_same(actual, expected, ["segment"], CENT)


def test_at_risk_rate_by_segment_and_month_uses_the_month_end_flag(built):
    expected = built.sql(f"""
        select c.segment, m.month_start_date as month,
               count(*) filter (where m.is_at_risk_at_month_end) * 1.0
                 / nullif(count(*) filter (where m.is_customer_at_month_end), 0) as at_risk_rate
        from marts.customer_monthly_activity m join {CURRENT} c using (customer_id)
        group by all""")
    actual = semantic(built, "churn", ["at_risk_rate"], ["segment"], month="month")
    assert_same(actual, expected, ["segment", "month"])


# -- support ------------------------------------------------------------------------------

SUPPORT_SQL = f"""
    with months as (
      select cast(m as date) as month,
             cast(least(m + interval 1 month, (select reference_date from marts.data_as_of))
                  as date) as month_end
      from unnest(generate_series(date '2024-01-01', date '2024-03-01', interval 1 month))
        as t(m)),
    status_at as (
      select months.month, d.customer_id,
             max(case when d.valid_from < months.month
                       and (d.valid_to is null or d.valid_to >= months.month)
                      then (d.customer_status = 'Active')::int end) as at_start,
             max(case when d.valid_from < months.month_end
                       and (d.valid_to is null or d.valid_to >= months.month_end)
                      then (d.customer_status = 'Active')::int end) as at_end
      from months cross join warehouse.dim_customer d group by all),
    customers as (
      select c.segment, s.month,
             (sum(coalesce(at_start, 0)) + sum(coalesce(at_end, 0))) / 2.0 as avg_customers
      from status_at s join {CURRENT} c using (customer_id) group by all),
    tickets as (
      select c.segment, date_trunc('month', t.created_at) as month, count(*) as tickets,
             avg(t.satisfaction_score) as csat,
             count(*) filter (where t.is_resolved and t.is_first_contact_resolution) * 1.0
               / nullif(count(*) filter (where t.is_resolved), 0)
               as first_contact_resolution_rate,
             avg(t.resolution_hours) as mean_time_to_resolve_hours
      from warehouse.fact_support_ticket t join {CURRENT} c using (customer_id)
      group by all)
    select customers.segment, customers.month, coalesce(tickets.tickets, 0) as tickets,
           100.0 * coalesce(tickets.tickets, 0) / nullif(customers.avg_customers, 0)
             as tickets_per_100_customers,
           tickets.csat, tickets.first_contact_resolution_rate,
           tickets.mean_time_to_resolve_hours
    from customers left join tickets using (segment, month)
    where customers.avg_customers > 0"""


def test_support_quality_by_segment_and_month(built):
    expected = built.sql(SUPPORT_SQL)
    actual = semantic(
        built,
        "support",
        [
            "tickets",
            "tickets_per_100_customers",
            "csat",
            "first_contact_resolution_rate",
            "mean_time_to_resolve_hours",
        ],
        ["segment"],
        month="month",
    )
    assert_same(actual, expected, ["segment", "month"])
    assert actual.tickets.sum() == 4


# -- marketing and sales ------------------------------------------------------------------


def test_campaign_response_rate_and_roi_by_segment_and_start_month(built):
    expected = built.sql(f"""
        with targets as (
          select c.segment, date_trunc('month', k.start_date) as month,
                 count(*) as targets,
                 count(*) filter (where t.has_responded and t.response_type <> 'Opted Out')
                   as responses,
                 sum(t.attributed_revenue_amount) as attributed_revenue
          from warehouse.fact_campaign_target t
          join warehouse.dim_campaign k using (campaign_id)
          join {CURRENT} c using (customer_id) group by all),
        budgets as (
          select segment, month, sum(budget_amount) as budget from (
            select distinct c.segment, date_trunc('month', k.start_date) as month,
                   k.campaign_id, k.budget_amount
            from warehouse.fact_campaign_target t
            join warehouse.dim_campaign k using (campaign_id)
            join {CURRENT} c using (customer_id)) group by all)
        select segment, month, responses * 1.0 / targets as response_rate,
               attributed_revenue / nullif(budget, 0) as roi, budget
        from targets join budgets using (segment, month)""")
    actual = semantic(
        built, "marketing", ["response_rate", "roi", "budget"], ["segment"], month="start_date"
    )
    assert_same(actual, expected, ["segment", "month"], CENT)


def test_pipeline_value_and_win_rate_by_segment_and_close_month(built):
    expected = built.sql(f"""
        select c.segment, date_trunc('month', o.close_date) as month,
               sum(o.opportunity_amount * o.close_probability) filter (where not o.is_closed)
                 as pipeline_value,
               count(*) filter (where o.is_won) * 1.0
                 / nullif(count(*) filter (where o.is_closed), 0) as win_rate
        from warehouse.dim_opportunity o join {CURRENT} c using (customer_id)
        group by all""")
    actual = semantic(
        built,
        "sales",
        ["pipeline_value", "win_rate"],
        ["segment"],
        month="close_date",
        date_range=("2024-01-01", "2024-12-31"),
    )
    assert_same(actual, expected, ["segment", "month"], CENT)


# -- fan-out ---------------------------------------------------------------------------------


def test_service_adoption_and_recurring_charge_by_segment_and_service_type(built):
    expected = built.sql(f"""
        select c.segment, s.service_type,
               count(*) as assignments,
               count(*) filter (where a.is_active) as active_assignments,
               count(distinct a.customer_id) filter (where a.is_active) as subscribed_customers,
               sum(a.monthly_charge_amount) filter (where a.is_active)
                 as monthly_recurring_charge
        from warehouse.fact_service_assignment a
        join {CURRENT} c using (customer_id)
        join warehouse.dim_service s using (service_id)
        group by all""")
    actual = semantic(
        built,
        "subscriptions",
        ["assignments", "active_assignments", "subscribed_customers", "monthly_recurring_charge"],
        ["segment", "service_type"],
    )
    assert_same(actual, expected, ["segment", "service_type"], CENT)
    assert (
        actual.assignments.sum()
        == built.sql("select count(*) as n from warehouse.fact_service_assignment").n[0]
    )


def test_a_customers_usage_history_by_month_from_the_fact(built):
    expected = built.sql("""
        select date_trunc('month', usage_date) as month, sum(data_volume_mb) as data_volume_mb,
               sum(outage_minutes) as outage_minutes
        from warehouse.fact_network_usage where customer_id = 'C001' group by all""")
    assert len(expected) > 0
    frame = built.load(
        {
            "measures": ["usage.data_volume_mb", "usage.outage_minutes"],
            "timeDimensions": [
                {"dimension": "usage.usage_date", "granularity": "month", "dateRange": list(MONTHS)}
            ],
            "filters": [{"member": "usage.customer_id", "operator": "equals", "values": ["C001"]}],
        }
    )
    frame.columns = ["month", "data_volume_mb", "outage_minutes"]
    assert_same(frame, expected, ["month"])


def test_mixing_customer_and_ticket_measures_keeps_revenue(built):
    alone = semantic(built, "customer_health", ["revenue"], ["segment"])
    tickets_alone = semantic(built, "customer_health", ["tickets", "csat"], ["segment"])
    customers_alone = semantic(built, "customer_health", ["customers", "at_risk_rate"], ["segment"])
    mixed = semantic(
        built,
        "customer_health",
        ["revenue", "customers", "at_risk_rate", "tickets", "csat"],
        ["segment"],
    )
    expected = alone.merge(tickets_alone, on="segment").merge(customers_alone, on="segment")
    assert_same(mixed, expected, ["segment"], CENT)
    # C003 (Enterprise) has 2 tickets and 3 invoices: a fanned-out join would triple count
    enterprise = mixed.set_index("segment").loc["Enterprise"]
    assert enterprise.revenue == pytest.approx(172.5)


# -- access policies -----------------------------------------------------------------------

VIEW_MEASURES = {
    "customer_health": ["customers", "revenue", "tickets"],
    "revenue": ["revenue", "orders_placed"],
    "engagement": ["customers", "revenue"],
    "churn": ["customers_in_base_at_month_start", "churned_customers"],
    "support": ["tickets"],
    "marketing": ["targets", "budget"],
    "sales": ["opportunities", "pipeline_value"],
    "usage": ["data_volume_mb", "sessions"],
    "subscriptions": ["assignments", "monthly_recurring_charge"],
    "churn_risk": ["scores", "avg_score_probability"],
}
MANAGER = {"account_manager_id": "AM02"}  # owns C003 and C004


@pytest.mark.parametrize("view", sorted(VIEW_MEASURES))
def test_account_manager_sees_only_their_customers_in_every_view(built, view):
    measures = [f"{view}.{m}" for m in VIEW_MEASURES[view]]
    own = built.load(
        {"measures": measures, "dimensions": [f"{view}.account_manager_id"]},
        role="account_manager",
        context=MANAGER,
    )
    assert own[f"{view}.account_manager_id"].tolist() == ["AM02"]
    everyone = built.load({"measures": measures})
    filtered = built.load(
        {
            "measures": measures,
            "filters": [
                {"member": f"{view}.account_manager_id", "operator": "equals", "values": ["AM02"]}
            ],
        }
    )
    mine = built.load({"measures": measures}, role="account_manager", context=MANAGER)
    assert_same(mine.assign(k=1), filtered.assign(k=1), ["k"], CENT)
    assert (everyone.fillna(0).to_numpy() != mine.fillna(0).to_numpy()).any()


def test_account_manager_without_an_id_is_refused(built):
    with pytest.raises(AccessDenied, match="account_manager_id"):
        built.load({"measures": ["revenue.revenue"]}, role="account_manager")


def test_pii_is_masked_for_analysts_and_callers_without_a_role(built):
    query = {
        "dimensions": [
            "customer_health.customer_id",
            "customer_health.full_name",
            "customer_health.email",
            "customer_health.phone",
        ],
        "order": {"customer_health.customer_id": "asc"},
    }
    real = built.sql(
        "select customer_id, customer_name, email, phone "
        "from warehouse.dim_customer where is_current order by customer_id"
    )
    executive = built.load(query)
    assert executive["customer_health.email"].tolist() == real.email.tolist()
    domains = ["***@" + email.split("@")[1] for email in real.email]
    for role in ("analyst", None):
        masked = built.load(query, role=role)
        assert masked["customer_health.customer_id"].tolist() == real.customer_id.tolist()
        assert masked["customer_health.email"].tolist() == domains
        assert set(masked["customer_health.full_name"]) == {"*** masked ***"}
        assert not set(masked["customer_health.phone"]) & set(real.phone.dropna())


def test_unknown_roles_are_refused(built):
    with pytest.raises(AccessDenied, match="no access policy applies"):
        built.load({"measures": ["revenue.revenue"]}, role="intern")


def test_rolling_30_day_active_customers(built):
    """Seed 002's rolling 30-day active customers, the governed measure, by day and segment:
    equal to marts.active_customers_30d on EVERY day and segment of the mart (0 where the mart
    has Active customers but none active), and both equal to plain SQL of the rule written here
    from dim_customer and the activity days: status Active and segment of the CRM version in
    effect at the end of the counted day, an activity day in [day - 29, day]. The fixture has
    customers whose version changed within 30 days before a counted day (where a count over
    activity rows with the status of the activity day would differ)."""
    hand = built.sql("""
        with days as (
          select distinct calendar_date from marts.active_customers_30d
        ), versions as (
          select customer_id, customer_segment, customer_status,
                 cast(valid_from as date) as first_day, cast(valid_to as date) as end_day
          from warehouse.dim_customer
        ), on_day as (
          select d.calendar_date, v.customer_id, v.customer_segment
          from days d join versions v
            on v.first_day <= d.calendar_date
            and (v.end_day is null or v.end_day > d.calendar_date)
          where v.customer_status = 'Active'
        )
        select o.calendar_date, o.customer_segment,
               count(distinct o.customer_id) as active_customers_30d
        from on_day o
        where exists (
          select 1 from marts.customer_daily_activity a
          where a.customer_id = o.customer_id and a.is_activity_day
            and a.activity_date between o.calendar_date - interval 29 day and o.calendar_date)
        group by all""")
    mart = built.sql(
        "select calendar_date, customer_segment, active_customers_30d "
        "from marts.active_customers_30d"
    )
    first, last = mart.calendar_date.min(), mart.calendar_date.max()
    assert mart.calendar_date.nunique() == (last - first).days + 1 >= 60
    changed = built.sql("""
        select count(*) as cells from marts.customer_active_30d_days d
        join warehouse.dim_customer v on v.customer_id = d.customer_id
          and cast(v.valid_from as date) between d.calendar_date - interval 29 day
                                             and d.calendar_date
          and v.valid_from > (select min(valid_from) from warehouse.dim_customer w
                              where w.customer_id = v.customer_id)""")
    assert changed.cells[0] > 0, "the fixture has no version change inside a 30-day window"
    frame = built.load(
        {
            "measures": ["activity.active_customers_30d"],
            "dimensions": ["activity.segment_on_day"],
            "timeDimensions": [
                {
                    "dimension": "activity.calendar_date",
                    "granularity": "day",
                    "dateRange": [str(first.date()), str(last.date())],
                }
            ],
        }
    )
    got = frame.rename(
        columns={
            "activity.calendar_date.day": "calendar_date",
            "activity.segment_on_day": "customer_segment",
            "activity.active_customers_30d": "active_customers_30d",
        }
    )
    got = got[got.customer_segment.notna()]
    keys = ["calendar_date", "customer_segment"]
    # every (day, segment) of the mart; the measure has no row where nobody is active
    governed = mart[keys].merge(got, on=keys, how="left").fillna({"active_customers_30d": 0})
    assert len(got.merge(mart[keys], on=keys)) == len(got), "measure rows outside the mart"
    assert_same(governed, mart, keys)
    by_hand = mart[keys].merge(hand, on=keys, how="left").fillna({"active_customers_30d": 0})
    assert_same(by_hand, mart, keys)
    assert (mart.active_customers_30d > 0).sum() >= 60
