/*
  Rolling 30-day active customers by day and segment (seed 002, "Active Customers (30d) trend by
  segment"). A customer counts on day d when their status at the end of d is Active (SCD2) and
  they had a usage day, an order or a portal login in [d - 29 days, d]: the rows of
  marts.customer_active_30d_days (the rule lives there, shared with the semantic layer's
  activity.active_customers_30d), counted per day and segment of that day next to the Active
  customers of the day.
*/
MODEL (
  name marts.active_customers_30d,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column calendar_date,
    lookback 31
  ),
  cron '@daily',
  owner customer_analytics,
  grain (calendar_date, customer_segment),
  description 'One row per day and customer segment (segment as of that day): customers with status Active and, of those, the ones active in the trailing 30 days (usage day, order or portal login). Incremental by calendar_date; the last 31 days are recomputed on each run so late activity rows are counted.',
  column_descriptions (
    calendar_date = 'Day; the trailing window is [calendar_date - 29 days, calendar_date]',
    customer_segment = 'Residential, SMB, Enterprise or Government (CRM version in effect at the end of the day)',
    customers = 'Customers with status Active at the end of the day',
    active_customers_30d = 'Of those, customers with a usage day, order or portal login in the trailing 30 days',
    active_rate = 'active_customers_30d / customers'
  ),
  audits (
    not_null(columns := (calendar_date, customer_segment, customers, active_customers_30d)),
    unique_combination_of_columns(columns := (calendar_date, customer_segment)),
    accepted_values(
      column := customer_segment, is_in := ('Residential', 'SMB', 'Enterprise', 'Government')
    ),
    marts_unit_interval(columns := (active_rate)),
    forall(criteria := (active_customers_30d <= customers))
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

calendar as (
  select spine.date_day as calendar_date
  from (@date_spine('day', cast(@start_date as date), cast(@end_date as date))) as spine
  cross join as_of
  where spine.date_day between as_of.data_start_date and as_of.as_of_date
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

customers_by_day as (
  select
    calendar.calendar_date,
    active_versions.customer_segment,
    count(*) as customers
  from calendar
  inner join active_versions
    on calendar.calendar_date between active_versions.first_day and active_versions.last_day
  group by calendar.calendar_date, active_versions.customer_segment
),

active_by_day as (
  select
    calendar_date,
    customer_segment,
    count(*) as active_customers_30d
  from marts.customer_active_30d_days
  where calendar_date between @start_date and @end_date
  group by calendar_date, customer_segment
)

select
  customers_by_day.calendar_date,
  customers_by_day.customer_segment,
  cast(customers_by_day.customers as bigint) as customers,
  cast(coalesce(active_by_day.active_customers_30d, 0) as bigint) as active_customers_30d,
  cast(coalesce(active_by_day.active_customers_30d, 0) as double) / customers_by_day.customers
    as active_rate
from customers_by_day
left join active_by_day
  on customers_by_day.calendar_date = active_by_day.calendar_date
  and customers_by_day.customer_segment = active_by_day.customer_segment
