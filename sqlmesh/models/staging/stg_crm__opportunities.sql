MODEL (
  name staging.stg_crm__opportunities,
  kind FULL,
  owner analytics_engineering,
  cron '@daily',
  grain (_source_file, _source_row_number),
  -- the outer `select * from renamed` expands a CTE that lists every column
  ignored_rules noselectstar,
  description 'CRM sales opportunities (current state), one row per landed row: trimmed, typed, type and stage standardised; rejection_reason names the first row-level rule the row breaks (null = valid).',
  column_descriptions (
    opportunity_id = 'CRM opportunity id',
    customer_id = 'Customer the opportunity is for',
    account_manager_id = 'Account manager owning the opportunity (landing column owner_id)',
    opportunity_name = 'Short name',
    opportunity_type = 'New Service, Upsell or Renewal',
    opportunity_stage = 'Current sales stage (landing column stage)',
    opportunity_amount = 'Potential annual revenue value (landing column amount)',
    close_probability = 'Likelihood of closing, 0..1 (landing column probability_of_close)',
    created_date = 'Date the opportunity was opened',
    close_date = 'Expected (open) or actual (closed) close date',
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
  select * from landing.crm__opportunities
),

standardised as (
  select
    @clean_text(opportunity_id) as opportunity_id,
    @clean_text(customer_id) as customer_id,
    @clean_text(owner_id) as owner_id,
    @clean_text(opportunity_name) as opportunity_name,
    @canonical(opportunity_type, crm__opportunities) as opportunity_type,
    @canonical(stage, crm__opportunities) as stage,
    cast(amount as double) as amount,
    cast(probability_of_close as double) as probability_of_close,
    cast(created_date as date) as created_date,
    cast(close_date as date) as close_date,
    _source_file,
    _source_row_number,
    @landed_copy_number(crm__opportunities, source) as landed_copy_number
  from source
),

validated as (
  select
    *,
    coalesce(
      @duplicate_row(landed_copy_number),
      @missing_key(crm__opportunities),
      @missing_value(crm__opportunities),
      @non_finite(crm__opportunities),
      @invalid_value(crm__opportunities),
      @negative_amount(amount),
      @out_of_range(probability_of_close, 0, 1),
      @future_date(created_date)
    ) as row_rejection_reason
  from standardised
),

deduplicated as (
  select
    *,
    coalesce(
      row_rejection_reason, @duplicate_key(crm__opportunities, row_rejection_reason)
    ) as rejection_reason
  from validated
),

renamed as (
  select
    -- ids
    opportunity_id,
    customer_id,
    owner_id as account_manager_id,
    -- descriptive
    opportunity_name,
    -- categories
    opportunity_type,
    stage as opportunity_stage,
    -- numerics
    amount as opportunity_amount,
    probability_of_close as close_probability,
    -- dates
    created_date,
    close_date,
    -- data quality and lineage
    rejection_reason,
    _source_file,
    _source_row_number
  from deduplicated
)

select * from renamed
