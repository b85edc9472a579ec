/*
  The date "now" means for every mart: the last event date in the valid facts, never the clock,
  so a build of the same landing data gives the same numbers on any day. Marts take their
  trailing windows relative to reference_date = as_of_date + 1 day (windows exclude it).
*/
MODEL (
  name marts.data_as_of,
  kind FULL,
  cron '@daily',
  owner customer_analytics,
  grain as_of_date,
  description 'One row: the as-of date of the warehouse (last day with network usage, an invoice or an order in the valid facts) and the first event date. Every mart computes "current", "last 30 days" etc. from it.',
  column_descriptions (
    as_of_date = 'Last event date in fact_network_usage, fact_invoice and fact_order',
    reference_date = 'as_of_date + 1 day: the exclusive end of every trailing window of the current marts',
    data_start_date = 'First event date in the same facts (start of the history)',
    first_snapshot_date = 'First monthly snapshot of churn_prediction_features: the first of the month after data_start_date, so every snapshot has at least one full month of history before it'
  ),
  audits (
    not_null(columns := (as_of_date, reference_date, data_start_date, first_snapshot_date)),
    forall(criteria := (data_start_date <= as_of_date)),
    marts_single_row()
  )
);

with event_dates as (
  select usage_date as event_date from warehouse.fact_network_usage
  union all
  select invoice_date as event_date from warehouse.fact_invoice
  union all
  select cast(ordered_at as date) as event_date from warehouse.fact_order
),

extent as (
  select
    min(event_date) as data_start_date,
    max(event_date) as as_of_date
  from event_dates
)

select
  as_of_date,
  cast(as_of_date + interval '1' day as date) as reference_date,
  data_start_date,
  cast(date_trunc('month', data_start_date) + interval '1' month as date) as first_snapshot_date
from extent
where as_of_date is not null
