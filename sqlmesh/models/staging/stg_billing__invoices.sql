MODEL (
  name staging.stg_billing__invoices,
  kind FULL,
  owner analytics_engineering,
  cron '@daily',
  grain (_source_file, _source_row_number),
  -- the outer `select * from renamed` expands a CTE that lists every column
  ignored_rules noselectstar,
  description 'Monthly invoices, one row per landed row: trimmed, typed, payment status standardised; rejection_reason names the first row-level rule the row breaks (null = valid).',
  column_descriptions (
    invoice_id = 'Invoice id',
    customer_id = 'Billed customer',
    payment_status = 'Paid, Unpaid or Overdue',
    gross_amount = 'Recurring and usage charges before credits and discounts',
    credit_amount = 'Credits granted (e.g. for outages)',
    discount_amount = 'Discounts applied',
    discount_end_date = 'Last day of the promotional discount running on this invoice (null = none)',
    invoice_date = 'Issue date (first day of the billing month)',
    billing_period_start_date = 'First day billed',
    billing_period_end_date = 'Last day billed',
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
  select * from landing.billing__invoices
),

standardised as (
  select
    @clean_text(invoice_id) as invoice_id,
    @clean_text(customer_id) as customer_id,
    cast(invoice_date as date) as invoice_date,
    cast(billing_period_start_date as date) as billing_period_start_date,
    cast(billing_period_end_date as date) as billing_period_end_date,
    cast(gross_amount as double) as gross_amount,
    cast(credit_amount as double) as credit_amount,
    cast(discount_amount as double) as discount_amount,
    cast(discount_end_date as date) as discount_end_date,
    @canonical(payment_status, billing__invoices) as payment_status,
    _source_file,
    _source_row_number,
    @landed_copy_number(billing__invoices, source) as landed_copy_number
  from source
),

validated as (
  select
    *,
    coalesce(
      @duplicate_row(landed_copy_number),
      @missing_key(billing__invoices),
      @missing_value(billing__invoices),
      @non_finite(billing__invoices),
      @invalid_value(billing__invoices),
      @negative_amount(gross_amount, credit_amount, discount_amount),
      @future_date(invoice_date),
      @before_start(invoice_date),
      @out_of_range(billing_period_end_date, billing_period_start_date, null)
    ) as row_rejection_reason
  from standardised
),

deduplicated as (
  select
    *,
    coalesce(
      row_rejection_reason, @duplicate_key(billing__invoices, row_rejection_reason)
    ) as rejection_reason
  from validated
),

renamed as (
  select
    -- ids
    invoice_id,
    customer_id,
    -- categories
    payment_status,
    -- amounts
    gross_amount,
    credit_amount,
    discount_amount,
    -- dates
    invoice_date,
    billing_period_start_date,
    billing_period_end_date,
    discount_end_date,
    -- data quality and lineage
    rejection_reason,
    _source_file,
    _source_row_number
  from deduplicated
)

select * from renamed
