/*
  Customer 360 (seed 000): one row per customer with the current profile, relationship
  history, behaviour, support, health, behavioural segment and churn score.

  "Current" is the warehouse's as-of date (marts.data_as_of), not the clock: trailing windows
  end at reference_date = as_of_date + 1 day (exclusive), the same windows the monthly snapshots
  of churn_prediction_features use, so today's health score and yesterday's are comparable.
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
  select as_of_date, reference_date, data_start_date from marts.data_as_of
),

current_customers as (
  select
    customer_id,
    customer_name,
    email,
    phone,
    customer_segment,
    customer_tier,
    region,
    customer_status,
    account_manager_id,
    signup_date,
    contract_end_date,
    has_marketing_consent
  from warehouse.dim_customer
  where is_current
),

churn_events as (
  select customer_id, max(churn_date) as churn_date
  from marts.customer_churn_events
  group by customer_id
),

daily_activity as (
  select * from marts.customer_daily_activity
),

invoices as (
  select
    customer_id,
    invoice_date,
    cast(gross_amount as decimal(18, 2)) as gross_amount,
    cast(credit_amount as decimal(18, 2)) as credit_amount,
    cast(discount_amount as decimal(18, 2)) as discount_amount,
    cast(revenue_amount as decimal(18, 2)) as revenue_amount
  from warehouse.fact_invoice
),

orders as (
  select
    customer_id,
    cast(ordered_at as date) as ordered_date,
    order_status,
    cast(gross_amount as decimal(18, 2)) as gross_amount,
    cast(discount_amount as decimal(18, 2)) as discount_amount,
    cast(net_amount as decimal(18, 2)) as net_amount
  from warehouse.fact_order
),

network_usage as (
  select customer_id, service_id, usage_date
  from warehouse.fact_network_usage
  where session_count > 0 or data_volume_mb > 0 or voice_minutes > 0
),

tickets as (
  select
    customer_id,
    cast(created_at as date) as created_date,
    cast(resolved_at as date) as resolved_date,
    is_escalated,
    satisfaction_score
  from warehouse.fact_support_ticket
),

campaign_targets as (
  select
    customer_id,
    cast(targeted_at as date) as targeted_date,
    cast(responded_at as date) as responded_date,
    response_type
  from warehouse.fact_campaign_target
),

opportunities as (
  select customer_id, opportunity_amount, weighted_amount, is_closed
  from warehouse.dim_opportunity
),

service_assignments as (
  select
    assignments.customer_id,
    assignments.start_date,
    assignments.end_date,
    assignments.monthly_charge_amount,
    services.service_type
  from warehouse.fact_service_assignment as assignments
  inner join warehouse.dim_service as services
    on assignments.service_id = services.service_id
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

activity_rows as (
  select
    daily_activity.*,
    @days_before(daily_activity.activity_date, as_of.reference_date) as days_back
  from daily_activity
  cross join as_of
  where daily_activity.activity_date < as_of.reference_date
),

activity_signals as (
  select
    customer_id,
    @activity_window_signals(days_back),
    max(case when is_activity_day then activity_date end) as last_activity_date
  from activity_rows
  group by customer_id
),

services_used as (
  select
    network_usage.customer_id,
    count(distinct network_usage.service_id) as services_used_30d
  from network_usage
  cross join as_of
  where @within_days(@days_before(network_usage.usage_date, as_of.reference_date), 30)
  group by network_usage.customer_id
),

invoice_rows as (
  select
    invoices.*,
    @days_before(invoices.invoice_date, as_of.reference_date) as days_back,
    @months_before(invoices.invoice_date, as_of.reference_date) as months_back
  from invoices
  cross join as_of
  where invoices.invoice_date < as_of.reference_date
),

billing_signals as (
  select
    customer_id,
    sum(revenue_amount) as lifetime_revenue_amount,
    sum(case when @within_months(months_back, 12) then revenue_amount else 0 end)
      as revenue_12m_amount,
    sum(case when @within_days(days_back, 90) then revenue_amount else 0 end)
      as revenue_90d_amount,
    sum(case when @within_months(months_back, 3) then credit_amount else 0 end)
      as credit_3m_amount,
    sum(case when @within_months(months_back, 3) then gross_amount else 0 end)
      as gross_3m_amount,
    sum(case when @within_months(months_back, 12) then gross_amount else 0 end)
      as gross_12m_amount,
    sum(case when @within_months(months_back, 12) then discount_amount else 0 end)
      as discount_12m_amount
  from invoice_rows
  group by customer_id
),

order_rows as (
  select
    orders.*,
    @months_before(orders.ordered_date, as_of.reference_date) as months_back
  from orders
  cross join as_of
  where orders.ordered_date < as_of.reference_date
),

order_signals as (
  select
    customer_id,
    count(case when order_status = 'Completed' then 1 end) as lifetime_orders_count,
    sum(case when order_status = 'Completed' then net_amount else 0 end)
      as lifetime_order_revenue_amount,
    sum(case when order_status = 'Completed' then gross_amount else 0 end)
      as completed_order_gross_amount,
    sum(case when order_status = 'Completed' then discount_amount else 0 end)
      as completed_order_discount_amount,
    sum(case when @within_months(months_back, 12) then gross_amount else 0 end)
      as order_gross_12m_amount,
    sum(case when @within_months(months_back, 12) then discount_amount else 0 end)
      as order_discount_12m_amount
  from order_rows
  group by customer_id
),

services_in_service as (
  select
    service_assignments.customer_id,
    count(*) as active_services_count,
    max(case when service_assignments.service_type = 'Internet' then 1 else 0 end) = 1
      as has_internet,
    max(case when service_assignments.service_type = 'TV' then 1 else 0 end) = 1 as has_tv,
    max(case when service_assignments.service_type = 'Mobile' then 1 else 0 end) = 1
      as has_mobile,
    max(case when service_assignments.service_type = 'Voice' then 1 else 0 end) = 1
      as has_voice,
    sum(service_assignments.monthly_charge_amount) as monthly_recurring_charge_amount
  from service_assignments
  cross join as_of
  where
    service_assignments.start_date < as_of.reference_date
    and (
      service_assignments.end_date is null
      or service_assignments.end_date >= as_of.reference_date
    )
  group by service_assignments.customer_id
),

service_signals as (
  /* the type list is built from the flags (portable; string_agg is not on every engine) */
  select
    *,
    coalesce(case when has_internet then 'Internet, ' end, '')
      || coalesce(case when has_mobile then 'Mobile, ' end, '')
      || coalesce(case when has_tv then 'TV, ' end, '')
      || coalesce(case when has_voice then 'Voice, ' end, '') as service_type_list
  from services_in_service
),

ticket_rows as (
  select
    tickets.*,
    @days_before(tickets.created_date, as_of.reference_date) as days_back,
    coalesce(tickets.resolved_date < as_of.reference_date, false) as is_resolved_before
  from tickets
  cross join as_of
  where tickets.created_date < as_of.reference_date
),

support_signals as (
  select
    customer_id,
    count(*) as lifetime_tickets_count,
    count(case when @within_days(days_back, 90) then 1 end) as tickets_90d,
    count(case when @within_days(days_back, 90) and is_escalated then 1 end)
      as escalated_tickets_90d,
    count(case
      when @within_days(days_back, 90) and is_resolved_before and satisfaction_score <= 2
        then 1
    end) as low_csat_tickets_90d,
    count(case when not is_resolved_before then 1 end) as open_tickets,
    avg(case
      when @within_days(days_back, 90) and is_resolved_before then satisfaction_score
    end) as avg_satisfaction_score_90d,
    avg(case when is_resolved_before then satisfaction_score end)
      as lifetime_avg_satisfaction_score
  from ticket_rows
  group by customer_id
),

campaign_rows as (
  select
    campaign_targets.*,
    @days_before(campaign_targets.targeted_date, as_of.reference_date) as targeted_days_back,
    case
      when campaign_targets.responded_date < as_of.reference_date
        then @days_before(campaign_targets.responded_date, as_of.reference_date)
    end as responded_days_back
  from campaign_targets
  cross join as_of
  where campaign_targets.targeted_date < as_of.reference_date
),

campaign_signals as (
  select
    customer_id,
    count(*) as campaigns_targeted_count,
    count(responded_days_back) as campaigns_responded_count,
    count(case when @within_days(targeted_days_back, 90) then 1 end) as campaigns_targeted_90d,
    count(case
      when @within_days(responded_days_back, 90) and response_type <> 'Opted Out' then 1
    end) as campaign_responses_90d,
    count(case
      when @within_days(responded_days_back, 90) and response_type = 'Opted Out' then 1
    end) as campaign_opt_outs_90d
  from campaign_rows
  group by customer_id
),

opportunity_signals as (
  select
    customer_id,
    count(*) as open_opportunities_count,
    sum(opportunity_amount) as open_opportunity_amount,
    sum(weighted_amount) as open_opportunity_weighted_amount
  from opportunities
  where not is_closed
  group by customer_id
),

customer_signals as (
  select
    customers.customer_id,
    customers.customer_name,
    customers.email,
    customers.phone,
    customers.customer_segment,
    customers.customer_tier,
    customers.region,
    customers.customer_status,
    customers.account_manager_id,
    customers.signup_date,
    customers.contract_end_date,
    customers.has_marketing_consent,
    as_of.as_of_date,
    case when customers.customer_status = 'Churned' then churn_events.churn_date end
      as churn_date,
    date_diff(
      'day',
      customers.signup_date,
      case
        when customers.customer_status = 'Churned'
          then coalesce(churn_events.churn_date, as_of.reference_date)
        else as_of.reference_date
      end
    ) as tenure_days,
    date_diff('day', as_of.reference_date, customers.contract_end_date) as days_to_contract_end,
    coalesce(billing_signals.lifetime_revenue_amount, 0) as lifetime_revenue_amount,
    coalesce(billing_signals.revenue_12m_amount, 0) as revenue_12m_amount,
    coalesce(billing_signals.revenue_90d_amount, 0) as revenue_90d_amount,
    coalesce(billing_signals.credit_3m_amount, 0) as credit_3m_amount,
    coalesce(billing_signals.gross_3m_amount, 0) as gross_3m_amount,
    coalesce(order_signals.lifetime_orders_count, 0) as lifetime_orders_count,
    coalesce(order_signals.lifetime_order_revenue_amount, 0) as lifetime_order_revenue_amount,
    order_signals.lifetime_order_revenue_amount
      / nullif(order_signals.lifetime_orders_count, 0) as avg_order_value_amount,
    order_signals.completed_order_discount_amount
      / nullif(order_signals.completed_order_gross_amount, 0) as order_discount_share,
    (coalesce(billing_signals.discount_12m_amount, 0)
      + coalesce(order_signals.order_discount_12m_amount, 0))
      / nullif(coalesce(billing_signals.gross_12m_amount, 0)
        + coalesce(order_signals.order_gross_12m_amount, 0), 0) as discount_share_12m,
    coalesce(activity_signals.orders_90d, 0) as orders_90d,
    coalesce(service_signals.active_services_count, 0) as active_services_count,
    case
      when length(service_signals.service_type_list) > 0
        then substring(
          service_signals.service_type_list, 1, length(service_signals.service_type_list) - 2
        )
    end as service_types,
    coalesce(service_signals.has_internet, false) as has_internet,
    coalesce(service_signals.has_tv, false) as has_tv,
    coalesce(service_signals.has_mobile, false) as has_mobile,
    coalesce(service_signals.has_voice, false) as has_voice,
    coalesce(service_signals.monthly_recurring_charge_amount, 0)
      as monthly_recurring_charge_amount,
    coalesce(services_used.services_used_30d, 0) as services_used_30d,
    coalesce(activity_signals.usage_days_30d, 0) as usage_days_30d,
    coalesce(activity_signals.usage_days_90d, 0) as usage_days_90d,
    coalesce(activity_signals.data_volume_mb_30d, 0) as data_volume_mb_30d,
    coalesce(activity_signals.data_volume_mb_90d, 0) as data_volume_mb_90d,
    coalesce(activity_signals.voice_minutes_30d, 0) as voice_minutes_30d,
    coalesce(activity_signals.voice_minutes_90d, 0) as voice_minutes_90d,
    coalesce(activity_signals.sessions_30d, 0) as sessions_30d,
    coalesce(activity_signals.sessions_prior_30d, 0) as sessions_prior_30d,
    case
      when activity_signals.sessions_prior_30d > 0
        and as_of.reference_date - interval '60' day >= as_of.data_start_date
        then cast(activity_signals.sessions_30d as double)
          / activity_signals.sessions_prior_30d - 1.0
    end as usage_trend_pct,
    coalesce(activity_signals.outage_minutes_30d, 0) as outage_minutes_30d,
    coalesce(support_signals.lifetime_tickets_count, 0) as lifetime_tickets_count,
    coalesce(support_signals.tickets_90d, 0) as tickets_90d,
    coalesce(support_signals.escalated_tickets_90d, 0) as escalated_tickets_90d,
    coalesce(support_signals.low_csat_tickets_90d, 0) as low_csat_tickets_90d,
    coalesce(support_signals.open_tickets, 0) as open_tickets,
    support_signals.avg_satisfaction_score_90d,
    support_signals.lifetime_avg_satisfaction_score,
    coalesce(campaign_signals.campaigns_targeted_count, 0) as campaigns_targeted_count,
    coalesce(campaign_signals.campaigns_responded_count, 0) as campaigns_responded_count,
    coalesce(campaign_signals.campaigns_targeted_90d, 0) as campaigns_targeted_90d,
    coalesce(campaign_signals.campaign_responses_90d, 0) as campaign_responses_90d,
    coalesce(campaign_signals.campaign_opt_outs_90d, 0) as campaign_opt_outs_90d,
    coalesce(opportunity_signals.open_opportunities_count, 0) as open_opportunities_count,
    coalesce(opportunity_signals.open_opportunity_amount, 0) as open_opportunity_amount,
    coalesce(opportunity_signals.open_opportunity_weighted_amount, 0)
      as open_opportunity_weighted_amount,
    coalesce(activity_signals.kb_views_30d, 0) as kb_views_30d,
    coalesce(activity_signals.kb_views_90d, 0) as kb_views_90d,
    coalesce(activity_signals.active_days_30d, 0) as active_days_30d,
    coalesce(activity_signals.active_days_90d, 0) as active_days_90d,
    activity_signals.last_activity_date,
    date_diff('day', activity_signals.last_activity_date, as_of.as_of_date) as recency_days,
    customers.customer_status = 'Active' and coalesce(activity_signals.active_days_30d, 0) > 0
      as is_active_30d,
    latest_scores.churn_probability,
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
    latest_scores.predicted_clv_amount,
    latest_scores.score_date,
    latest_scores.scored_at,
    latest_scores.model_version
  from current_customers as customers
  cross join as_of
  left join churn_events
    on customers.customer_id = churn_events.customer_id
  left join activity_signals
    on customers.customer_id = activity_signals.customer_id
  left join services_used
    on customers.customer_id = services_used.customer_id
  left join billing_signals
    on customers.customer_id = billing_signals.customer_id
  left join order_signals
    on customers.customer_id = order_signals.customer_id
  left join service_signals
    on customers.customer_id = service_signals.customer_id
  left join support_signals
    on customers.customer_id = support_signals.customer_id
  left join campaign_signals
    on customers.customer_id = campaign_signals.customer_id
  left join opportunity_signals
    on customers.customer_id = opportunity_signals.customer_id
  left join latest_scores
    on customers.customer_id = latest_scores.customer_id
),

health_components as (
  select
    *,
    @health_usage_component(usage_days_30d, usage_trend_pct) as health_usage_component,
    @health_engagement_component(
      active_days_90d, campaigns_targeted_90d, campaign_responses_90d, campaign_opt_outs_90d
    ) as health_engagement_component,
    @health_outcomes_component(
      services_used_30d, active_services_count, credit_3m_amount, gross_3m_amount
    ) as health_outcomes_component,
    @health_account_component(customer_tier, tenure_days, days_to_contract_end)
      as health_account_component,
    @health_support_component(tickets_90d, escalated_tickets_90d, low_csat_tickets_90d)
      as health_support_component,
    @meets_inactivity_rule(active_days_30d > 0, usage_trend_pct) as meets_inactivity_rule
  from customer_signals
),

scored as (
  select
    *,
    @health_score(
      health_usage_component,
      health_engagement_component,
      health_outcomes_component,
      health_account_component,
      health_support_component
    ) as health_score_all,
    customer_status = 'Active' and case
      when churn_risk_band is not null then churn_risk_band = 'high'
      else meets_inactivity_rule
    end as is_at_risk,
    case
      when customer_status <> 'Active' then null
      when churn_risk_band is not null then 'churn_score'
      else 'inactivity_rule'
    end as at_risk_basis,
    avg(case when customer_status = 'Active' then revenue_12m_amount end) over ()
      as base_avg_revenue_12m_amount
  from health_components
)

select
  customer_id,
  customer_name,
  email,
  phone,
  customer_segment,
  customer_tier,
  region,
  customer_status,
  account_manager_id,
  signup_date,
  contract_end_date,
  has_marketing_consent,
  as_of_date,
  churn_date,
  cast(tenure_days as bigint) as tenure_days,
  cast(floor(tenure_days * 12 / 365.25) as bigint) as tenure_months,
  cast(days_to_contract_end as bigint) as days_to_contract_end,
  cast(lifetime_revenue_amount as double) as lifetime_revenue_amount,
  cast(revenue_12m_amount as double) as revenue_12m_amount,
  cast(revenue_90d_amount as double) as revenue_90d_amount,
  cast(credit_3m_amount as double) as credit_3m_amount,
  cast(gross_3m_amount as double) as gross_3m_amount,
  cast(lifetime_orders_count as bigint) as lifetime_orders_count,
  cast(lifetime_order_revenue_amount as double) as lifetime_order_revenue_amount,
  cast(avg_order_value_amount as double) as avg_order_value_amount,
  cast(order_discount_share as double) as order_discount_share,
  cast(discount_share_12m as double) as discount_share_12m,
  cast(orders_90d as bigint) as orders_90d,
  cast(active_services_count as bigint) as active_services_count,
  service_types,
  has_internet,
  has_tv,
  has_mobile,
  has_voice,
  cast(monthly_recurring_charge_amount as double) as monthly_recurring_charge_amount,
  cast(services_used_30d as bigint) as services_used_30d,
  cast(usage_days_30d as bigint) as usage_days_30d,
  cast(usage_days_90d as bigint) as usage_days_90d,
  cast(data_volume_mb_30d as double) as data_volume_mb_30d,
  cast(data_volume_mb_90d as double) as data_volume_mb_90d,
  cast(voice_minutes_30d as double) as voice_minutes_30d,
  cast(voice_minutes_90d as double) as voice_minutes_90d,
  cast(sessions_30d as bigint) as sessions_30d,
  cast(sessions_prior_30d as bigint) as sessions_prior_30d,
  cast(usage_trend_pct as double) as usage_trend_pct,
  cast(outage_minutes_30d as double) as outage_minutes_30d,
  cast(lifetime_tickets_count as bigint) as lifetime_tickets_count,
  cast(tickets_90d as bigint) as tickets_90d,
  cast(escalated_tickets_90d as bigint) as escalated_tickets_90d,
  cast(low_csat_tickets_90d as bigint) as low_csat_tickets_90d,
  cast(open_tickets as bigint) as open_tickets,
  cast(avg_satisfaction_score_90d as double) as avg_satisfaction_score_90d,
  cast(lifetime_avg_satisfaction_score as double) as lifetime_avg_satisfaction_score,
  cast(campaigns_targeted_count as bigint) as campaigns_targeted_count,
  cast(campaigns_responded_count as bigint) as campaigns_responded_count,
  cast(campaigns_targeted_90d as bigint) as campaigns_targeted_90d,
  cast(campaign_responses_90d as bigint) as campaign_responses_90d,
  cast(campaign_opt_outs_90d as bigint) as campaign_opt_outs_90d,
  cast(open_opportunities_count as bigint) as open_opportunities_count,
  cast(open_opportunity_amount as double) as open_opportunity_amount,
  cast(open_opportunity_weighted_amount as double) as open_opportunity_weighted_amount,
  cast(kb_views_30d as bigint) as kb_views_30d,
  cast(kb_views_90d as bigint) as kb_views_90d,
  cast(active_days_30d as bigint) as active_days_30d,
  cast(active_days_90d as bigint) as active_days_90d,
  last_activity_date,
  cast(recency_days as bigint) as recency_days,
  is_active_30d,
  cast(case
    when customer_status <> 'Churned' then round(100 * health_engagement_component, 1)
  end as double) as engagement_score,
  cast(case when customer_status <> 'Churned' then health_usage_component end as double)
    as health_usage_component,
  cast(case when customer_status <> 'Churned' then health_engagement_component end as double)
    as health_engagement_component,
  cast(case when customer_status <> 'Churned' then health_outcomes_component end as double)
    as health_outcomes_component,
  cast(case when customer_status <> 'Churned' then health_account_component end as double)
    as health_account_component,
  cast(case when customer_status <> 'Churned' then health_support_component end as double)
    as health_support_component,
  cast(case when customer_status <> 'Churned' then health_score_all end as double)
    as health_score,
  cast(lifetime_revenue_amount + lifetime_order_revenue_amount as double)
    as historical_clv_amount,
  meets_inactivity_rule,
  is_at_risk,
  at_risk_basis,
  @behavioural_segment(
    customer_status,
    customer_status = 'Active' and meets_inactivity_rule,
    discount_share_12m,
    revenue_12m_amount,
    base_avg_revenue_12m_amount,
    is_active_30d,
    health_score_all
  ) as behavioural_segment,
  cast(churn_probability as double) as churn_probability,
  churn_risk_band,
  churn_reason_1,
  churn_driver_1,
  churn_action_1,
  churn_reason_2,
  churn_driver_2,
  churn_action_2,
  churn_reason_3,
  churn_driver_3,
  churn_action_3,
  cast(predicted_clv_amount as double) as predicted_clv_amount,
  score_date,
  scored_at,
  model_version
from scored
