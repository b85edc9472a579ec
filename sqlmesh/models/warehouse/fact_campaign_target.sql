MODEL (
  name warehouse.fact_campaign_target,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column targeted_at,
    lookback 31,
    -- partitioned by the day below, not by the timestamp (one Spark folder per day)
    partition_by_time_column false
  ),
  partitioned_by targeted_date,
  owner analytics_engineering,
  cron '@daily',
  grain campaign_target_id,
  description 'Customers targeted by campaigns and their responses, one row per valid target row, processed by targeted_at. The last 31 days are re-processed on each run so late responses are picked up.',
  column_descriptions (
    campaign_target_id = 'Target row id',
    campaign_id = 'Campaign (dim_campaign.campaign_id)',
    customer_id = 'Targeted customer (dim_customer.customer_id)',
    targeted_at = 'When the message was sent',
    targeted_date = 'Day the message was sent (date of targeted_at): the Spark partition',
    responded_at = 'When the customer responded (null = no response)',
    response_type = 'Strongest response: Opened, Clicked, Converted or Opted Out (null = none)',
    has_responded = 'The customer responded in any way',
    is_converted = 'The response was a conversion',
    attributed_revenue_amount = 'Revenue attributed to a conversion (0 otherwise)'
  ),
  audits (
    not_null(columns := (
      campaign_target_id, campaign_id, customer_id, targeted_at, targeted_date, has_responded,
      is_converted, attributed_revenue_amount
    )),
    unique_values(columns := (campaign_target_id)),
    accepted_values(
      column := response_type,
      is_in := ('Opened', 'Clicked', 'Converted', 'Opted Out'),
      condition := response_type is not null
    ),
    assert_non_negative(columns := (attributed_revenue_amount)),
    assert_foreign_key(
      column := campaign_id, ref_model := warehouse.dim_campaign, ref_column := campaign_id
    ),
    assert_foreign_key(
      column := customer_id, ref_model := warehouse.dim_customer, ref_column := customer_id
    )
  )
);

-- Spark: empty the interval's day partitions first (macros/partitions.py)
@drop_interval_partitions(targeted_date);

with targets as (
  select *
  from staging.stg_marketing__campaign_targets
  where
    targeted_at between @start_dtntz and @end_dtntz
    and @is_loadable(marketing__campaign_targets)
)

select
  campaign_target_id,
  campaign_id,
  customer_id,
  targeted_at,
  cast(targeted_at as date) as targeted_date,
  responded_at,
  response_type,
  responded_at is not null as has_responded,
  coalesce(response_type = 'Converted', false) as is_converted,
  attributed_revenue_amount
from targets
