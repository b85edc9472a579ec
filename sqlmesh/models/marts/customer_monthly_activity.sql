/*
  Customer x month: who was in the base, how they were classified at the month's end, how active
  they were in the month (seed 002's monthly activity consistency matrix) and their rolling state
  at the month's end (active in the trailing 30 days, inactivity rule, services in service).
  customer_segmentation_analysis aggregates it by segment and tier.

  Month end: the reference is the first day of the next month, or reference_date (as_of_date + 1
  day) for the current, incomplete month. A customer has a row for every month from the one
  they signed up in to the one they churned in.
*/
MODEL (
  name marts.customer_monthly_activity,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column month_start_date,
    lookback 31
  ),
  cron '@daily',
  owner customer_analytics,
  grain (customer_id, month_start_date),
  description 'One row per customer and month in which the customer was in the base (from the signup month to the churn month): month-end segment, tier and status, activity counts in the month, and the rolling 30-day state at the month end. Incremental by month_start_date with a 31-day lookback, so the current month is recomputed on every run until it is complete.',
  column_descriptions (
    customer_id = 'Customer (dim_customer.customer_id)',
    month_start_date = 'First day of the month',
    month_end_reference_date = 'Exclusive end of the month as seen by the data: the next month''s first day, or as_of_date + 1 day for the current month',
    is_complete_month = 'The data covers the whole month',
    customer_segment = 'Segment of the CRM version in effect at the month end (SCD2)',
    customer_tier = 'Tier of the CRM version in effect at the month end',
    region = 'Region of the CRM version in effect at the month end',
    status_at_month_start = 'Status in effect at the month start (null: not yet a customer)',
    status_at_month_end = 'Status in effect at the month end: Active, Inactive or Churned',
    is_customer_at_month_start = 'Status Active at the month start (the churn-rate denominator)',
    is_customer_at_month_end = 'Status Active at the month end (the glossary''s "customers")',
    is_new_customer = 'Signed up in the month',
    has_churned_in_month = 'Status became Churned in the month (marts.customer_churn_events)',
    months_since_signup = 'Whole months from the signup month to this month (0 = signup month)',
    active_days = 'Days in the month with usage, an order or a portal login',
    usage_days = 'Days in the month with network usage',
    orders_placed_count = 'Orders placed in the month (any later status)',
    kb_views_count = 'KB article views (portal logins) in the month',
    data_volume_mb = 'Data used in the month, MB',
    voice_minutes = 'Call minutes in the month',
    session_count = 'Network sessions in the month',
    outage_minutes = 'Outage minutes in the month',
    is_active_month = 'At least one activity day in the month',
    last_activity_date = 'Last activity day in the month (null: none)',
    is_active_30d_at_month_end = 'Status Active at the month end and an activity day in the 30 days before it (glossary "active customer")',
    usage_change_30d_pct_at_month_end = 'Sessions in the last 30 days before the month end vs the 30 days before those, as a fraction (-0.4 = 40% fewer); null without prior sessions or when the prior window starts before the history',
    is_at_risk_at_month_end = 'Status Active at the month end and the inactivity rule holds (no activity in 30 days or usage down 30%+)',
    active_services_count_at_month_end = 'Services in service at the month end',
    has_internet_at_month_end = 'An Internet service in service at the month end',
    has_tv_at_month_end = 'A TV service in service at the month end',
    has_mobile_at_month_end = 'A Mobile service in service at the month end',
    has_voice_at_month_end = 'A Voice service in service at the month end',
    monthly_recurring_charge_amount_at_month_end = 'Sum of the monthly charges of the services in service at the month end'
  ),
  audits (
    not_null(columns := (
      customer_id, month_start_date, customer_segment, customer_tier, status_at_month_end,
      is_customer_at_month_start, is_customer_at_month_end, active_days, is_active_month
    )),
    unique_combination_of_columns(columns := (customer_id, month_start_date)),
    accepted_range(column := active_days, min_v := 0, max_v := 31),
    forall(criteria := (
      usage_days <= active_days,
      not is_at_risk_at_month_end or is_customer_at_month_end,
      not is_active_30d_at_month_end or is_customer_at_month_end
    ))
  )
);

-- Spark: empty the interval's month_start_date partitions first (macros/partitions.py)
@drop_interval_partitions(month_start_date);

with as_of as (
  select as_of_date, reference_date, data_start_date from marts.data_as_of
),

customer_versions as (
  select
    customer_id,
    customer_status,
    customer_segment,
    customer_tier,
    region,
    signup_date,
    valid_from,
    valid_to
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
  where activity_date between cast(@start_date as date) - interval '62' day and @end_date
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

months as (
  select
    month_start_date,
    cast(month_start_date + interval '1' month as date) as next_month_start_date,
    least(cast(month_start_date + interval '1' month as date), as_of.reference_date)
      as month_end_reference_date,
    cast(month_start_date + interval '1' month as date) <= as_of.reference_date
      as is_complete_month
  from (
    select spine.date_month as month_start_date
    from (@date_spine(
      'month', cast(date_trunc('month', cast(@start_date as date)) as date), cast(@end_date as date)
    )) as spine
  ) as series
  cross join as_of
  where
    month_start_date between @start_date and @end_date
    and month_start_date >= cast(date_trunc('month', as_of.data_start_date) as date)
    and month_start_date <= as_of.as_of_date
),

window_month_series as (
  /* the months a 60-day window before the month end can reach: this month and the two before
     (unnest alone in its select, the cast in window_months: Spark's explode cannot be nested) */
  select
    months.month_start_date,
    unnest(generate_series(
      cast(months.month_start_date - interval '2' month as date),
      months.month_start_date,
      interval '1' month
    )) as activity_month_start
  from months
),

window_months as (
  select month_start_date, cast(activity_month_start as date) as activity_month_start_date
  from window_month_series
),

versions_at_month_end as (
  select
    months.month_start_date,
    customer_versions.customer_id,
    customer_versions.customer_segment,
    customer_versions.customer_tier,
    customer_versions.region,
    customer_versions.customer_status,
    customer_versions.signup_date
  from months
  inner join customer_versions
    on customer_versions.valid_from < cast(months.month_end_reference_date as timestamp)
    and (
      customer_versions.valid_to is null
      or customer_versions.valid_to >= cast(months.month_end_reference_date as timestamp)
    )
),

versions_at_month_start as (
  select
    months.month_start_date,
    customer_versions.customer_id,
    customer_versions.customer_status
  from months
  inner join customer_versions
    on customer_versions.valid_from < cast(months.month_start_date as timestamp)
    and (
      customer_versions.valid_to is null
      or customer_versions.valid_to >= cast(months.month_start_date as timestamp)
    )
),

customer_months as (
  select
    month_end.customer_id,
    months.month_start_date,
    months.next_month_start_date,
    months.month_end_reference_date,
    months.is_complete_month,
    month_end.customer_segment,
    month_end.customer_tier,
    month_end.region,
    month_start.customer_status as status_at_month_start,
    month_end.customer_status as status_at_month_end,
    month_end.signup_date
  from versions_at_month_end as month_end
  inner join months
    on month_end.month_start_date = months.month_start_date
  left join versions_at_month_start as month_start
    on month_end.customer_id = month_start.customer_id
    and month_end.month_start_date = month_start.month_start_date
  where month_start.customer_status is null or month_start.customer_status <> 'Churned'
),

activity_rows as (
  select
    customer_months.customer_id,
    customer_months.month_start_date,
    daily_activity.activity_month_start_date = customer_months.month_start_date as is_in_month,
    @days_before(daily_activity.activity_date, customer_months.month_end_reference_date)
      as days_back,
    daily_activity.activity_date,
    daily_activity.is_activity_day,
    daily_activity.is_usage_day,
    daily_activity.orders_placed_count,
    daily_activity.kb_views_count,
    daily_activity.data_volume_mb,
    daily_activity.voice_minutes,
    daily_activity.session_count,
    daily_activity.outage_minutes
  from customer_months
  inner join window_months
    on customer_months.month_start_date = window_months.month_start_date
  inner join daily_activity
    on customer_months.customer_id = daily_activity.customer_id
    and window_months.activity_month_start_date = daily_activity.activity_month_start_date
),

activity_in_windows as (
  select
    customer_id,
    month_start_date,
    count(case when is_in_month and is_activity_day then 1 end) as active_days,
    count(case when is_in_month and is_usage_day then 1 end) as usage_days,
    sum(case when is_in_month then orders_placed_count else 0 end) as orders_placed_count,
    sum(case when is_in_month then kb_views_count else 0 end) as kb_views_count,
    sum(case when is_in_month then data_volume_mb else 0 end) as data_volume_mb,
    sum(case when is_in_month then voice_minutes else 0 end) as voice_minutes,
    sum(case when is_in_month then session_count else 0 end) as session_count,
    sum(case when is_in_month then outage_minutes else 0 end) as outage_minutes,
    max(case when is_in_month and is_activity_day then activity_date end) as last_activity_date,
    count(case when @within_days(days_back, 30) and is_activity_day then 1 end)
      as active_days_30d,
    sum(case when @within_days(days_back, 30) then session_count else 0 end) as sessions_30d,
    sum(case when @within_days(days_back, 60, 30) then session_count else 0 end)
      as sessions_prior_30d
  from activity_rows
  group by customer_id, month_start_date
),

services_at_month_end as (
  select
    customer_months.customer_id,
    customer_months.month_start_date,
    count(*) as active_services_count,
    max(case when service_assignments.service_type = 'Internet' then 1 else 0 end) = 1
      as has_internet,
    max(case when service_assignments.service_type = 'TV' then 1 else 0 end) = 1 as has_tv,
    max(case when service_assignments.service_type = 'Mobile' then 1 else 0 end) = 1
      as has_mobile,
    max(case when service_assignments.service_type = 'Voice' then 1 else 0 end) = 1
      as has_voice,
    sum(service_assignments.monthly_charge_amount) as monthly_recurring_charge_amount
  from customer_months
  inner join service_assignments
    on customer_months.customer_id = service_assignments.customer_id
    and service_assignments.start_date < customer_months.month_end_reference_date
    and (
      service_assignments.end_date is null
      or service_assignments.end_date >= customer_months.month_end_reference_date
    )
  group by customer_months.customer_id, customer_months.month_start_date
),

churns_in_month as (
  select distinct
    customer_months.customer_id,
    customer_months.month_start_date
  from customer_months
  inner join churn_events
    on customer_months.customer_id = churn_events.customer_id
    and churn_events.churn_date >= customer_months.month_start_date
    and churn_events.churn_date < customer_months.next_month_start_date
),

customer_month_states as (
  select
    customer_months.*,
    coalesce(customer_months.status_at_month_start = 'Active', false)
      as is_customer_at_month_start,
    customer_months.status_at_month_end = 'Active' as is_customer_at_month_end,
    coalesce(activity_in_windows.active_days, 0) as active_days,
    coalesce(activity_in_windows.usage_days, 0) as usage_days,
    coalesce(activity_in_windows.orders_placed_count, 0) as orders_placed_count,
    coalesce(activity_in_windows.kb_views_count, 0) as kb_views_count,
    coalesce(activity_in_windows.data_volume_mb, 0) as data_volume_mb,
    coalesce(activity_in_windows.voice_minutes, 0) as voice_minutes,
    coalesce(activity_in_windows.session_count, 0) as session_count,
    coalesce(activity_in_windows.outage_minutes, 0) as outage_minutes,
    activity_in_windows.last_activity_date,
    coalesce(activity_in_windows.active_days_30d, 0) > 0 as has_activity_30d,
    case
      when activity_in_windows.sessions_prior_30d > 0
        and customer_months.month_end_reference_date - interval '60' day >= as_of.data_start_date
        then cast(activity_in_windows.sessions_30d as double)
          / activity_in_windows.sessions_prior_30d - 1.0
    end as usage_change_30d_pct,
    churns_in_month.customer_id is not null as has_churned_in_month,
    coalesce(services_at_month_end.active_services_count, 0) as active_services_count,
    coalesce(services_at_month_end.has_internet, false) as has_internet,
    coalesce(services_at_month_end.has_tv, false) as has_tv,
    coalesce(services_at_month_end.has_mobile, false) as has_mobile,
    coalesce(services_at_month_end.has_voice, false) as has_voice,
    coalesce(services_at_month_end.monthly_recurring_charge_amount, 0)
      as monthly_recurring_charge_amount
  from customer_months
  cross join as_of
  left join activity_in_windows
    on customer_months.customer_id = activity_in_windows.customer_id
    and customer_months.month_start_date = activity_in_windows.month_start_date
  left join services_at_month_end
    on customer_months.customer_id = services_at_month_end.customer_id
    and customer_months.month_start_date = services_at_month_end.month_start_date
  left join churns_in_month
    on customer_months.customer_id = churns_in_month.customer_id
    and customer_months.month_start_date = churns_in_month.month_start_date
)

select
  customer_id,
  month_start_date,
  month_end_reference_date,
  is_complete_month,
  customer_segment,
  customer_tier,
  region,
  status_at_month_start,
  status_at_month_end,
  is_customer_at_month_start,
  is_customer_at_month_end,
  signup_date >= month_start_date and signup_date < next_month_start_date as is_new_customer,
  has_churned_in_month,
  cast(
    (extract(year from month_start_date) - extract(year from signup_date)) * 12
    + extract(month from month_start_date) - extract(month from signup_date)
    as bigint
  ) as months_since_signup,
  cast(active_days as bigint) as active_days,
  cast(usage_days as bigint) as usage_days,
  cast(orders_placed_count as bigint) as orders_placed_count,
  cast(kb_views_count as bigint) as kb_views_count,
  cast(data_volume_mb as double) as data_volume_mb,
  cast(voice_minutes as double) as voice_minutes,
  cast(session_count as bigint) as session_count,
  cast(outage_minutes as double) as outage_minutes,
  active_days > 0 as is_active_month,
  last_activity_date,
  is_customer_at_month_end and has_activity_30d as is_active_30d_at_month_end,
  usage_change_30d_pct as usage_change_30d_pct_at_month_end,
  is_customer_at_month_end and @meets_inactivity_rule(has_activity_30d, usage_change_30d_pct)
    as is_at_risk_at_month_end,
  cast(active_services_count as bigint) as active_services_count_at_month_end,
  has_internet as has_internet_at_month_end,
  has_tv as has_tv_at_month_end,
  has_mobile as has_mobile_at_month_end,
  has_voice as has_voice_at_month_end,
  cast(monthly_recurring_charge_amount as double) as monthly_recurring_charge_amount_at_month_end
from customer_month_states
