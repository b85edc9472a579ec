MODEL (
  name staging.stg_crm__customers,
  kind FULL,
  owner analytics_engineering,
  cron '@daily',
  grain (_source_file, _source_row_number),
  -- the outer `select * from renamed` expands a CTE that lists every column
  ignored_rules noselectstar,
  description 'CRM customer change log, one row per landed row: trimmed, typed, categories standardised to the contract spelling; rejection_reason names the first row-level rule the row breaks (null = valid). Source of the dim_customer history.',
  column_descriptions (
    customer_id = 'CRM customer id (e.g. C0000001)',
    account_manager_id = 'Owning account manager; null for Residential customers',
    customer_name = 'Person or organisation name (PII)',
    email = 'Contact email, trimmed and lower-cased (PII)',
    phone = 'Contact phone number (PII)',
    customer_segment = 'Residential, SMB, Enterprise or Government',
    customer_tier = 'Bronze, Silver, Gold or Platinum',
    customer_status = 'Active, Inactive or Churned (landing column status)',
    city = 'City',
    state = 'State or province code',
    country = 'ISO country code, upper-case',
    region = 'Sales region: North, South, East, West or Central',
    signup_date = 'Date the customer first signed a contract',
    contract_end_date = 'End of the current contract term (null = month-to-month)',
    updated_at = 'When this version became effective in the CRM',
    has_marketing_consent = 'Customer agreed to marketing contact',
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
  select * from landing.crm__customers
),

standardised as (
  select
    @clean_text(customer_id) as customer_id,
    @clean_text(account_manager_id) as account_manager_id,
    @clean_text(customer_name) as customer_name,
    lower(@clean_text(email)) as email,
    @clean_text(phone) as phone,
    @canonical(customer_segment, crm__customers) as customer_segment,
    @canonical(customer_tier, crm__customers) as customer_tier,
    @canonical(status, crm__customers) as status,
    @clean_text(city) as city,
    upper(@clean_text(state)) as state,
    upper(@clean_text(country)) as country,
    @canonical(region, crm__customers) as region,
    cast(signup_date as date) as signup_date,
    cast(contract_end_date as date) as contract_end_date,
    cast(has_marketing_consent as boolean) as has_marketing_consent,
    cast(updated_at as timestamp) as updated_at,
    _source_file,
    _source_row_number,
    @landed_copy_number(crm__customers, source) as landed_copy_number
  from source
),

validated as (
  select
    *,
    coalesce(
      @duplicate_row(landed_copy_number),
      @missing_key(crm__customers),
      @missing_value(crm__customers),
      @invalid_value(crm__customers),
      @malformed_email(email),
      @future_date(signup_date, updated_at)
    ) as row_rejection_reason
  from standardised
),

deduplicated as (
  select
    *,
    coalesce(
      row_rejection_reason, @duplicate_key(crm__customers, row_rejection_reason)
    ) as rejection_reason
  from validated
),

renamed as (
  select
    -- ids
    customer_id,
    account_manager_id,
    -- contact details (PII)
    customer_name,
    email,
    phone,
    -- categories
    customer_segment,
    customer_tier,
    status as customer_status,
    -- geography
    city,
    state,
    country,
    region,
    -- dates and timestamps
    signup_date,
    contract_end_date,
    updated_at,
    -- booleans
    has_marketing_consent,
    -- data quality and lineage
    rejection_reason,
    _source_file,
    _source_row_number
  from deduplicated
)

select * from renamed
