"""The customer health score and the behavioural segment: one definition for every mart.

`marts.customer_360_view` (today) and `marts.churn_prediction_features` (each monthly snapshot)
call these macros on their own trailing-window signals, so a score means the same thing now and
in history. Every component is a deterministic formula on one customer's signals in 0..1 (no
ranks against other customers), so a score can be recomputed by hand; sqlmesh/models/marts/
README.md documents them with a worked example.

Health score (0..100) = round(100 * sum(weight * component), 1), weights from seed 004:
  usage 0.35       0.5 * usage_days_30d / 30
                   + 0.5 * clamp(1 + usage_change_30d_pct, 0, 1)   (1 when there is no prior usage)
  engagement 0.25  0.5 * active_days_90d / 90   (consistency: days with usage, an order or a login)
                   + 0.5 * campaign responsiveness in the last 90 days: 0 after an opt-out, else
                   min(responses / messages, 1), and 0.5 (neutral) when no message was sent
  outcomes 0.20    0.5 * services used in the last 30 days / services in service (0 if none)
                   + 0.5 * (1 - min(credits / gross billed over the last 3 months, 1))
  account 0.15     mean of tier (Bronze .25, Silver .5, Gold .75, Platinum 1),
                   min(tenure_days / 730, 1) and contract (no end date .5, > 90 days left 1, else 0)
  support 0.05     1 - min((tickets + escalated tickets + tickets rated 1-2) in 90 days / 4, 1)
"""

from __future__ import annotations

from sqlglot import exp
from sqlmesh import macro
from sqlmesh.core.macros import MacroEvaluator

#: seed 004 "Customer Health Scoring Model" weights, in percent
WEIGHTS: dict[str, int] = {
    "usage": 35,
    "engagement": 25,
    "outcomes": 20,
    "account": 15,
    "support": 5,
}
TIER_FACTORS: dict[str, float] = {"Bronze": 0.25, "Silver": 0.5, "Gold": 0.75, "Platinum": 1.0}
FULL_USAGE_DAYS = 30
FULL_ENGAGEMENT_DAYS = 90
NEUTRAL_RESPONSIVENESS = 0.5
FULL_TENURE_DAYS = 730
RENEWAL_WINDOW_DAYS = 90
SUPPORT_SIGNALS_TO_ZERO = 4

#: behavioural segments (seed 002) and the rule thresholds
CHURNED = "Churned"
AT_RISK_DORMANT = "At-Risk / Dormant"
DISCOUNT_DRIVEN = "Discount-Driven"
HIGH_VALUE_ACTIVE = "High-Value Active"
CORE = "Core"
DISCOUNT_DRIVEN_MIN_SHARE = 0.10
HIGH_VALUE_MIN_HEALTH = 75
#: the inactivity rule's usage decline (seed 004: a 30%+ decrease over 30 days)
USAGE_DECLINE_AT_RISK = -0.30


def _health_sql(evaluator: MacroEvaluator, *expressions: exp.Expression) -> list[str]:
    return [expression.sql(evaluator.dialect) for expression in expressions]


def _health_ratio(numerator_sql: str, cap: float) -> str:
    return f"least(cast({numerator_sql} as double) / {cap}, 1.0)"


@macro()
def health_usage_component(
    evaluator: MacroEvaluator, usage_days_30d: exp.Expression, usage_change_30d_pct: exp.Expression
) -> exp.Expression:
    """Share of the last 30 days with usage, and how far usage kept up with the 30 days before."""
    days, change = _health_sql(evaluator, usage_days_30d, usage_change_30d_pct)
    return evaluator.parse_one(
        f"0.5 * {_health_ratio(days, FULL_USAGE_DAYS)}"
        f" + 0.5 * coalesce(greatest(least(1.0 + {change}, 1.0), 0.0), 1.0)"
    )


@macro()
def health_engagement_component(
    evaluator: MacroEvaluator,
    active_days_90d: exp.Expression,
    campaigns_targeted_90d: exp.Expression,
    campaign_responses_90d: exp.Expression,
    campaign_opt_outs_90d: exp.Expression,
) -> exp.Expression:
    """Consistent activity over 90 days, and responsiveness to the messages we sent."""
    days, targeted, responses, opt_outs = _health_sql(
        evaluator,
        active_days_90d,
        campaigns_targeted_90d,
        campaign_responses_90d,
        campaign_opt_outs_90d,
    )
    return evaluator.parse_one(
        f"0.5 * {_health_ratio(days, FULL_ENGAGEMENT_DAYS)}"
        f" + 0.5 * (case when {opt_outs} > 0 then 0.0"
        f" when {targeted} > 0 then least(cast({responses} as double) / {targeted}, 1.0)"
        f" else {NEUTRAL_RESPONSIVENESS} end)"
    )


@macro()
def health_outcomes_component(
    evaluator: MacroEvaluator,
    services_used_30d: exp.Expression,
    active_services_count: exp.Expression,
    credit_3m_amount: exp.Expression,
    gross_3m_amount: exp.Expression,
) -> exp.Expression:
    """Value realised: the services paid for are used, and bills were not credited for failures."""
    used, active, credit, gross = _health_sql(
        evaluator, services_used_30d, active_services_count, credit_3m_amount, gross_3m_amount
    )
    return evaluator.parse_one(
        f"0.5 * (case when {active} > 0 then least(cast({used} as double) / {active}, 1.0)"
        f" else 0.0 end)"
        f" + 0.5 * (1.0 - case when {gross} > 0 then least({credit} / {gross}, 1.0) else 0.0 end)"
    )


@macro()
def health_account_component(
    evaluator: MacroEvaluator,
    customer_tier: exp.Expression,
    tenure_days: exp.Expression,
    days_to_contract_end: exp.Expression,
) -> exp.Expression:
    """Account characteristics: service tier, tenure and how secure the contract is."""
    tier, tenure, days_left = _health_sql(
        evaluator, customer_tier, tenure_days, days_to_contract_end
    )
    tiers = " ".join(f"when '{name}' then {factor}" for name, factor in TIER_FACTORS.items())
    return evaluator.parse_one(
        f"((case {tier} {tiers} else 0.0 end)"
        f" + greatest({_health_ratio(tenure, FULL_TENURE_DAYS)}, 0.0)"
        f" + (case when {days_left} is null then 0.5"
        f" when {days_left} > {RENEWAL_WINDOW_DAYS} then 1.0 else 0.0 end)) / 3.0"
    )


@macro()
def health_support_component(
    evaluator: MacroEvaluator,
    tickets_90d: exp.Expression,
    escalated_tickets_90d: exp.Expression,
    low_csat_tickets_90d: exp.Expression,
) -> exp.Expression:
    """1 without support trouble; each ticket, escalation or 1-2 rating in 90 days costs 1/4."""
    signals = " + ".join(
        _health_sql(evaluator, tickets_90d, escalated_tickets_90d, low_csat_tickets_90d)
    )
    return evaluator.parse_one(f"1.0 - {_health_ratio(signals, SUPPORT_SIGNALS_TO_ZERO)}")


@macro()
def health_score(
    evaluator: MacroEvaluator,
    usage: exp.Expression,
    engagement: exp.Expression,
    outcomes: exp.Expression,
    account: exp.Expression,
    support: exp.Expression,
) -> exp.Expression:
    """0..100, rounded to one decimal: the seed-004 weighted sum of the five components."""
    components = _health_sql(evaluator, usage, engagement, outcomes, account, support)
    weighted = " + ".join(
        f"{weight} * {component}"
        for weight, component in zip(WEIGHTS.values(), components, strict=True)
    )
    return evaluator.parse_one(f"round({weighted}, 1)")


@macro()
def meets_inactivity_rule(
    evaluator: MacroEvaluator, is_active_30d: exp.Expression, usage_change_30d_pct: exp.Expression
) -> exp.Expression:
    """No usage day, order or portal login in 30 days, or usage down 30%+ on the 30 days before."""
    active, change = _health_sql(evaluator, is_active_30d, usage_change_30d_pct)
    return evaluator.parse_one(
        f"(not {active} or coalesce({change} <= {USAGE_DECLINE_AT_RISK}, false))"
    )


@macro()
def behavioural_segment(
    evaluator: MacroEvaluator,
    customer_status: exp.Expression,
    is_at_risk: exp.Expression,
    discount_share_12m: exp.Expression,
    revenue_12m_amount: exp.Expression,
    base_avg_revenue_12m_amount: exp.Expression,
    is_active_30d: exp.Expression,
    health_score: exp.Expression,
) -> exp.Expression:
    """Seed 002's segments, first matching rule wins (README: "Behavioural segments").

    The share and the revenue comparison are rounded to 9 decimals: they are ratios and sums of
    doubles, which DuckDB and Spark add in different orders, and a discount of exactly 10% must
    be Discount-Driven on both (unrounded, 0.1 came out as 0.09999... on one engine).
    """
    status, at_risk, share, revenue, base, active, health = _health_sql(
        evaluator,
        customer_status,
        is_at_risk,
        discount_share_12m,
        revenue_12m_amount,
        base_avg_revenue_12m_amount,
        is_active_30d,
        health_score,
    )
    return evaluator.parse_one(
        f"case when {status} = 'Churned' then '{CHURNED}'"
        f" when {status} = 'Inactive' or {at_risk} then '{AT_RISK_DORMANT}'"
        f" when round({share}, 9) >= {DISCOUNT_DRIVEN_MIN_SHARE} and {revenue} > 0"
        f" then '{DISCOUNT_DRIVEN}'"
        f" when {active} and round({revenue} - {base}, 9) >= 0"
        f" and {health} >= {HIGH_VALUE_MIN_HEALTH}"
        f" then '{HIGH_VALUE_ACTIVE}'"
        f" else '{CORE}' end"
    )
