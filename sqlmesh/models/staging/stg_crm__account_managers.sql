MODEL (
  name staging.stg_crm__account_managers,
  kind FULL,
  owner analytics_engineering,
  cron '@daily',
  grain (_source_file, _source_row_number),
  -- the outer `select * from renamed` expands a CTE that lists every column
  ignored_rules noselectstar,
  description 'CRM account managers, one row per landed row: trimmed, region standardised; rejection_reason names the first row-level rule the row breaks (null = valid).',
  column_descriptions (
    account_manager_id = 'CRM user id of the account manager',
    account_manager_name = 'Display name (landing column full_name)',
    email = 'Work email, trimmed and lower-cased (PII)',
    region = 'Sales region covered: North, South, East, West or Central',
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
  select * from landing.crm__account_managers
),

standardised as (
  select
    @clean_text(account_manager_id) as account_manager_id,
    @clean_text(full_name) as full_name,
    lower(@clean_text(email)) as email,
    @canonical(region, crm__account_managers) as region,
    _source_file,
    _source_row_number,
    @landed_copy_number(crm__account_managers, source) as landed_copy_number
  from source
),

validated as (
  select
    *,
    coalesce(
      @duplicate_row(landed_copy_number),
      @missing_key(crm__account_managers),
      @missing_value(crm__account_managers),
      @invalid_value(crm__account_managers),
      @malformed_email(email)
    ) as row_rejection_reason
  from standardised
),

deduplicated as (
  select
    *,
    coalesce(
      row_rejection_reason, @duplicate_key(crm__account_managers, row_rejection_reason)
    ) as rejection_reason
  from validated
),

renamed as (
  select
    -- ids
    account_manager_id,
    -- descriptive
    full_name as account_manager_name,
    email,
    -- categories
    region,
    -- data quality and lineage
    rejection_reason,
    _source_file,
    _source_row_number
  from deduplicated
)

select * from renamed
