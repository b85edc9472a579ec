MODEL (
  name warehouse.fact_network_usage,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column usage_date
  ),
  owner analytics_engineering,
  cron '@daily',
  grain (customer_id, service_id, usage_date),
  description 'FactNetworkUsage: daily usage of one service by one customer, one row per valid usage row, processed by usage_date (usage rows never change once landed).',
  column_descriptions (
    customer_id = 'Customer (dim_customer.customer_id)',
    service_id = 'Service used (dim_service.service_id)',
    usage_date = 'Day of usage',
    data_volume_mb = 'Data transferred, MB',
    voice_minutes = 'Call minutes',
    session_count = 'Sessions / logins on the network that day',
    outage_minutes = 'Minutes of service outage experienced',
    has_outage = 'Any outage minutes that day'
  ),
  audits (
    not_null(columns := (
      customer_id, service_id, usage_date, data_volume_mb, voice_minutes, session_count,
      outage_minutes, has_outage
    )),
    unique_combination_of_columns(columns := (customer_id, service_id, usage_date)),
    assert_non_negative(columns := (data_volume_mb, voice_minutes, session_count, outage_minutes)),
    assert_foreign_key(
      column := customer_id, ref_model := warehouse.dim_customer, ref_column := customer_id
    ),
    assert_foreign_key(
      column := service_id, ref_model := warehouse.dim_service, ref_column := service_id
    )
  )
);

-- Spark: empty the interval's day partitions first (macros/partitions.py)
@drop_interval_partitions(usage_date);

with usage as (
  select *
  from staging.stg_network__usage
  where
    usage_date between @start_date and @end_date
    and @is_loadable(network__usage)
)

select
  customer_id,
  service_id,
  usage_date,
  data_volume_mb,
  voice_minutes,
  session_count,
  outage_minutes,
  outage_minutes > 0 as has_outage
from usage
