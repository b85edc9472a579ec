/*
  Customer 360 (seed 000): one row per customer with the current profile, relationship
  history, behaviour, support, health, behavioural segment and churn score.

  "Current" is the warehouse's as-of date (marts.data_as_of), not the clock: trailing windows
  end at reference_date = as_of_date + 1 day (exclusive). Every signal, health score and
  behavioural segment is the as-of row of marts.customer_signals, the same query that computes
  the monthly snapshots of churn_prediction_features, so today's health score and a snapshot's
  are comparable; this view adds the profile (PII), lifetime totals, open opportunities and the
  latest churn score.
  Churn scores come from ml.churn_scores: the latest scoring run (its score date), so a
  customer who churned since an earlier run carries no stale score and the view does not depend
  on how many builds wrote history; they are null, never invented, for a customer that run did
  not score (churned before it, or new since). The pre-statement creates that table empty
  when ml/ has not written it yet (sqlmesh/macros/marts_external_tables.py).

  Two different things, kept apart: `is_at_risk` (the call list: the churn score's high band)
  and the behavioural segment At-Risk / Dormant (suspended, or no activity in 30 days / usage
  down 30%+: the rule every monthly snapshot uses), so a customer active yesterday whom the model
  puts in the call band is not called dormant.
*/
MODEL (
  name marts.customer_360_view,
  kind FULL,
  cron '@daily',
  owner customer_analytics,
  grain customer_id,
  description 'Customer 360: one row per customer (current and churned) as of marts.data_as_of, with profile, revenue, orders, services, usage, support, campaigns, opportunities, activity, engagement and health scores, behavioural segment, at-risk flag and the latest churn score. Column dictionary: sqlmesh/models/marts/README.md.',
  column_descriptions (
    customer_id = 'CRM customer id',
    customer_name = 'Person or organisation name (PII)',
    email = 'Contact email (PII)',
    phone = 'Contact phone number (PII)',
    customer_segment = 'Residential, SMB, Enterprise or Government (current CRM version)',
    customer_tier = 'Bronze, Silver, Gold or Platinum (current CRM version)',
    region = 'Sales region (current CRM version)',
    customer_status = 'Active, Inactive (suspended) or Churned (current CRM version)',
    account_manager_id = 'Owning account manager (null for Residential)',
    signup_date = 'Date the customer first signed a contract',
    contract_end_date = 'End of the current contract term (null = month-to-month)',
    has_marketing_consent = 'Customer agreed to marketing contact',
    as_of_date = 'The date the row describes (marts.data_as_of)',
    churn_date = 'Date the status became Churned (null unless churned)',
    tenure_days = 'Days from signup to the churn date, or to the end of the as-of date',
    tenure_months = 'floor(tenure_days * 12 / 365.25)',
    days_to_contract_end = 'Days from the end of the as-of date to contract_end_date (negative: lapsed; null: month-to-month)',
    lifetime_revenue_amount = 'Invoice revenue (gross - credits - discounts) over the whole history',
    revenue_12m_amount = 'Invoice revenue dated in the 12 calendar months up to the as-of date',
    revenue_90d_amount = 'Invoice revenue dated in the 90 days up to the as-of date (revenue-at-risk base)',
    credit_3m_amount = 'Credits on the invoices of the last 3 calendar months',
    gross_3m_amount = 'Gross billed on the invoices of the last 3 calendar months',
    lifetime_orders_count = 'Completed one-off orders over the whole history (cancelled and returned excluded)',
    lifetime_order_revenue_amount = 'Net revenue (gross - discount) of the completed orders',
    avg_order_value_amount = 'AOV: lifetime_order_revenue_amount / lifetime_orders_count (null without orders)',
    order_discount_share = 'Discount / gross of the completed orders (null without orders)',
    discount_share_12m = 'Invoice and order discounts / invoice and order gross over the last 12 months (orders of any status; null: nothing billed)',
    orders_90d = 'Orders placed in the last 90 days (any status)',
    active_services_count = 'Services in service after the as-of date (started, not ended)',
    service_types = 'Types of those services, comma-separated (Internet, Mobile, TV, Voice)',
    has_internet = 'An Internet service in service',
    has_tv = 'A TV service in service',
    has_mobile = 'A Mobile service in service',
    has_voice = 'A Voice service in service',
    monthly_recurring_charge_amount = 'Sum of the monthly charges of the services in service',
    services_used_30d = 'Distinct services with usage in the last 30 days',
    usage_days_30d = 'Days with network usage in the last 30 days',
    usage_days_90d = 'Days with network usage in the last 90 days',
    data_volume_mb_30d = 'Data used in the last 30 days, MB',
    data_volume_mb_90d = 'Data used in the last 90 days, MB',
    voice_minutes_30d = 'Call minutes in the last 30 days',
    voice_minutes_90d = 'Call minutes in the last 90 days',
    sessions_30d = 'Network sessions in the last 30 days',
    sessions_prior_30d = 'Network sessions in the 30 days before those',
    usage_trend_pct = 'sessions_30d / sessions_prior_30d - 1 (-0.3 = 30% fewer); null without prior sessions or when the prior window starts before the history',
    outage_minutes_30d = 'Outage minutes in the last 30 days',
    lifetime_tickets_count = 'Support tickets ever opened',
    tickets_90d = 'Tickets opened in the last 90 days',
    escalated_tickets_90d = 'Of those, escalated',
    low_csat_tickets_90d = 'Of those, resolved and rated 1 or 2',
    open_tickets = 'Tickets not resolved by the end of the as-of date',
    avg_satisfaction_score_90d = 'Mean CSAT (1..5) of the rated tickets opened in the last 90 days',
    lifetime_avg_satisfaction_score = 'Mean CSAT (1..5) of all rated tickets',
    campaigns_targeted_count = 'Campaign messages ever sent to the customer',
    campaigns_responded_count = 'Of those, answered with any response (opened, clicked, converted, opted out)',
    campaigns_targeted_90d = 'Campaign messages sent in the last 90 days',
    campaign_responses_90d = 'Responses other than opt-outs in the last 90 days',
    campaign_opt_outs_90d = 'Opt-outs in the last 90 days',
    open_opportunities_count = 'Sales opportunities not Closed Won / Closed Lost',
    open_opportunity_amount = 'Sum of their potential annual value',
    open_opportunity_weighted_amount = 'Sum of value x close probability (pipeline value)',
    kb_views_30d = 'KB article views (portal logins) in the last 30 days',
    kb_views_90d = 'KB article views in the last 90 days',
    active_days_30d = 'Days with usage, an order or a portal login in the last 30 days',
    active_days_90d = 'Days with usage, an order or a portal login in the last 90 days',
    last_activity_date = 'Last day with usage, an order or a portal login',
    recency_days = 'Days from last_activity_date to the as-of date (null: never active)',
    is_active_30d = 'Status Active and a usage day, order or portal login in the last 30 days (glossary "active customer")',
    engagement_score = '0..100: 100 x health_engagement_component (activity on the last 90 days and responsiveness to campaign messages); null for churned customers',
    health_usage_component = 'Health score usage component, 0..1 (README: "Health score")',
    health_engagement_component = 'Health score engagement component, 0..1',
    health_outcomes_component = 'Health score outcomes component, 0..1',
    health_account_component = 'Health score account component, 0..1',
    health_support_component = 'Health score support component, 0..1',
    health_score = '0..100, seed 004 weights (usage 35, engagement 25, outcomes 20, account 15, support 5); null for churned customers',
    historical_clv_amount = 'Realised customer value: lifetime invoice revenue + lifetime completed-order net revenue',
    meets_inactivity_rule = 'No activity in the last 30 days, or usage down 30%+ on the 30 days before',
    is_at_risk = 'Status Active and: churn score in the high band, or (no score) the inactivity rule holds',
    at_risk_basis = 'What decided is_at_risk: churn_score or inactivity_rule (null for customers not Active)',
    behavioural_segment = 'High-Value Active, Discount-Driven, At-Risk / Dormant, Core or Churned, by the same rule as the monthly snapshots (README: "Behavioural segments"; the churn score plays no part)',
    churn_probability = 'Churn probability (90 days) of the latest scoring run (ml.churn_scores at its latest score_date); null when that run did not score the customer (churned before it, or new since)',
    churn_risk_band = 'low, medium or high (latest score)',
    churn_reason_1 = 'Strongest risk-raising reason of the latest score, a sentence with the customer''s own numbers (ml/playbook.yaml)',
    churn_driver_1 = 'Its driver family (Usage decline, Service problems, ...)',
    churn_action_1 = 'The retention playbook''s action for that driver',
    churn_reason_2 = 'Second reason of the latest score (null: fewer drivers raise the risk)',
    churn_driver_2 = 'Its driver family',
    churn_action_2 = 'Its playbook action',
    churn_reason_3 = 'Third reason of the latest score',
    churn_driver_3 = 'Its driver family',
    churn_action_3 = 'Its playbook action',
    predicted_clv_amount = 'Predicted customer lifetime value of the latest score',
    score_date = 'Snapshot date of the latest score',
    scored_at = 'When the latest score was written',
    model_version = 'Model version of the latest score'
  ),
  audits (
    not_null(columns := (
      customer_id, customer_segment, customer_tier, customer_status, as_of_date, tenure_days,
      lifetime_revenue_amount, historical_clv_amount, is_active_30d, is_at_risk,
      behavioural_segment
    )),
    unique_values(columns := (customer_id)),
    accepted_range(column := health_score, min_v := 0, max_v := 100),
    accepted_range(column := engagement_score, min_v := 0, max_v := 100),
    accepted_range(column := avg_satisfaction_score_90d, min_v := 1, max_v := 5),
    accepted_range(column := churn_probability, min_v := 0, max_v := 1),
    accepted_values(
      column := behavioural_segment,
      is_in := ('High-Value Active', 'Discount-Driven', 'At-Risk / Dormant', 'Core', 'Churned')
    ),
    accepted_values(
      column := churn_risk_band, is_in := ('low', 'medium', 'high'),
      condition := churn_risk_band is not null
    ),
    marts_unit_interval(columns := (
      order_discount_share, discount_share_12m, health_usage_component,
      health_engagement_component, health_outcomes_component, health_account_component,
      health_support_component
    )),
    forall(criteria := (
      health_score is null or customer_status <> 'Churned',
      (engagement_score is null) = (customer_status = 'Churned'),
      not is_at_risk or customer_status = 'Active',
      (behavioural_segment = 'Churned') = (customer_status = 'Churned'),
      usage_days_30d <= usage_days_90d
    ))
  )
);

@create_external_table(ml.churn_scores);


with as_of as (
  select as_of_date, reference_date from marts.data_as_of
),

current_signals as (
  /* the as-of row of every customer (the row of the current as-of date only) */
  select signals.*
  from marts.customer_signals as signals
  inner join as_of
    on signals.reference_date = as_of.reference_date
  where signals.reference_kind = 'as_of'
),

contacts as (
  select customer_id, customer_name, email, phone
  from warehouse.dim_customer
  where is_current
),

lifetime_billing as (
  select
    invoices.customer_id,
    sum(cast(invoices.revenue_amount as decimal(18, 2))) as lifetime_revenue_amount
  from warehouse.fact_invoice as invoices
  cross join as_of
  where invoices.invoice_date < as_of.reference_date
  group by invoices.customer_id
),

completed_orders as (
  select
    orders.customer_id,
    count(*) as lifetime_orders_count,
    sum(cast(orders.net_amount as decimal(18, 2))) as lifetime_order_revenue_amount,
    sum(cast(orders.gross_amount as decimal(18, 2))) as completed_order_gross_amount,
    sum(cast(orders.discount_amount as decimal(18, 2))) as completed_order_discount_amount
  from warehouse.fact_order as orders
  cross join as_of
  where
    orders.order_status = 'Completed'
    and cast(orders.ordered_at as date) < as_of.reference_date
  group by orders.customer_id
),

open_opportunities as (
  select
    customer_id,
    count(*) as open_opportunities_count,
    sum(opportunity_amount) as open_opportunity_amount,
    sum(weighted_amount) as open_opportunity_weighted_amount
  from warehouse.dim_opportunity
  where not is_closed
  group by customer_id
),

latest_scores as (
  select
    customer_id,
    score_date,
    churn_probability,
    risk_band,
    reason_1,
    reason_1_driver,
    reason_1_action,
    reason_2,
    reason_2_driver,
    reason_2_action,
    reason_3,
    reason_3_driver,
    reason_3_action,
    predicted_clv_amount,
    model_version,
    scored_at
  from ml.churn_scores
  -- the latest scoring run only: older score dates are history (trend reports, the model's
  -- backtest), and a customer who churned since has no current score
  where score_date = (select max(score_date) from ml.churn_scores)
  qualify row_number() over (
    partition by customer_id order by score_date desc, scored_at desc, model_version desc
  ) = 1
),

service_lists as (
  /* the type list is built from the flags (portable: string_agg is not on every engine, and
     SQLGlot makes concat_ws null when any part is null) */
  select
    customer_id,
    coalesce(case when has_internet then 'Internet, ' end, '')
      || coalesce(case when has_mobile then 'Mobile, ' end, '')
      || coalesce(case when has_tv then 'TV, ' end, '')
      || coalesce(case when has_voice then 'Voice, ' end, '') as service_type_list
  from current_signals
),

lifetime_totals as (
  select
    current_signals.customer_id,
    coalesce(lifetime_billing.lifetime_revenue_amount, 0) as lifetime_revenue_amount,
    coalesce(completed_orders.lifetime_orders_count, 0) as lifetime_orders_count,
    coalesce(completed_orders.lifetime_order_revenue_amount, 0)
      as lifetime_order_revenue_amount,
    completed_orders.lifetime_order_revenue_amount
      / nullif(completed_orders.lifetime_orders_count, 0) as avg_order_value_amount,
    completed_orders.completed_order_discount_amount
      / nullif(completed_orders.completed_order_gross_amount, 0) as order_discount_share,
    coalesce(open_opportunities.open_opportunities_count, 0) as open_opportunities_count,
    coalesce(open_opportunities.open_opportunity_amount, 0) as open_opportunity_amount,
    coalesce(open_opportunities.open_opportunity_weighted_amount, 0)
      as open_opportunity_weighted_amount
  from current_signals
  left join lifetime_billing
    on current_signals.customer_id = lifetime_billing.customer_id
  left join completed_orders
    on current_signals.customer_id = completed_orders.customer_id
  left join open_opportunities
    on current_signals.customer_id = open_opportunities.customer_id
)

select
  customer.customer_id,
  contacts.customer_name,
  contacts.email,
  contacts.phone,
  customer.customer_segment,
  customer.customer_tier,
  customer.region,
  customer.customer_status,
  customer.account_manager_id,
  customer.signup_date,
  customer.contract_end_date,
  customer.has_marketing_consent,
  customer.as_of_date,
  customer.churn_date,
  customer.tenure_days,
  cast(floor(customer.tenure_days * 12 / 365.25) as bigint) as tenure_months,
  customer.days_to_contract_end,
  cast(totals.lifetime_revenue_amount as double) as lifetime_revenue_amount,
  customer.revenue_12m_amount,
  customer.revenue_90d_amount,
  customer.credit_3m_amount,
  customer.gross_3m_amount,
  cast(totals.lifetime_orders_count as bigint) as lifetime_orders_count,
  cast(totals.lifetime_order_revenue_amount as double) as lifetime_order_revenue_amount,
  cast(totals.avg_order_value_amount as double) as avg_order_value_amount,
  cast(totals.order_discount_share as double) as order_discount_share,
  customer.discount_share_12m,
  customer.orders_90d,
  customer.active_services_count,
  case
    when length(service_lists.service_type_list) > 0
      then substring(
        service_lists.service_type_list, 1, length(service_lists.service_type_list) - 2
      )
  end as service_types,
  customer.has_internet,
  customer.has_tv,
  customer.has_mobile,
  customer.has_voice,
  customer.monthly_recurring_charge_amount,
  customer.services_used_30d,
  customer.usage_days_30d,
  customer.usage_days_90d,
  customer.data_volume_mb_30d,
  customer.data_volume_mb_90d,
  customer.voice_minutes_30d,
  customer.voice_minutes_90d,
  customer.sessions_30d,
  customer.sessions_prior_30d,
  customer.usage_change_30d_pct as usage_trend_pct,
  customer.outage_minutes_30d,
  customer.lifetime_tickets_count,
  customer.tickets_90d,
  customer.escalated_tickets_90d,
  customer.low_csat_tickets_90d,
  customer.open_tickets,
  customer.avg_satisfaction_score_90d,
  customer.lifetime_avg_satisfaction_score,
  customer.campaigns_targeted_count,
  customer.campaigns_responded_count,
  customer.campaigns_targeted_90d,
  customer.campaign_responses_90d,
  customer.campaign_opt_outs_90d,
  cast(totals.open_opportunities_count as bigint) as open_opportunities_count,
  cast(totals.open_opportunity_amount as double) as open_opportunity_amount,
  cast(totals.open_opportunity_weighted_amount as double) as open_opportunity_weighted_amount,
  customer.kb_views_30d,
  customer.kb_views_90d,
  customer.active_days_30d,
  customer.active_days_90d,
  customer.last_activity_date,
  customer.recency_days,
  customer.customer_status = 'Active' and customer.is_active_30d as is_active_30d,
  /* churned customers get no health or engagement score */
  case
    when customer.customer_status <> 'Churned'
      then round(100 * customer.health_engagement_component, 1)
  end as engagement_score,
  case when customer.customer_status <> 'Churned' then customer.health_usage_component end
    as health_usage_component,
  case when customer.customer_status <> 'Churned' then customer.health_engagement_component end
    as health_engagement_component,
  case when customer.customer_status <> 'Churned' then customer.health_outcomes_component end
    as health_outcomes_component,
  case when customer.customer_status <> 'Churned' then customer.health_account_component end
    as health_account_component,
  case when customer.customer_status <> 'Churned' then customer.health_support_component end
    as health_support_component,
  case when customer.customer_status <> 'Churned' then customer.health_score end
    as health_score,
  cast(totals.lifetime_revenue_amount + totals.lifetime_order_revenue_amount as double)
    as historical_clv_amount,
  customer.meets_inactivity_rule,
  customer.customer_status = 'Active' and case
    when latest_scores.risk_band is not null then latest_scores.risk_band = 'high'
    else customer.meets_inactivity_rule
  end as is_at_risk,
  case
    when customer.customer_status <> 'Active' then null
    when latest_scores.risk_band is not null then 'churn_score'
    else 'inactivity_rule'
  end as at_risk_basis,
  customer.behavioural_segment,
  cast(latest_scores.churn_probability as double) as churn_probability,
  latest_scores.risk_band as churn_risk_band,
  latest_scores.reason_1 as churn_reason_1,
  latest_scores.reason_1_driver as churn_driver_1,
  latest_scores.reason_1_action as churn_action_1,
  latest_scores.reason_2 as churn_reason_2,
  latest_scores.reason_2_driver as churn_driver_2,
  latest_scores.reason_2_action as churn_action_2,
  latest_scores.reason_3 as churn_reason_3,
  latest_scores.reason_3_driver as churn_driver_3,
  latest_scores.reason_3_action as churn_action_3,
  cast(latest_scores.predicted_clv_amount as double) as predicted_clv_amount,
  latest_scores.score_date,
  latest_scores.scored_at,
  latest_scores.model_version
from current_signals as customer
inner join contacts
  on customer.customer_id = contacts.customer_id
inner join lifetime_totals as totals
  on customer.customer_id = totals.customer_id
inner join service_lists
  on customer.customer_id = service_lists.customer_id
left join latest_scores
  on customer.customer_id = latest_scores.customer_id
