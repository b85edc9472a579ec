/*
  Customer signals at reference dates: the one definition of every trailing-window signal,
  health score and behavioural segment the customer marts show. A row describes a customer at a
  reference date from data strictly before it (the windows of sqlmesh/macros/marts_windows.py):

  - monthly snapshots (reference_kind 'monthly_snapshot', the first of every month from
    data_as_of.first_snapshot_date up to the as-of date): the churn base, i.e. customers Active or
    Inactive in the CRM version in effect just before the snapshot and not churned on or before
    it; churn_prediction_features selects these rows;
  - the as-of date (reference_kind 'as_of', reference_date = data_as_of.reference_date): every
    customer in the current CRM version, churned ones included; customer_360_view selects it.

  Incremental by as_of_date = reference_date - 1 day, the last day the row's windows see, so the
  as-of row falls in the last interval of a run (a reference_date key would put it after the
  interval end, and SQLMesh keeps only rows inside the interval). A run computes the snapshots
  and the as-of row whose day before falls in its interval, plus a 92-day lookback; the lookback
  always covers the previous build's as-of row (its as_of_date is the day before the new
  interval), which is thus deleted and, when that day ends a month, replaced by the next
  month's snapshot (on Spark, whose overwrite replaces only the partitions a run writes, an
  earlier as-of row can stay as history: readers take the as-of rows of the current
  data_as_of). One query serves both kinds of reference because each reference is either a
  month start or the day after the last event: every event dated in a month that starts before
  the reference is dated before it, so per-month building blocks (customer_monthly_activity,
  last use per service and month) apply to both (README: "customer_signals").
*/
MODEL (
  name marts.customer_signals,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column as_of_date,
    lookback 92
  ),
  cron '@daily',
  owner customer_analytics,
  grain (customer_id, reference_date),
  description 'Customer signals: one row per customer at each reference date (the monthly snapshots of the churn base, and the as-of date for every customer), every trailing-window signal, health score and behavioural segment from data strictly before the reference date. Read by churn_prediction_features and customer_360_view. Column dictionary: sqlmesh/models/marts/README.md.',
  column_descriptions (
    customer_id = 'Customer (dim_customer.customer_id)',
    as_of_date = 'Last day of data the row sees: reference_date - 1 day (the time column)',
    reference_date = 'Exclusive end of every window of the row: a snapshot (first of a month) or data_as_of.reference_date',
    reference_kind = 'monthly_snapshot (the churn base at a snapshot) or as_of (every customer at the warehouse''s as-of date)',
    history_days = 'Days of event history before the reference date (reference_date - data_start_date); windows longer than this are truncated',
    customer_status = 'Status in the CRM version in effect before the reference (monthly_snapshot: Active or Inactive) or the current one (as_of: Active, Inactive or Churned)',
    customer_segment = 'Segment in that CRM version',
    customer_tier = 'Tier in that CRM version',
    region = 'Region in that CRM version',
    account_manager_id = 'Owning account manager in that CRM version (null for Residential)',
    has_account_manager = 'An account manager owns the customer',
    has_marketing_consent = 'Customer agreed to marketing contact',
    signup_date = 'Date the customer first signed a contract',
    contract_end_date = 'End of the contract term in that CRM version (null = month-to-month)',
    churn_date = 'Date the status became Churned, for a customer whose status is Churned (as_of rows only; null otherwise)',
    tenure_days = 'Days from signup to the churn date (status Churned) or to the reference date',
    is_month_to_month = 'No contract end date (month-to-month)',
    days_to_contract_end = 'Days from the reference date to the contract end date (negative: lapsed; null: month-to-month)',
    monthly_recurring_charge_amount = 'Sum of the monthly charges of the services in service at the reference date',
    revenue_3m_amount = 'Invoice revenue (net of credits and discounts) dated in the 3 calendar months before the reference',
    revenue_12m_amount = 'Invoice revenue dated in the 12 calendar months before the reference',
    revenue_90d_amount = 'Invoice revenue dated in the 90 days before the reference (revenue-at-risk base)',
    revenue_change_1m_pct = 'Revenue of the last month before the reference vs the month before it, as a fraction; null when the earlier month has no revenue',
    credit_3m_amount = 'Credits on the invoices of the last 3 calendar months',
    gross_3m_amount = 'Gross billed on the invoices of the last 3 calendar months',
    discount_share_3m = 'Invoice and order discounts / invoice and order gross, last 3 months (null: nothing billed)',
    discount_share_12m = 'Invoice and order discounts / invoice and order gross, last 12 months (orders of any status; null: nothing billed)',
    months_since_discount = 'Calendar months back to the last invoice with a discount (1: the last month''s invoice was discounted; null: none in 12 months)',
    discounted_invoice_streak_months = 'Consecutive months, counting back from the last month, whose invoice carried a discount (0: the last month''s did not; at most 12)',
    discount_ends_within_90d = 'The promotional discount stated on the last invoice before the reference ends in [reference, reference + 90 days) (forward-looking, known before the reference)',
    discount_months_left = 'Calendar months from the reference month to the end of that promotional discount (0: ended before the reference; null: no promotion on the last invoice)',
    contract_ends_within_90d = 'The contract end date of that CRM version falls in [reference, reference + 90 days)',
    gross_change_3m_pct = 'Gross of the last month''s invoice / gross of the invoice 3 months earlier - 1 (price rises, plan changes); null when that invoice is missing or 0',
    order_discount_rate_12m = 'Share of the orders placed in the last 12 calendar months that carried a discount (null: no order)',
    usage_days_30d = 'Days with network usage in the 30 days before the reference',
    usage_days_90d = 'Days with network usage in the 90 days before the reference',
    data_volume_mb_30d = 'Data used in the last 30 days, MB',
    data_volume_mb_90d = 'Data used in the last 90 days, MB',
    voice_minutes_30d = 'Call minutes in the last 30 days',
    voice_minutes_90d = 'Call minutes in the last 90 days',
    sessions_30d = 'Network sessions in the last 30 days',
    sessions_prior_30d = 'Network sessions in the 30 days before those (days 31-60 before the reference)',
    usage_change_30d_pct = 'sessions_30d / sessions_prior_30d - 1 (-0.3 = a 30% decline); null without prior sessions or when the prior window starts before the history',
    usage_vs_peak_12m_ratio = 'Sessions per day in the calendar month before the reference / the highest monthly sessions per day of the 11 calendar months before that; null without an earlier month with sessions',
    outage_minutes_30d = 'Outage minutes in the last 30 days',
    outage_minutes_90d = 'Outage minutes in the last 90 days',
    lifetime_tickets_count = 'Support tickets opened before the reference',
    tickets_90d = 'Support tickets opened in the last 90 days',
    escalated_tickets_90d = 'Of those, escalated (the escalation flag is the ticket''s current state)',
    avg_satisfaction_score_90d = 'Mean CSAT (1..5) of the tickets opened in the last 90 days and resolved before the reference (null: no rating)',
    low_csat_tickets_90d = 'Tickets opened in the last 90 days, resolved before the reference and rated 1 or 2',
    open_tickets = 'Tickets opened before the reference and not resolved before it',
    escalated_tickets_weighted_12m = 'Escalated tickets opened in the last 12 calendar months, each weighted 0.6 ^ (months back - 1)',
    low_csat_tickets_weighted_12m = 'Tickets opened in the last 12 calendar months, resolved before the reference and rated 1 or 2, weighted like escalated_tickets_weighted_12m',
    lifetime_avg_satisfaction_score = 'Mean CSAT (1..5) of the tickets resolved before the reference',
    kb_views_30d = 'KB article views (portal logins) in the last 30 days',
    kb_views_90d = 'KB article views in the last 90 days',
    account_kb_views_30d = 'KB views of Account and Service Change articles in the last 30 days',
    account_kb_views_90d = 'KB views of Account and Service Change articles in the last 90 days',
    orders_90d = 'Orders placed in the last 90 days (any later status)',
    campaigns_targeted_count = 'Campaign messages sent to the customer before the reference',
    campaigns_responded_count = 'Of those, answered before the reference (any response)',
    campaigns_targeted_90d = 'Campaign messages sent in the last 90 days',
    campaign_responses_90d = 'Campaign responses other than opt-outs in the last 90 days',
    has_opted_out = 'The customer opted out of a campaign before the reference',
    campaign_opt_outs_90d = 'Campaign opt-outs in the last 90 days',
    retention_campaigns_targeted_90d = 'Messages of Retention campaigns sent in the last 90 days',
    retention_offers_accepted_90d = 'Retention campaign messages answered Converted in the last 90 days',
    days_since_retention_offer = 'Days from the last entry into the randomised retention-offer experiment (either arm) dated strictly before the reference to the reference (1 = the day before; null: none)',
    retention_offers_made_90d = 'Experiment entries in the treatment arm (offer made) dated in the 90 days before the reference (an entry on the reference date is not counted)',
    retention_offers_held_out_90d = 'Experiment entries in the control arm (held out, no offer) dated in the same 90 days',
    active_days_30d = 'Days with usage, an order or a portal login in the last 30 days',
    active_days_90d = 'Days with usage, an order or a portal login in the last 90 days',
    is_active_30d = 'active_days_30d > 0 (whatever the status)',
    last_activity_date = 'Last day with usage, an order or a portal login before the reference',
    recency_days = 'Days from the last activity day to the day before the reference (0 = active that day; null: never)',
    active_services_count = 'Services in service at the reference (started before it, not ended before it)',
    has_internet = 'An Internet service in service',
    has_tv = 'A TV service in service',
    has_mobile = 'A Mobile service in service',
    has_voice = 'A Voice service in service',
    services_used_30d = 'Distinct services with usage in the last 30 days',
    services_added_90d = 'Service assignments started in the last 90 days',
    services_removed_90d = 'Service assignments ended in the last 90 days',
    health_usage_component = 'Health score usage component, 0..1 (README: "Health score")',
    health_engagement_component = 'Health score engagement component, 0..1',
    health_outcomes_component = 'Health score outcomes component, 0..1',
    health_account_component = 'Health score account component, 0..1',
    health_support_component = 'Health score support component, 0..1',
    health_score = 'Customer health 0..100 at the reference (seed 004 weights)',
    meets_inactivity_rule = 'No activity in 30 days or usage down 30%+ (the documented inactivity rule)',
    behavioural_segment = 'High-Value Active, Discount-Driven, At-Risk / Dormant, Core or Churned at the reference (README: "Behavioural segments")'
  ),
  audits (
    not_null(columns := (
      customer_id, as_of_date, reference_date, reference_kind, customer_status,
      customer_segment, customer_tier, region, tenure_days, usage_days_30d, tickets_90d,
      active_services_count, health_score, behavioural_segment, is_active_30d,
      meets_inactivity_rule, retention_offers_made_90d, retention_offers_held_out_90d
    )),
    unique_combination_of_columns(columns := (customer_id, reference_date)),
    accepted_values(column := reference_kind, is_in := ('monthly_snapshot', 'as_of')),
    accepted_range(column := health_score, min_v := 0, max_v := 100),
    accepted_range(column := avg_satisfaction_score_90d, min_v := 1, max_v := 5),
    marts_unit_interval(columns := (
      discount_share_3m, discount_share_12m, order_discount_rate_12m, health_usage_component,
      health_engagement_component, health_outcomes_component, health_account_component,
      health_support_component
    )),
    forall(criteria := (
      as_of_date = reference_date - interval '1' day,
      days_since_retention_offer is null or days_since_retention_offer >= 1,
      retention_offers_made_90d + retention_offers_held_out_90d = 0
        or days_since_retention_offer <= 90,
      reference_kind = 'as_of' or extract(day from reference_date) = 1,
      reference_kind = 'as_of' or customer_status in ('Active', 'Inactive'),
      churn_date is null or customer_status = 'Churned',
      usage_days_30d <= usage_days_90d,
      usage_days_90d <= 90,
      account_kb_views_90d <= kb_views_90d,
      tickets_90d <= lifetime_tickets_count
    ))
  )
);

-- Spark: empty the interval's as_of_date partitions first (macros/partitions.py)
@drop_interval_partitions(as_of_date);

with as_of as (
  select as_of_date, reference_date, data_start_date, first_snapshot_date from marts.data_as_of
),

customer_versions as (
  select
    customer_id,
    customer_status,
    customer_segment,
    customer_tier,
    region,
    account_manager_id,
    has_marketing_consent,
    signup_date,
    contract_end_date,
    valid_from,
    valid_to,
    is_current
  from warehouse.dim_customer
),

churn_events as (
  select customer_id, churn_date from marts.customer_churn_events
),

daily_activity as (
  select
    *,
    cast(date_trunc('month', activity_date) as date) as activity_month_start_date
  from marts.customer_daily_activity
  where activity_date between cast(@start_date as date) - interval '92' day and @end_date
),

monthly_activity as (
  select customer_id, month_start_date, last_activity_date
  from marts.customer_monthly_activity
  where month_start_date <= @end_date and last_activity_date is not null
),

monthly_sessions as (
  /* sessions per day of each calendar month (months differ in length) */
  select
    customer_id,
    month_start_date,
    cast(session_count as double) / date_diff(
      'day', month_start_date, cast(month_start_date + interval '1' month as date)
    ) as sessions_per_day
  from marts.customer_monthly_activity
  where
    month_start_date between cast(@start_date as date) - interval '13' month and @end_date
),

account_kb_views as (
  /* portal views of the articles about leaving or changing: Account and Service Change */
  select
    views.customer_id,
    cast(views.viewed_at as date) as viewed_date
  from warehouse.fact_kb_article_view as views
  inner join warehouse.dim_kb_article as articles
    on views.kb_article_id = articles.kb_article_id
  where
    articles.article_category in ('Account', 'Service Change')
    and cast(views.viewed_at as date)
      between cast(@start_date as date) - interval '92' day and @end_date
),

network_usage as (
  select customer_id, service_id, usage_date
  from warehouse.fact_network_usage
  where
    usage_date between cast(@start_date as date) - interval '62' day and @end_date
    and (session_count > 0 or data_volume_mb > 0 or voice_minutes > 0)
),

invoices as (
  select
    customer_id,
    invoice_date,
    cast(gross_amount as decimal(18, 2)) as gross_amount,
    cast(credit_amount as decimal(18, 2)) as credit_amount,
    cast(discount_amount as decimal(18, 2)) as discount_amount,
    discount_end_date,
    cast(revenue_amount as decimal(18, 2)) as revenue_amount
  from warehouse.fact_invoice
  where invoice_date between cast(@start_date as date) - interval '13' month and @end_date
),

orders as (
  select
    customer_id,
    cast(ordered_at as date) as ordered_date,
    cast(gross_amount as decimal(18, 2)) as gross_amount,
    cast(discount_amount as decimal(18, 2)) as discount_amount
  from warehouse.fact_order
  where
    cast(ordered_at as date) between cast(@start_date as date) - interval '13' month and @end_date
),

tickets as (
  select
    customer_id,
    cast(created_at as date) as created_date,
    cast(resolved_at as date) as resolved_date,
    is_escalated,
    satisfaction_score
  from warehouse.fact_support_ticket
  where cast(created_at as date) <= @end_date
),

campaign_targets as (
  select
    targets.customer_id,
    cast(targets.targeted_at as date) as targeted_date,
    cast(targets.responded_at as date) as responded_date,
    targets.response_type,
    campaigns.campaign_objective
  from warehouse.fact_campaign_target as targets
  left join warehouse.dim_campaign as campaigns
    on targets.campaign_id = campaigns.campaign_id
  where cast(targets.targeted_at as date) <= @end_date
),

retention_offers as (
  /* the randomised retention-offer experiment, both arms (the control arm is information too) */
  select
    customer_id,
    offer_date,
    is_treatment
  from warehouse.fact_retention_offer
  where offer_date <= @end_date
),

service_assignments as (
  select
    assignments.customer_id,
    assignments.service_id,
    assignments.start_date,
    assignments.end_date,
    assignments.monthly_charge_amount,
    services.service_type
  from warehouse.fact_service_assignment as assignments
  inner join warehouse.dim_service as services
    on assignments.service_id = services.service_id
),

snapshot_dates as (
  /* the monthly snapshots whose day before falls in the interval */
  select series.reference_date
  from (
    select spine.date_month as reference_date
    from (@date_spine(
      'month',
      cast(date_trunc('month', cast(@start_date as date) + interval '1' day) as date),
      cast(cast(@end_date as date) + interval '1' day as date)
    )) as spine
  ) as series
  cross join as_of
  where
    series.reference_date > cast(@start_date as date)
    and series.reference_date <= cast(cast(@end_date as date) + interval '1' day as date)
    and series.reference_date >= as_of.first_snapshot_date
    and series.reference_date <= as_of.as_of_date
),

customer_churn_dates as (
  select customer_id, min(churn_date) as first_churn_date, max(churn_date) as churn_date
  from churn_events
  group by customer_id
),

customers_at_reference as (
  /* monthly snapshots: the churn base, from the CRM version in effect just before the snapshot */
  select
    snapshot_dates.reference_date,
    'monthly_snapshot' as reference_kind,
    customer_versions.customer_id,
    customer_versions.customer_status,
    customer_versions.customer_segment,
    customer_versions.customer_tier,
    customer_versions.region,
    customer_versions.account_manager_id,
    customer_versions.has_marketing_consent,
    customer_versions.signup_date,
    customer_versions.contract_end_date,
    cast(null as date) as churn_date
  from snapshot_dates
  inner join customer_versions
    on customer_versions.valid_from < cast(snapshot_dates.reference_date as timestamp)
    and (
      customer_versions.valid_to is null
      or customer_versions.valid_to >= cast(snapshot_dates.reference_date as timestamp)
    )
  left join customer_churn_dates
    on customer_versions.customer_id = customer_churn_dates.customer_id
  where
    customer_versions.customer_status in ('Active', 'Inactive')
    /* active at the snapshot: a customer whose churn date is the snapshot day itself is not in
       that snapshot's population. Its services end the day before the churn date, so its
       features would show them removed: the label leaking into the features. A join on the
       customer's first churn date rather than a correlated not exists: Spark plans that as a
       broadcast nested-loop join over every snapshot and customer version. */
    and (
      customer_churn_dates.first_churn_date is null
      or customer_churn_dates.first_churn_date > snapshot_dates.reference_date
    )

  union all

  /* the as-of date: every customer (churned ones too) in the current CRM version */
  select
    as_of.reference_date,
    'as_of' as reference_kind,
    customer_versions.customer_id,
    customer_versions.customer_status,
    customer_versions.customer_segment,
    customer_versions.customer_tier,
    customer_versions.region,
    customer_versions.account_manager_id,
    customer_versions.has_marketing_consent,
    customer_versions.signup_date,
    customer_versions.contract_end_date,
    case
      when customer_versions.customer_status = 'Churned' then customer_churn_dates.churn_date
    end as churn_date
  from as_of
  inner join customer_versions
    on customer_versions.is_current
  left join customer_churn_dates
    on customer_versions.customer_id = customer_churn_dates.customer_id
  where as_of.as_of_date between cast(@start_date as date) and cast(@end_date as date)
),

reference_dates as (
  select reference_date from snapshot_dates
  union all
  select as_of.reference_date
  from as_of
  where as_of.as_of_date between cast(@start_date as date) and cast(@end_date as date)
),

window_month_series as (
  /* the months a 90-day window before a reference date can reach: the month of the day before
     it and the three before that (unnest alone in its select, the cast in window_months:
     Spark's explode cannot be nested) */
  select
    reference_date,
    unnest(generate_series(
      cast(date_trunc('month', reference_date - interval '1' day) - interval '3' month as date),
      cast(date_trunc('month', reference_date - interval '1' day) as date),
      interval '1' month
    )) as activity_month_start
  from reference_dates
),

window_months as (
  select reference_date, cast(activity_month_start as date) as activity_month_start_date
  from window_month_series
),

activity_rows as (
  select
    customers.customer_id,
    customers.reference_date,
    @days_before(activity.activity_date, customers.reference_date) as days_back,
    activity.is_usage_day,
    activity.is_activity_day,
    activity.data_volume_mb,
    activity.voice_minutes,
    activity.session_count,
    activity.outage_minutes,
    activity.kb_views_count,
    activity.orders_placed_count
  from customers_at_reference as customers
  inner join window_months
    on customers.reference_date = window_months.reference_date
  inner join daily_activity as activity
    on customers.customer_id = activity.customer_id
    and window_months.activity_month_start_date = activity.activity_month_start_date
),

usage_signals as (
  select
    customer_id,
    reference_date,
    @activity_window_signals(days_back)
  from activity_rows
  group by customer_id, reference_date
),

service_last_use_by_month as (
  select
    customer_id,
    service_id,
    cast(date_trunc('month', usage_date) as date) as usage_month_start_date,
    max(usage_date) as last_usage_date
  from network_usage
  group by customer_id, service_id, cast(date_trunc('month', usage_date) as date)
),

services_used as (
  /* a service was used in the 30 days before T when a month before T has its last use in them */
  select
    customers.customer_id,
    customers.reference_date,
    count(distinct service_months.service_id) as services_used_30d
  from customers_at_reference as customers
  inner join service_last_use_by_month as service_months
    on customers.customer_id = service_months.customer_id
    and service_months.usage_month_start_date < customers.reference_date
  where @within_days(@days_before(service_months.last_usage_date, customers.reference_date), 30)
  group by customers.customer_id, customers.reference_date
),

usage_history_rows as (
  select
    customers.customer_id,
    customers.reference_date,
    @months_before(months.month_start_date, customers.reference_date) as months_back,
    months.sessions_per_day
  from customers_at_reference as customers
  inner join monthly_sessions as months
    on customers.customer_id = months.customer_id
    and months.month_start_date < customers.reference_date
),

usage_history as (
  select
    customer_id,
    reference_date,
    max(case when @within_months(months_back, 1) then sessions_per_day end)
      as sessions_per_day_1m,
    max(case when @within_months(months_back, 12, 1) then sessions_per_day end)
      as peak_sessions_per_day_12m
  from usage_history_rows
  group by customer_id, reference_date
),

account_kb_rows as (
  select
    customers.customer_id,
    customers.reference_date,
    @days_before(views.viewed_date, customers.reference_date) as days_back
  from customers_at_reference as customers
  inner join account_kb_views as views
    on customers.customer_id = views.customer_id
    and views.viewed_date < customers.reference_date
),

account_kb_signals as (
  select
    customer_id,
    reference_date,
    count(case when @within_days(days_back, 30) then 1 end) as account_kb_views_30d,
    count(case when @within_days(days_back, 90) then 1 end) as account_kb_views_90d
  from account_kb_rows
  group by customer_id, reference_date
),

last_activity as (
  select
    customers.customer_id,
    customers.reference_date,
    max(monthly_activity.last_activity_date) as last_activity_date
  from customers_at_reference as customers
  inner join monthly_activity
    on customers.customer_id = monthly_activity.customer_id
    and monthly_activity.month_start_date < customers.reference_date
  group by customers.customer_id, customers.reference_date
),

invoice_rows as (
  select
    customers.customer_id,
    customers.reference_date,
    @days_before(invoices.invoice_date, customers.reference_date) as days_back,
    @months_before(invoices.invoice_date, customers.reference_date) as months_back,
    invoices.gross_amount,
    invoices.credit_amount,
    invoices.discount_amount,
    invoices.revenue_amount
  from customers_at_reference as customers
  inner join invoices
    on customers.customer_id = invoices.customer_id
    and invoices.invoice_date < customers.reference_date
),

billing_signals as (
  select
    customer_id,
    reference_date,
    sum(case when @within_months(months_back, 3) then revenue_amount else 0 end)
      as revenue_3m_amount,
    sum(case when @within_months(months_back, 12) then revenue_amount else 0 end)
      as revenue_12m_amount,
    sum(case when @within_days(days_back, 90) then revenue_amount else 0 end)
      as revenue_90d_amount,
    sum(case when @within_months(months_back, 1) then revenue_amount else 0 end)
      as revenue_last_month_amount,
    sum(case when @within_months(months_back, 2, 1) then revenue_amount else 0 end)
      as revenue_prior_month_amount,
    sum(case when @within_months(months_back, 3) then credit_amount else 0 end)
      as credit_3m_amount,
    sum(case when @within_months(months_back, 3) then gross_amount else 0 end)
      as gross_3m_amount,
    sum(case when @within_months(months_back, 3) then discount_amount else 0 end)
      as discount_3m_amount,
    sum(case when @within_months(months_back, 12) then gross_amount else 0 end)
      as gross_12m_amount,
    sum(case when @within_months(months_back, 12) then discount_amount else 0 end)
      as discount_12m_amount,
    min(case when @within_months(months_back, 12) and discount_amount > 0 then months_back end)
      as months_since_discount,
    coalesce(
      min(case when @within_months(months_back, 12) and discount_amount <= 0 then months_back end),
      max(case when @within_months(months_back, 12) then months_back end) + 1
    ) - 1 as discounted_invoice_streak_months,
    sum(case when @within_months(months_back, 1) then gross_amount end) as gross_1m_amount,
    sum(case when @within_months(months_back, 4, 3) then gross_amount end) as gross_4m_amount
  from invoice_rows
  group by customer_id, reference_date
),

latest_invoices as (
  /* the last invoice before the snapshot (within 12 months): the promotion it states */
  select
    customer_id,
    reference_date,
    discount_end_date
  from (
    select
      customers.customer_id,
      customers.reference_date,
      invoices.discount_end_date,
      row_number() over (
        partition by customers.customer_id, customers.reference_date
        order by invoices.invoice_date desc
      ) as recency_rank
    from customers_at_reference as customers
    inner join invoices
      on customers.customer_id = invoices.customer_id
      and invoices.invoice_date < customers.reference_date
      and invoices.invoice_date >= customers.reference_date - interval '12' month
  ) as ranked_invoices
  where recency_rank = 1
),

promotion_signals as (
  /* forward-looking, but known before the snapshot: the end date printed on the last bill */
  select
    customer_id,
    reference_date,
    coalesce(
      discount_end_date >= reference_date
      and discount_end_date < reference_date + interval '90' day,
      false
    ) as discount_ends_within_90d,
    case
      when discount_end_date is not null
        then greatest(
          date_diff('month', reference_date, cast(discount_end_date + interval '1' day as date)),
          0
        )
    end as discount_months_left
  from latest_invoices
),

contract_signals as (
  /* the contract end date of the CRM version in effect before the snapshot */
  select
    customer_id,
    reference_date,
    coalesce(
      contract_end_date >= reference_date
      and contract_end_date < reference_date + interval '90' day,
      false
    ) as contract_ends_within_90d
  from customers_at_reference
),

order_rows as (
  select
    customers.customer_id,
    customers.reference_date,
    @months_before(orders.ordered_date, customers.reference_date) as months_back,
    orders.gross_amount,
    orders.discount_amount
  from customers_at_reference as customers
  inner join orders
    on customers.customer_id = orders.customer_id
    and orders.ordered_date < customers.reference_date
),

order_signals as (
  select
    customer_id,
    reference_date,
    sum(case when @within_months(months_back, 3) then gross_amount else 0 end)
      as order_gross_3m_amount,
    sum(case when @within_months(months_back, 3) then discount_amount else 0 end)
      as order_discount_3m_amount,
    sum(case when @within_months(months_back, 12) then gross_amount else 0 end)
      as order_gross_12m_amount,
    sum(case when @within_months(months_back, 12) then discount_amount else 0 end)
      as order_discount_12m_amount,
    count(case when @within_months(months_back, 12) then 1 end) as orders_12m,
    count(case when @within_months(months_back, 12) and discount_amount > 0 then 1 end)
      as discounted_orders_12m
  from order_rows
  group by customer_id, reference_date
),

ticket_rows as (
  select
    customers.customer_id,
    customers.reference_date,
    @days_before(tickets.created_date, customers.reference_date) as days_back,
    @months_before(tickets.created_date, customers.reference_date) as months_back,
    coalesce(tickets.resolved_date < customers.reference_date, false) as is_resolved_before,
    tickets.is_escalated,
    tickets.satisfaction_score
  from customers_at_reference as customers
  inner join tickets
    on customers.customer_id = tickets.customer_id
    and tickets.created_date < customers.reference_date
),

support_signals as (
  select
    customer_id,
    reference_date,
    count(*) as lifetime_tickets_count,
    count(case when @within_days(days_back, 90) then 1 end) as tickets_90d,
    count(case when @within_days(days_back, 90) and is_escalated then 1 end)
      as escalated_tickets_90d,
    avg(case
      when @within_days(days_back, 90) and is_resolved_before then satisfaction_score
    end) as avg_satisfaction_score_90d,
    count(case
      when @within_days(days_back, 90) and is_resolved_before and satisfaction_score <= 2
        then 1
    end) as low_csat_tickets_90d,
    count(case when not is_resolved_before then 1 end) as open_tickets,
    sum(case
      when @within_months(months_back, 12) and is_escalated
        then power(0.6, months_back - 1)
      else 0
    end) as escalated_tickets_weighted_12m,
    sum(case
      when @within_months(months_back, 12) and is_resolved_before and satisfaction_score <= 2
        then power(0.6, months_back - 1)
      else 0
    end) as low_csat_tickets_weighted_12m,
    avg(case when is_resolved_before then satisfaction_score end)
      as lifetime_avg_satisfaction_score
  from ticket_rows
  group by customer_id, reference_date
),

campaign_rows as (
  select
    customers.customer_id,
    customers.reference_date,
    @days_before(targets.targeted_date, customers.reference_date) as targeted_days_back,
    case
      when targets.responded_date < customers.reference_date
        then @days_before(targets.responded_date, customers.reference_date)
    end as responded_days_back,
    targets.response_type,
    targets.campaign_objective
  from customers_at_reference as customers
  inner join campaign_targets as targets
    on customers.customer_id = targets.customer_id
    and targets.targeted_date < customers.reference_date
),

campaign_signals as (
  select
    customer_id,
    reference_date,
    count(*) as campaigns_targeted_count,
    count(responded_days_back) as campaigns_responded_count,
    count(case when @within_days(targeted_days_back, 90) then 1 end) as campaigns_targeted_90d,
    count(case
      when @within_days(responded_days_back, 90) and response_type <> 'Opted Out' then 1
    end) as campaign_responses_90d,
    count(case
      when @within_days(responded_days_back, 90) and response_type = 'Opted Out' then 1
    end) as campaign_opt_outs_90d,
    count(case when responded_days_back >= 1 and response_type = 'Opted Out' then 1 end) > 0
      as has_opted_out,
    count(case
      when @within_days(targeted_days_back, 90) and campaign_objective = 'Retention' then 1
    end) as retention_campaigns_targeted_90d,
    count(case
      when @within_days(responded_days_back, 90) and campaign_objective = 'Retention'
        and response_type = 'Converted' then 1
    end) as retention_offers_accepted_90d
  from campaign_rows
  group by customer_id, reference_date
),

retention_offer_rows as (
  /* only entries dated strictly before the reference: one on the reference day is its future */
  select
    customers.customer_id,
    customers.reference_date,
    @days_before(offers.offer_date, customers.reference_date) as offer_days_back,
    offers.is_treatment
  from customers_at_reference as customers
  inner join retention_offers as offers
    on customers.customer_id = offers.customer_id
    and offers.offer_date < customers.reference_date
),

retention_offer_signals as (
  select
    customer_id,
    reference_date,
    min(offer_days_back) as days_since_retention_offer,
    count(case when @within_days(offer_days_back, 90) and is_treatment then 1 end)
      as retention_offers_made_90d,
    count(case when @within_days(offer_days_back, 90) and not is_treatment then 1 end)
      as retention_offers_held_out_90d
  from retention_offer_rows
  group by customer_id, reference_date
),

assignment_rows as (
  select
    customers.customer_id,
    customers.reference_date,
    assignments.end_date is null or assignments.end_date >= customers.reference_date
      as is_in_service,
    @days_before(assignments.start_date, customers.reference_date) as started_days_back,
    case
      when assignments.end_date < customers.reference_date
        then @days_before(assignments.end_date, customers.reference_date)
    end as ended_days_back,
    assignments.service_type,
    assignments.monthly_charge_amount
  from customers_at_reference as customers
  inner join service_assignments as assignments
    on customers.customer_id = assignments.customer_id
    and assignments.start_date < customers.reference_date
),

service_signals as (
  select
    customer_id,
    reference_date,
    count(case when is_in_service then 1 end) as active_services_count,
    max(case when is_in_service and service_type = 'Internet' then 1 else 0 end) = 1
      as has_internet,
    max(case when is_in_service and service_type = 'TV' then 1 else 0 end) = 1 as has_tv,
    max(case when is_in_service and service_type = 'Mobile' then 1 else 0 end) = 1
      as has_mobile,
    max(case when is_in_service and service_type = 'Voice' then 1 else 0 end) = 1
      as has_voice,
    sum(case when is_in_service then monthly_charge_amount else 0 end)
      as monthly_recurring_charge_amount,
    count(case when @within_days(started_days_back, 90) then 1 end) as services_added_90d,
    count(case when @within_days(ended_days_back, 90) then 1 end) as services_removed_90d
  from assignment_rows
  group by customer_id, reference_date
),

signals as (
  select
    customers.customer_id,
    customers.reference_date,
    customers.reference_kind,
    date_diff('day', as_of.data_start_date, customers.reference_date) as history_days,
    customers.customer_status,
    customers.customer_segment,
    customers.customer_tier,
    customers.region,
    customers.account_manager_id,
    customers.account_manager_id is not null as has_account_manager,
    customers.has_marketing_consent,
    customers.signup_date,
    customers.contract_end_date,
    customers.churn_date,
    date_diff(
      'day', customers.signup_date, coalesce(customers.churn_date, customers.reference_date)
    ) as tenure_days,
    customers.contract_end_date is null as is_month_to_month,
    date_diff('day', customers.reference_date, customers.contract_end_date)
      as days_to_contract_end,
    coalesce(service_signals.monthly_recurring_charge_amount, 0)
      as monthly_recurring_charge_amount,
    coalesce(billing_signals.revenue_3m_amount, 0) as revenue_3m_amount,
    coalesce(billing_signals.revenue_12m_amount, 0) as revenue_12m_amount,
    coalesce(billing_signals.revenue_90d_amount, 0) as revenue_90d_amount,
    case
      when billing_signals.revenue_prior_month_amount > 0
        then billing_signals.revenue_last_month_amount
          / billing_signals.revenue_prior_month_amount - 1.0
    end as revenue_change_1m_pct,
    coalesce(billing_signals.credit_3m_amount, 0) as credit_3m_amount,
    coalesce(billing_signals.gross_3m_amount, 0) as gross_3m_amount,
    (coalesce(billing_signals.discount_3m_amount, 0)
      + coalesce(order_signals.order_discount_3m_amount, 0))
      / nullif(coalesce(billing_signals.gross_3m_amount, 0)
        + coalesce(order_signals.order_gross_3m_amount, 0), 0) as discount_share_3m,
    (coalesce(billing_signals.discount_12m_amount, 0)
      + coalesce(order_signals.order_discount_12m_amount, 0))
      / nullif(coalesce(billing_signals.gross_12m_amount, 0)
        + coalesce(order_signals.order_gross_12m_amount, 0), 0) as discount_share_12m,
    billing_signals.months_since_discount,
    coalesce(billing_signals.discounted_invoice_streak_months, 0)
      as discounted_invoice_streak_months,
    coalesce(promotion_signals.discount_ends_within_90d, false) as discount_ends_within_90d,
    promotion_signals.discount_months_left,
    contract_signals.contract_ends_within_90d,
    case
      when billing_signals.gross_4m_amount > 0
        then billing_signals.gross_1m_amount / billing_signals.gross_4m_amount - 1.0
    end as gross_change_3m_pct,
    cast(order_signals.discounted_orders_12m as double)
      / nullif(order_signals.orders_12m, 0) as order_discount_rate_12m,
    coalesce(usage_signals.usage_days_30d, 0) as usage_days_30d,
    coalesce(usage_signals.usage_days_90d, 0) as usage_days_90d,
    coalesce(usage_signals.data_volume_mb_30d, 0) as data_volume_mb_30d,
    coalesce(usage_signals.data_volume_mb_90d, 0) as data_volume_mb_90d,
    coalesce(usage_signals.voice_minutes_30d, 0) as voice_minutes_30d,
    coalesce(usage_signals.voice_minutes_90d, 0) as voice_minutes_90d,
    coalesce(usage_signals.sessions_30d, 0) as sessions_30d,
    coalesce(usage_signals.sessions_prior_30d, 0) as sessions_prior_30d,
    case
      when usage_signals.sessions_prior_30d > 0
        and customers.reference_date - interval '60' day >= as_of.data_start_date
        then cast(usage_signals.sessions_30d as double) / usage_signals.sessions_prior_30d - 1.0
    end as usage_change_30d_pct,
    case
      when usage_history.peak_sessions_per_day_12m > 0
        then coalesce(usage_history.sessions_per_day_1m, 0)
          / usage_history.peak_sessions_per_day_12m
    end as usage_vs_peak_12m_ratio,
    coalesce(usage_signals.outage_minutes_30d, 0) as outage_minutes_30d,
    coalesce(usage_signals.outage_minutes_90d, 0) as outage_minutes_90d,
    coalesce(support_signals.lifetime_tickets_count, 0) as lifetime_tickets_count,
    coalesce(support_signals.tickets_90d, 0) as tickets_90d,
    coalesce(support_signals.escalated_tickets_90d, 0) as escalated_tickets_90d,
    support_signals.avg_satisfaction_score_90d,
    coalesce(support_signals.low_csat_tickets_90d, 0) as low_csat_tickets_90d,
    coalesce(support_signals.open_tickets, 0) as open_tickets,
    coalesce(support_signals.escalated_tickets_weighted_12m, 0)
      as escalated_tickets_weighted_12m,
    coalesce(support_signals.low_csat_tickets_weighted_12m, 0)
      as low_csat_tickets_weighted_12m,
    support_signals.lifetime_avg_satisfaction_score,
    coalesce(usage_signals.kb_views_30d, 0) as kb_views_30d,
    coalesce(usage_signals.kb_views_90d, 0) as kb_views_90d,
    coalesce(account_kb_signals.account_kb_views_30d, 0) as account_kb_views_30d,
    coalesce(account_kb_signals.account_kb_views_90d, 0) as account_kb_views_90d,
    coalesce(usage_signals.orders_90d, 0) as orders_90d,
    coalesce(campaign_signals.campaigns_targeted_count, 0) as campaigns_targeted_count,
    coalesce(campaign_signals.campaigns_responded_count, 0) as campaigns_responded_count,
    coalesce(campaign_signals.campaigns_targeted_90d, 0) as campaigns_targeted_90d,
    coalesce(campaign_signals.campaign_responses_90d, 0) as campaign_responses_90d,
    coalesce(campaign_signals.campaign_opt_outs_90d, 0) as campaign_opt_outs_90d,
    coalesce(campaign_signals.has_opted_out, false) as has_opted_out,
    coalesce(campaign_signals.retention_campaigns_targeted_90d, 0)
      as retention_campaigns_targeted_90d,
    coalesce(campaign_signals.retention_offers_accepted_90d, 0)
      as retention_offers_accepted_90d,
    retention_offer_signals.days_since_retention_offer,
    coalesce(retention_offer_signals.retention_offers_made_90d, 0) as retention_offers_made_90d,
    coalesce(retention_offer_signals.retention_offers_held_out_90d, 0)
      as retention_offers_held_out_90d,
    coalesce(usage_signals.active_days_30d, 0) as active_days_30d,
    coalesce(usage_signals.active_days_90d, 0) as active_days_90d,
    last_activity.last_activity_date,
    date_diff('day', last_activity.last_activity_date, customers.reference_date) - 1
      as recency_days,
    coalesce(service_signals.active_services_count, 0) as active_services_count,
    coalesce(service_signals.has_internet, false) as has_internet,
    coalesce(service_signals.has_tv, false) as has_tv,
    coalesce(service_signals.has_mobile, false) as has_mobile,
    coalesce(service_signals.has_voice, false) as has_voice,
    coalesce(services_used.services_used_30d, 0) as services_used_30d,
    coalesce(service_signals.services_added_90d, 0) as services_added_90d,
    coalesce(service_signals.services_removed_90d, 0) as services_removed_90d
  from customers_at_reference as customers
  cross join as_of
  left join usage_signals
    on customers.customer_id = usage_signals.customer_id
    and customers.reference_date = usage_signals.reference_date
  left join usage_history
    on customers.customer_id = usage_history.customer_id
    and customers.reference_date = usage_history.reference_date
  left join account_kb_signals
    on customers.customer_id = account_kb_signals.customer_id
    and customers.reference_date = account_kb_signals.reference_date
  left join services_used
    on customers.customer_id = services_used.customer_id
    and customers.reference_date = services_used.reference_date
  left join last_activity
    on customers.customer_id = last_activity.customer_id
    and customers.reference_date = last_activity.reference_date
  left join billing_signals
    on customers.customer_id = billing_signals.customer_id
    and customers.reference_date = billing_signals.reference_date
  left join order_signals
    on customers.customer_id = order_signals.customer_id
    and customers.reference_date = order_signals.reference_date
  left join promotion_signals
    on customers.customer_id = promotion_signals.customer_id
    and customers.reference_date = promotion_signals.reference_date
  inner join contract_signals
    on customers.customer_id = contract_signals.customer_id
    and customers.reference_date = contract_signals.reference_date
  left join support_signals
    on customers.customer_id = support_signals.customer_id
    and customers.reference_date = support_signals.reference_date
  left join campaign_signals
    on customers.customer_id = campaign_signals.customer_id
    and customers.reference_date = campaign_signals.reference_date
  left join retention_offer_signals
    on customers.customer_id = retention_offer_signals.customer_id
    and customers.reference_date = retention_offer_signals.reference_date
  left join service_signals
    on customers.customer_id = service_signals.customer_id
    and customers.reference_date = service_signals.reference_date
),

health_components as (
  select
    *,
    active_days_30d > 0 as is_active_30d,
    @health_usage_component(usage_days_30d, usage_change_30d_pct) as health_usage_component,
    @health_engagement_component(
      active_days_90d, campaigns_targeted_90d, campaign_responses_90d, campaign_opt_outs_90d
    ) as health_engagement_component,
    @health_outcomes_component(
      services_used_30d, active_services_count, credit_3m_amount, gross_3m_amount
    ) as health_outcomes_component,
    @health_account_component(customer_tier, tenure_days, days_to_contract_end)
      as health_account_component,
    @health_support_component(tickets_90d, escalated_tickets_90d, low_csat_tickets_90d)
      as health_support_component
  from signals
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
    ) as health_score,
    @meets_inactivity_rule(is_active_30d, usage_change_30d_pct) as meets_inactivity_rule,
    avg(case when customer_status = 'Active' then revenue_12m_amount end)
      over (partition by reference_date) as base_avg_revenue_12m_amount
  from health_components
)

select
  customer_id,
  cast(reference_date - interval '1' day as date) as as_of_date,
  reference_date,
  reference_kind,
  cast(history_days as bigint) as history_days,
  customer_status,
  customer_segment,
  customer_tier,
  region,
  account_manager_id,
  has_account_manager,
  has_marketing_consent,
  signup_date,
  contract_end_date,
  churn_date,
  cast(tenure_days as bigint) as tenure_days,
  is_month_to_month,
  cast(days_to_contract_end as bigint) as days_to_contract_end,
  cast(monthly_recurring_charge_amount as double) as monthly_recurring_charge_amount,
  cast(revenue_3m_amount as double) as revenue_3m_amount,
  cast(revenue_12m_amount as double) as revenue_12m_amount,
  cast(revenue_90d_amount as double) as revenue_90d_amount,
  cast(revenue_change_1m_pct as double) as revenue_change_1m_pct,
  cast(credit_3m_amount as double) as credit_3m_amount,
  cast(gross_3m_amount as double) as gross_3m_amount,
  cast(discount_share_3m as double) as discount_share_3m,
  cast(discount_share_12m as double) as discount_share_12m,
  cast(months_since_discount as bigint) as months_since_discount,
  cast(discounted_invoice_streak_months as bigint) as discounted_invoice_streak_months,
  discount_ends_within_90d,
  cast(discount_months_left as bigint) as discount_months_left,
  contract_ends_within_90d,
  cast(gross_change_3m_pct as double) as gross_change_3m_pct,
  cast(order_discount_rate_12m as double) as order_discount_rate_12m,
  cast(usage_days_30d as bigint) as usage_days_30d,
  cast(usage_days_90d as bigint) as usage_days_90d,
  cast(data_volume_mb_30d as double) as data_volume_mb_30d,
  cast(data_volume_mb_90d as double) as data_volume_mb_90d,
  cast(voice_minutes_30d as double) as voice_minutes_30d,
  cast(voice_minutes_90d as double) as voice_minutes_90d,
  cast(sessions_30d as bigint) as sessions_30d,
  cast(sessions_prior_30d as bigint) as sessions_prior_30d,
  cast(usage_change_30d_pct as double) as usage_change_30d_pct,
  cast(usage_vs_peak_12m_ratio as double) as usage_vs_peak_12m_ratio,
  cast(outage_minutes_30d as double) as outage_minutes_30d,
  cast(outage_minutes_90d as double) as outage_minutes_90d,
  cast(lifetime_tickets_count as bigint) as lifetime_tickets_count,
  cast(tickets_90d as bigint) as tickets_90d,
  cast(escalated_tickets_90d as bigint) as escalated_tickets_90d,
  cast(avg_satisfaction_score_90d as double) as avg_satisfaction_score_90d,
  cast(low_csat_tickets_90d as bigint) as low_csat_tickets_90d,
  cast(open_tickets as bigint) as open_tickets,
  cast(escalated_tickets_weighted_12m as double) as escalated_tickets_weighted_12m,
  cast(low_csat_tickets_weighted_12m as double) as low_csat_tickets_weighted_12m,
  cast(lifetime_avg_satisfaction_score as double) as lifetime_avg_satisfaction_score,
  cast(kb_views_30d as bigint) as kb_views_30d,
  cast(kb_views_90d as bigint) as kb_views_90d,
  cast(account_kb_views_30d as bigint) as account_kb_views_30d,
  cast(account_kb_views_90d as bigint) as account_kb_views_90d,
  cast(orders_90d as bigint) as orders_90d,
  cast(campaigns_targeted_count as bigint) as campaigns_targeted_count,
  cast(campaigns_responded_count as bigint) as campaigns_responded_count,
  cast(campaigns_targeted_90d as bigint) as campaigns_targeted_90d,
  cast(campaign_responses_90d as bigint) as campaign_responses_90d,
  has_opted_out,
  cast(campaign_opt_outs_90d as bigint) as campaign_opt_outs_90d,
  cast(retention_campaigns_targeted_90d as bigint) as retention_campaigns_targeted_90d,
  cast(retention_offers_accepted_90d as bigint) as retention_offers_accepted_90d,
  cast(days_since_retention_offer as bigint) as days_since_retention_offer,
  cast(retention_offers_made_90d as bigint) as retention_offers_made_90d,
  cast(retention_offers_held_out_90d as bigint) as retention_offers_held_out_90d,
  cast(active_days_30d as bigint) as active_days_30d,
  cast(active_days_90d as bigint) as active_days_90d,
  is_active_30d,
  last_activity_date,
  cast(recency_days as bigint) as recency_days,
  cast(active_services_count as bigint) as active_services_count,
  has_internet,
  has_tv,
  has_mobile,
  has_voice,
  cast(services_used_30d as bigint) as services_used_30d,
  cast(services_added_90d as bigint) as services_added_90d,
  cast(services_removed_90d as bigint) as services_removed_90d,
  cast(health_usage_component as double) as health_usage_component,
  cast(health_engagement_component as double) as health_engagement_component,
  cast(health_outcomes_component as double) as health_outcomes_component,
  cast(health_account_component as double) as health_account_component,
  cast(health_support_component as double) as health_support_component,
  cast(health_score as double) as health_score,
  meets_inactivity_rule,
  @behavioural_segment(
    customer_status,
    customer_status = 'Active' and meets_inactivity_rule,
    discount_share_12m,
    revenue_12m_amount,
    base_avg_revenue_12m_amount,
    is_active_30d,
    health_score
  ) as behavioural_segment
from scored
