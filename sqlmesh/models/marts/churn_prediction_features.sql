/*
  Point-in-time training and scoring data for the churn model (seed 000).

  One row per customer in the base at each monthly snapshot (the first of every month): active
  or suspended just before it and not churned on or before the snapshot day. Every
  feature of snapshot T uses only data strictly before T: the CRM version in effect just before
  T (SCD2), events dated before T, ticket resolutions and survey answers given before T, services
  as provisioned before T. The label looks forward: churned_within_90d is true when the
  customer's status became Churned in (T, T + 90 days), and null while T + 90 days is after the
  as-of date (the outcome is not known yet).

  The features are the monthly_snapshot rows of marts.customer_signals (the one definition of
  every signal, shared with customer_360_view); this model picks the model's columns and adds
  the label. Incremental by snapshot_date: a run takes the snapshots in its interval plus a
  92-day lookback, so when new data arrives the snapshots whose 90-day label window it completes
  get their labels and older snapshots are left alone (README: "Incremental builds").
*/
MODEL (
  name marts.churn_prediction_features,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column snapshot_date,
    lookback 92
  ),
  cron '@daily',
  owner customer_analytics,
  grain (customer_id, snapshot_date),
  description 'Churn-model features: one row per customer in the base at each monthly snapshot (status Active or Inactive just before it and no churn on or before the snapshot day), features from data strictly before the snapshot, label churned_within_90d (null while the 90-day window is not covered by the data). Column dictionary: sqlmesh/models/marts/README.md.',
  column_descriptions (
    customer_id = 'Customer (dim_customer.customer_id)',
    snapshot_date = 'Snapshot: first day of a month; features use data strictly before it',
    history_days = 'Days of event history before the snapshot (snapshot_date - data_start_date); windows longer than this are truncated',
    customer_status = 'Status just before the snapshot: Active or Inactive (suspended)',
    customer_segment = 'Segment just before the snapshot (categorical)',
    customer_tier = 'Tier just before the snapshot (categorical)',
    region = 'Region just before the snapshot (categorical)',
    has_account_manager = 'An account manager owns the customer',
    has_marketing_consent = 'Customer agreed to marketing contact',
    tenure_days = 'Days from signup to the snapshot',
    is_month_to_month = 'No contract end date (month-to-month)',
    days_to_contract_end = 'Days from the snapshot to the contract end date (negative: lapsed; null: month-to-month)',
    monthly_recurring_charge_amount = 'Sum of the monthly charges of the services in service at the snapshot',
    revenue_3m_amount = 'Invoice revenue (net of credits and discounts) dated in the 3 calendar months before the snapshot',
    revenue_12m_amount = 'Invoice revenue dated in the 12 calendar months before the snapshot',
    revenue_change_1m_pct = 'Revenue of the last month before the snapshot vs the month before it, as a fraction; null when the earlier month has no revenue',
    credit_3m_amount = 'Credits on the invoices of the last 3 months',
    gross_3m_amount = 'Gross billed on the invoices of the last 3 months',
    discount_share_3m = 'Invoice and order discounts / invoice and order gross, last 3 months (null: nothing billed)',
    discount_share_12m = 'Invoice and order discounts / invoice and order gross, last 12 months (null: nothing billed)',
    months_since_discount = 'Calendar months back to the last invoice with a discount (1: last month''s invoice was discounted; null: none in 12 months)',
    discounted_invoice_streak_months = 'Consecutive months, counting back from last month, whose invoice carried a discount (0: last month''s did not; at most 12)',
    discount_ends_within_90d = 'The promotional discount stated on the last invoice before the snapshot ends in [snapshot, snapshot + 90 days) (forward-looking, known before the snapshot)',
    discount_months_left = 'Calendar months from the snapshot month to the end of that promotional discount (0: ended before the snapshot; null: no promotion on the last invoice)',
    contract_ends_within_90d = 'The contract end date in effect before the snapshot falls in [snapshot, snapshot + 90 days)',
    gross_change_3m_pct = 'Gross of last month''s invoice / gross of the invoice 3 months earlier - 1 (price rises, plan changes); null when that invoice is missing or 0',
    order_discount_rate_12m = 'Share of the orders placed in the last 12 calendar months that carried a discount (null: no order)',
    usage_days_30d = 'Days with network usage in the 30 days before the snapshot',
    usage_days_90d = 'Days with network usage in the 90 days before the snapshot',
    data_volume_mb_30d = 'Data used in the last 30 days, MB',
    data_volume_mb_90d = 'Data used in the last 90 days, MB',
    voice_minutes_30d = 'Call minutes in the last 30 days',
    voice_minutes_90d = 'Call minutes in the last 90 days',
    sessions_30d = 'Network sessions in the last 30 days',
    sessions_prior_30d = 'Network sessions in the 30 days before those (days 31-60 before the snapshot)',
    usage_change_30d_pct = 'sessions_30d / sessions_prior_30d - 1 (-0.3 = a 30% decline); null without prior sessions or when the prior window starts before the history',
    usage_vs_peak_12m_ratio = 'Sessions per day in the calendar month before the snapshot / the highest monthly sessions per day of the 11 calendar months before that (0.4 = 60% of the peak usage lost); null without an earlier month with sessions',
    outage_minutes_30d = 'Outage minutes in the last 30 days',
    outage_minutes_90d = 'Outage minutes in the last 90 days',
    tickets_90d = 'Support tickets opened in the last 90 days',
    escalated_tickets_90d = 'Of those, escalated (the escalation flag is the ticket''s current state)',
    avg_satisfaction_score_90d = 'Mean CSAT (1..5) of the tickets opened in the last 90 days and resolved before the snapshot (null: no rating)',
    low_csat_tickets_90d = 'Tickets opened in the last 90 days, resolved before the snapshot and rated 1 or 2',
    open_tickets = 'Tickets opened before the snapshot and not resolved before it',
    escalated_tickets_weighted_12m = 'Escalated tickets opened in the last 12 calendar months, each weighted 0.6 ^ (months back - 1): 1 for last month, 0.6 the month before, ...',
    low_csat_tickets_weighted_12m = 'Tickets opened in the last 12 calendar months, resolved before the snapshot and rated 1 or 2, weighted like escalated_tickets_weighted_12m',
    kb_views_30d = 'KB article views (portal logins) in the last 30 days',
    kb_views_90d = 'KB article views in the last 90 days',
    account_kb_views_30d = 'KB views of Account and Service Change articles (cancelling, porting a number, ending or downgrading a service) in the last 30 days',
    account_kb_views_90d = 'KB views of Account and Service Change articles in the last 90 days',
    orders_90d = 'Orders placed in the last 90 days (any later status)',
    campaigns_targeted_90d = 'Campaign messages sent to the customer in the last 90 days',
    campaign_responses_90d = 'Campaign responses other than opt-outs in the last 90 days',
    has_opted_out = 'The customer opted out of a campaign before the snapshot',
    campaign_opt_outs_90d = 'Campaign opt-outs in the last 90 days',
    retention_campaigns_targeted_90d = 'Messages of Retention campaigns (campaign_objective) sent to the customer in the last 90 days',
    retention_offers_accepted_90d = 'Retention campaign messages answered Converted (offer accepted) in the last 90 days',
    days_since_retention_offer = 'Days from the customer''s last entry into the randomised retention-offer experiment (warehouse.fact_retention_offer, either arm) dated strictly before the snapshot to the snapshot date (1 = the day before; null: never entered before it)',
    retention_offers_made_90d = 'Experiment entries in the treatment arm (offer made) dated in the 90 days before the snapshot (offer_date in [snapshot - 90 days, snapshot - 1 day]); an entry on the snapshot date is not counted',
    retention_offers_held_out_90d = 'Experiment entries in the control arm (held out, no offer) dated in the same 90 days before the snapshot',
    active_days_30d = 'Days with usage, an order or a portal login in the last 30 days',
    active_days_90d = 'Days with usage, an order or a portal login in the last 90 days',
    is_active_30d = 'active_days_30d > 0 (glossary "active customer" at the snapshot)',
    last_activity_date = 'Last day with usage, an order or a portal login before the snapshot',
    recency_days = 'Days from the last activity day to the day before the snapshot (0 = active that day; null: never)',
    active_services_count = 'Services in service at the snapshot',
    has_internet = 'An Internet service in service at the snapshot',
    has_tv = 'A TV service in service at the snapshot',
    has_mobile = 'A Mobile service in service at the snapshot',
    has_voice = 'A Voice service in service at the snapshot',
    services_used_30d = 'Distinct services with usage in the last 30 days',
    services_added_90d = 'Service assignments started in the last 90 days',
    services_removed_90d = 'Service assignments ended in the last 90 days',
    health_usage_component = 'Health score usage component, 0..1 (README: "Health score")',
    health_engagement_component = 'Health score engagement component, 0..1',
    health_outcomes_component = 'Health score outcomes component, 0..1',
    health_account_component = 'Health score account component, 0..1',
    health_support_component = 'Health score support component, 0..1',
    health_score = 'Customer health 0..100 at the snapshot (seed 004 weights)',
    meets_inactivity_rule = 'No activity in 30 days or usage down 30%+ (the documented inactivity rule)',
    behavioural_segment = 'High-Value Active, Discount-Driven, At-Risk / Dormant or Core at the snapshot (README: "Behavioural segments")',
    churned_within_90d = 'Label: status became Churned in (snapshot_date, snapshot_date + 90 days) (a churn on the snapshot day removes the row from the population); null while snapshot_date + 90 days > as_of_date',
    churn_date = 'Date the status became Churned, when churned_within_90d is true (outcome role, never a feature)'
  ),
  audits (
    not_null(columns := (
      customer_id, snapshot_date, customer_status, customer_segment, customer_tier, region,
      tenure_days, usage_days_30d, tickets_90d, active_services_count, health_score,
      account_kb_views_90d, escalated_tickets_weighted_12m, retention_offers_accepted_90d,
      discounted_invoice_streak_months, discount_ends_within_90d, contract_ends_within_90d,
      retention_offers_made_90d, retention_offers_held_out_90d,
      behavioural_segment, is_active_30d, meets_inactivity_rule
    )),
    unique_combination_of_columns(columns := (customer_id, snapshot_date)),
    accepted_values(column := customer_status, is_in := ('Active', 'Inactive')),
    accepted_values(
      column := behavioural_segment,
      is_in := ('High-Value Active', 'Discount-Driven', 'At-Risk / Dormant', 'Core')
    ),
    accepted_range(column := health_score, min_v := 0, max_v := 100),
    accepted_range(column := avg_satisfaction_score_90d, min_v := 1, max_v := 5),
    marts_unit_interval(columns := (
      discount_share_3m, discount_share_12m, order_discount_rate_12m, health_usage_component,
      health_engagement_component, health_outcomes_component, health_account_component,
      health_support_component
    )),
    forall(criteria := (
      usage_days_30d <= usage_days_90d,
      usage_days_30d <= 30,
      usage_days_90d <= 90,
      extract(day from snapshot_date) = 1,
      churn_date is null or churned_within_90d,
      account_kb_views_30d <= account_kb_views_90d,
      account_kb_views_90d <= kb_views_90d,
      retention_offers_accepted_90d <= campaign_responses_90d,
      usage_vs_peak_12m_ratio is null or usage_vs_peak_12m_ratio >= 0,
      escalated_tickets_weighted_12m >= 0,
      low_csat_tickets_weighted_12m >= 0,
      months_since_discount is null or months_since_discount between 1 and 12,
      discounted_invoice_streak_months between 0 and 12,
      discount_months_left is null or discount_months_left >= 0,
      not discount_ends_within_90d or discount_months_left between 0 and 3,
      days_since_retention_offer is null or days_since_retention_offer >= 1,
      retention_offers_made_90d + retention_offers_held_out_90d = 0
        or days_since_retention_offer <= 90
    )),
    marts_label_horizon(label := churned_within_90d, horizon_days := 90)
  )
);

-- Spark: empty the interval's snapshot_date partitions first (macros/partitions.py)
@drop_interval_partitions(snapshot_date);

with as_of as (
  select as_of_date from marts.data_as_of
),

snapshots as (
  select customer_id, reference_date
  from marts.customer_signals
  where
    reference_kind = 'monthly_snapshot'
    and reference_date between @start_date and @end_date
),

churn_outcomes as (
  /* the label: the first churn in [snapshot, snapshot + 90 days) */
  select
    snapshots.customer_id,
    snapshots.reference_date,
    min(churn_events.churn_date) as churn_date
  from snapshots
  inner join marts.customer_churn_events as churn_events
    on snapshots.customer_id = churn_events.customer_id
    and churn_events.churn_date >= snapshots.reference_date
    and churn_events.churn_date < snapshots.reference_date + interval '90' day
  group by snapshots.customer_id, snapshots.reference_date
)

select
  features.customer_id,
  features.reference_date as snapshot_date,
  features.history_days,
  features.customer_status,
  features.customer_segment,
  features.customer_tier,
  features.region,
  features.has_account_manager,
  features.has_marketing_consent,
  features.tenure_days,
  features.is_month_to_month,
  features.days_to_contract_end,
  features.monthly_recurring_charge_amount,
  features.revenue_3m_amount,
  features.revenue_12m_amount,
  features.revenue_change_1m_pct,
  features.credit_3m_amount,
  features.gross_3m_amount,
  features.discount_share_3m,
  features.discount_share_12m,
  features.months_since_discount,
  features.discounted_invoice_streak_months,
  features.discount_ends_within_90d,
  features.discount_months_left,
  features.contract_ends_within_90d,
  features.gross_change_3m_pct,
  features.order_discount_rate_12m,
  features.usage_days_30d,
  features.usage_days_90d,
  features.data_volume_mb_30d,
  features.data_volume_mb_90d,
  features.voice_minutes_30d,
  features.voice_minutes_90d,
  features.sessions_30d,
  features.sessions_prior_30d,
  features.usage_change_30d_pct,
  features.usage_vs_peak_12m_ratio,
  features.outage_minutes_30d,
  features.outage_minutes_90d,
  features.tickets_90d,
  features.escalated_tickets_90d,
  features.avg_satisfaction_score_90d,
  features.low_csat_tickets_90d,
  features.open_tickets,
  features.escalated_tickets_weighted_12m,
  features.low_csat_tickets_weighted_12m,
  features.kb_views_30d,
  features.kb_views_90d,
  features.account_kb_views_30d,
  features.account_kb_views_90d,
  features.orders_90d,
  features.campaigns_targeted_90d,
  features.campaign_responses_90d,
  features.has_opted_out,
  features.campaign_opt_outs_90d,
  features.retention_campaigns_targeted_90d,
  features.retention_offers_accepted_90d,
  features.days_since_retention_offer,
  features.retention_offers_made_90d,
  features.retention_offers_held_out_90d,
  features.active_days_30d,
  features.active_days_90d,
  features.is_active_30d,
  features.last_activity_date,
  features.recency_days,
  features.active_services_count,
  features.has_internet,
  features.has_tv,
  features.has_mobile,
  features.has_voice,
  features.services_used_30d,
  features.services_added_90d,
  features.services_removed_90d,
  features.health_usage_component,
  features.health_engagement_component,
  features.health_outcomes_component,
  features.health_account_component,
  features.health_support_component,
  features.health_score,
  features.meets_inactivity_rule,
  features.behavioural_segment,
  case
    when features.reference_date + interval '90' day <= as_of.as_of_date
      then churn_outcomes.churn_date is not null
  end as churned_within_90d,
  case
    when features.reference_date + interval '90' day <= as_of.as_of_date
      then churn_outcomes.churn_date
  end as churn_date
from marts.customer_signals as features
cross join as_of
left join churn_outcomes
  on features.customer_id = churn_outcomes.customer_id
  and features.reference_date = churn_outcomes.reference_date
where
  features.reference_kind = 'monthly_snapshot'
  and features.reference_date between @start_date and @end_date
