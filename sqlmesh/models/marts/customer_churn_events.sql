/*
  When customers churned: the moments their status became Churned in the CRM change log
  (warehouse.dim_customer, SCD type 2). The one definition of "churned" that the churn rate, the
  churn label of the features and the tenure of churned customers share.
*/
MODEL (
  name marts.customer_churn_events,
  kind FULL,
  cron '@daily',
  owner customer_analytics,
  grain (customer_id, churned_at),
  description 'One row per change of a customer''s status from Active or Inactive to Churned (a customer whose very first CRM version is already Churned was never in the base and has no event).',
  column_descriptions (
    customer_id = 'Customer (dim_customer.customer_id)',
    churned_at = 'valid_from of the first Churned version after a non-churned one',
    churn_date = 'Date of churned_at',
    status_before_churn = 'Status of the version before: Active or Inactive (suspended)',
    customer_segment = 'Segment in the Churned version',
    customer_tier = 'Tier in the Churned version'
  ),
  audits (
    not_null(columns := (customer_id, churned_at, churn_date, status_before_churn)),
    unique_combination_of_columns(columns := (customer_id, churned_at)),
    accepted_values(column := status_before_churn, is_in := ('Active', 'Inactive'))
  )
);

with customer_versions as (
  select
    customer_id,
    customer_status,
    customer_segment,
    customer_tier,
    valid_from,
    lag(customer_status) over (partition by customer_id order by valid_from) as previous_status
  from warehouse.dim_customer
)

select
  customer_id,
  valid_from as churned_at,
  cast(valid_from as date) as churn_date,
  cast(previous_status as varchar) as status_before_churn,
  customer_segment,
  customer_tier
from customer_versions
where
  customer_status = 'Churned'
  and previous_status is not null
  and previous_status <> 'Churned'
