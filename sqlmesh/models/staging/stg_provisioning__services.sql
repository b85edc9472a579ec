MODEL (
  name staging.stg_provisioning__services,
  kind FULL,
  owner analytics_engineering,
  cron '@daily',
  grain (_source_file, _source_row_number),
  -- the outer `select * from renamed` expands a CTE that lists every column
  ignored_rules noselectstar,
  description 'Service catalogue, one row per landed row: trimmed, typed, service type standardised; rejection_reason names the first row-level rule the row breaks (null = valid).',
  column_descriptions (
    service_id = 'Service id',
    service_name = 'Offering name',
    service_type = 'Internet, TV, Mobile or Voice',
    monthly_cost_amount = 'Standard monthly list price',
    launched_date = 'Date first offered',
    is_active = 'Currently offered',
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
  select * from landing.provisioning__services
),

standardised as (
  select
    @clean_text(service_id) as service_id,
    @clean_text(service_name) as service_name,
    @canonical(service_type, provisioning__services) as service_type,
    cast(monthly_cost_amount as double) as monthly_cost_amount,
    cast(is_active as boolean) as is_active,
    cast(launched_date as date) as launched_date,
    _source_file,
    _source_row_number,
    @landed_copy_number(provisioning__services, source) as landed_copy_number
  from source
),

validated as (
  select
    *,
    coalesce(
      @duplicate_row(landed_copy_number),
      @missing_key(provisioning__services),
      @missing_value(provisioning__services),
      @non_finite(provisioning__services),
      @invalid_value(provisioning__services),
      @negative_amount(monthly_cost_amount),
      @future_date(launched_date)
    ) as row_rejection_reason
  from standardised
),

deduplicated as (
  select
    *,
    coalesce(
      row_rejection_reason, @duplicate_key(provisioning__services, row_rejection_reason)
    ) as rejection_reason
  from validated
),

renamed as (
  select
    -- ids
    service_id,
    -- descriptive
    service_name,
    -- categories
    service_type,
    -- numerics
    monthly_cost_amount,
    -- dates
    launched_date,
    -- booleans
    is_active,
    -- data quality and lineage
    rejection_reason,
    _source_file,
    _source_row_number
  from deduplicated
)

select * from renamed
