/*
  The rolling 30-day active customers of seed 002 at customer x day grain: one row per customer
  and day on which the customer counts as "active (30d)" (glossary): status Active at the end of
  the day (SCD2 version in effect then), and a usage day, an order or a portal login in
  [day - 29 days, day]. The segment is the one of that same version, so status and segment are
  both taken on the counted day. marts.active_customers_30d counts these rows per day and
  segment; the semantic layer's activity.active_customers_30d counts them per day (by month:
  the month's last day), so both read one definition of the rule.

  Each activity day keeps its customer "active" for 30 days, so activity days closer than 30
  days apart merge into one active span [first day, last day + 29]; the spans are intersected
  with the customer's Active CRM versions and expanded to calendar days. Spans of one customer
  never overlap and one version is in effect at the end of a day, so (calendar_date,
  customer_id) is unique.
*/
MODEL (
  name marts.customer_active_30d_days,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column calendar_date,
    -- the 30-day window reaches 29 days back: re-process a month for late activity rows, like
    -- customer_daily_activity
    lookback 31
  ),
  cron '@daily',
  owner customer_analytics,
  grain (calendar_date, customer_id),
  description 'One row per day and customer counted as 30-day active on that day (seed 002): status Active at the end of the day and a usage day, order or portal login in [calendar_date - 29 days, calendar_date]; segment as of that day. Counted on each day; by month: the month''s last day (as customer_monthly_activity.is_active_30d_at_month_end). Incremental by calendar_date; the last 31 days are recomputed on each run so late activity rows are counted.',
  column_descriptions (
    calendar_date = 'Day on which the customer counts as active; the trailing window is [calendar_date - 29 days, calendar_date]',
    customer_id = 'Customer (dim_customer.customer_id)',
    customer_segment = 'Residential, SMB, Enterprise or Government (CRM version in effect at the end of the day)'
  ),
  audits (
    not_null(columns := (calendar_date, customer_id, customer_segment)),
    unique_combination_of_columns(columns := (calendar_date, customer_id)),
    accepted_values(
      column := customer_segment, is_in := ('Residential', 'SMB', 'Enterprise', 'Government')
    )
  )
);

-- Spark: empty the interval's calendar_date partitions first (macros/partitions.py)
@drop_interval_partitions(calendar_date);

with as_of as (
  select as_of_date, data_start_date from marts.data_as_of
),

customer_versions as (
  select customer_id, customer_segment, customer_status, valid_from, valid_to
  from warehouse.dim_customer
),

activity_days as (
  select customer_id, activity_date
  from marts.customer_daily_activity
  where
    is_activity_day
    and activity_date between cast(@start_date as date) - interval '29' day and @end_date
),

calendar_series as (
  /* the days of the interval (unnest alone in its select, the cast in calendar: Spark's explode
     cannot be nested) */
  select
    unnest(generate_series(
      cast(@start_date as date), cast(@end_date as date), interval '1' day
    )) as calendar_day
),

calendar as (
  select cast(calendar_series.calendar_day as date) as calendar_date
  from calendar_series
  cross join as_of
  where
    cast(calendar_series.calendar_day as date)
      between as_of.data_start_date and as_of.as_of_date
),

active_versions as (
  select
    customer_id,
    customer_segment,
    cast(valid_from as date) as first_day,
    coalesce(cast(cast(valid_to as date) - interval '1' day as date), cast(@end_date as date))
      as last_day
  from customer_versions
  where customer_status = 'Active'
),

activity_gaps as (
  select
    customer_id,
    activity_date,
    case
      when
        lag(activity_date) over (partition by customer_id order by activity_date) is null
        or date_diff(
          'day',
          lag(activity_date) over (partition by customer_id order by activity_date),
          activity_date
        ) > 30
        then 1
      else 0
    end as starts_span
  from activity_days
),

activity_span_numbers as (
  select
    customer_id,
    activity_date,
    sum(starts_span) over (
      partition by customer_id order by activity_date rows between unbounded preceding and current row
    ) as span_number
  from activity_gaps
),

activity_spans as (
  select
    customer_id,
    min(activity_date) as covered_from,
    cast(max(activity_date) + interval '29' day as date) as covered_to
  from activity_span_numbers
  group by customer_id, span_number
),

active_spans as (
  select
    active_versions.customer_id,
    active_versions.customer_segment,
    greatest(active_versions.first_day, activity_spans.covered_from) as span_start,
    least(active_versions.last_day, activity_spans.covered_to) as span_end
  from active_versions
  inner join activity_spans
    on active_versions.customer_id = activity_spans.customer_id
    and activity_spans.covered_from <= active_versions.last_day
    and activity_spans.covered_to >= active_versions.first_day
)

select
  calendar.calendar_date,
  active_spans.customer_id,
  active_spans.customer_segment
from calendar
inner join active_spans
  on calendar.calendar_date between active_spans.span_start and active_spans.span_end
