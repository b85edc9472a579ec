MODEL (
  name staging.stg_provisioning__service_assignments,
  kind FULL,
  owner analytics_engineering,
  cron '@daily',
  grain (_source_file, _source_row_number),
  -- the outer `select * from renamed` expands a CTE that lists every column
  ignored_rules noselectstar,
  description 'Services provisioned to customers, one row per landed row: trimmed and typed; rejection_reason names the first row-level rule the row breaks (null = valid). end_date may lie in the future (a scheduled end).',
  column_descriptions (
    service_assignment_id = 'Assignment id',
    customer_id = 'Customer',
    service_id = 'Service',
    monthly_charge_amount = 'Recurring charge agreed for this assignment',
    start_date = 'First day of service',
    end_date = 'Last day of service (null = active)',
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
  select * from landing.provisioning__service_assignments
),

standardised as (
  select
    @clean_text(service_assignment_id) as service_assignment_id,
    @clean_text(customer_id) as customer_id,
    @clean_text(service_id) as service_id,
    cast(start_date as date) as start_date,
    cast(end_date as date) as end_date,
    cast(monthly_charge_amount as double) as monthly_charge_amount,
    _source_file,
    _source_row_number,
    @landed_copy_number(provisioning__service_assignments, source) as landed_copy_number
  from source
),

validated as (
  select
    *,
    coalesce(
      @duplicate_row(landed_copy_number),
      @missing_key(provisioning__service_assignments),
      @missing_value(provisioning__service_assignments),
      @non_finite(provisioning__service_assignments),
      @negative_amount(monthly_charge_amount),
      @future_date(start_date),
      @out_of_range(end_date, start_date, null)
    ) as row_rejection_reason
  from standardised
),

deduplicated as (
  select
    *,
    coalesce(
      row_rejection_reason,
      @duplicate_key(provisioning__service_assignments, row_rejection_reason)
    ) as rejection_reason
  from validated
),

renamed as (
  select
    -- ids
    service_assignment_id,
    customer_id,
    service_id,
    -- numerics
    monthly_charge_amount,
    -- dates
    start_date,
    end_date,
    -- data quality and lineage
    rejection_reason,
    _source_file,
    _source_row_number
  from deduplicated
)

select * from renamed
