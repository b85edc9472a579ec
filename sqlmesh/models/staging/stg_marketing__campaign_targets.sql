MODEL (
  name staging.stg_marketing__campaign_targets,
  kind FULL,
  owner analytics_engineering,
  cron '@daily',
  grain (_source_file, _source_row_number),
  -- the outer `select * from renamed` expands a CTE that lists every column
  ignored_rules noselectstar,
  description 'Customers targeted by campaigns with their response, one row per landed row: trimmed, typed, response type standardised; rejection_reason names the first row-level rule the row breaks (null = valid).',
  column_descriptions (
    campaign_target_id = 'Target row id',
    campaign_id = 'Campaign',
    customer_id = 'Targeted customer',
    response_type = 'Strongest response: Opened, Clicked, Converted or Opted Out (null = none)',
    attributed_revenue_amount = 'Revenue attributed to a conversion (0 otherwise)',
    targeted_at = 'When the message was sent',
    responded_at = 'When the customer responded (null = no response)',
    rejection_reason = 'Why the row is quarantined (see sqlmesh/README.md); null = valid',
    _source_file = 'Landing file of the row',
    _source_row_number = '1-based row number in the landing file'
  ),
  audits (
    not_null(columns := (_source_file, _source_row_number)),
    unique_combination_of_columns(columns := (_source_file, _source_row_number)),
    assert_rejection_reasons(column := rejection_reason)
  )
);

with source as (
  select * from landing.marketing__campaign_targets
),

standardised as (
  select
    @clean_text(campaign_target_id) as campaign_target_id,
    @clean_text(campaign_id) as campaign_id,
    @clean_text(customer_id) as customer_id,
    cast(targeted_at as timestamp) as targeted_at,
    cast(responded_at as timestamp) as responded_at,
    @canonical(response_type, marketing__campaign_targets) as response_type,
    cast(attributed_revenue_amount as double) as attributed_revenue_amount,
    _source_file,
    _source_row_number,
    @landed_copy_number(marketing__campaign_targets, source) as landed_copy_number
  from source
),

validated as (
  select
    *,
    coalesce(
      @duplicate_row(landed_copy_number),
      @missing_key(marketing__campaign_targets),
      @missing_value(marketing__campaign_targets),
      @non_finite(marketing__campaign_targets),
      @invalid_value(marketing__campaign_targets),
      @negative_amount(attributed_revenue_amount),
      @future_date(targeted_at, responded_at),
      @before_start(targeted_at)
    ) as row_rejection_reason
  from standardised
),

deduplicated as (
  select
    *,
    coalesce(
      row_rejection_reason, @duplicate_key(marketing__campaign_targets, row_rejection_reason)
    ) as rejection_reason
  from validated
),

renamed as (
  select
    -- ids
    campaign_target_id,
    campaign_id,
    customer_id,
    -- categories
    response_type,
    -- numerics
    attributed_revenue_amount,
    -- timestamps
    targeted_at,
    responded_at,
    -- data quality and lineage
    rejection_reason,
    _source_file,
    _source_row_number
  from deduplicated
)

select * from renamed
