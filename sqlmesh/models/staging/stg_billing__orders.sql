MODEL (
  name staging.stg_billing__orders,
  kind FULL,
  owner analytics_engineering,
  cron '@daily',
  grain (_source_file, _source_row_number),
  -- the outer `select * from renamed` expands a CTE that lists every column
  ignored_rules noselectstar,
  description 'One-off orders of devices, add-ons and new services, one row per landed row: trimmed, typed, order type and status standardised; rejection_reason names the first row-level rule the row breaks (null = valid).',
  column_descriptions (
    order_id = 'Order id',
    customer_id = 'Ordering customer',
    product_name = 'Product ordered',
    order_type = 'Device, Add-on or New Service',
    order_status = 'Completed, Cancelled or Returned',
    quantity = 'Units ordered (positive)',
    gross_amount = 'Order value before discount',
    discount_amount = 'Discount given (at most gross_amount)',
    ordered_at = 'When the order was placed',
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
  select * from landing.billing__orders
),

standardised as (
  select
    @clean_text(order_id) as order_id,
    @clean_text(customer_id) as customer_id,
    cast(ordered_at as timestamp) as ordered_at,
    @canonical(order_type, billing__orders) as order_type,
    @clean_text(product_name) as product_name,
    cast(quantity as bigint) as quantity,
    cast(gross_amount as double) as gross_amount,
    cast(discount_amount as double) as discount_amount,
    @canonical(order_status, billing__orders) as order_status,
    _source_file,
    _source_row_number,
    @landed_copy_number(billing__orders, source) as landed_copy_number
  from source
),

validated as (
  select
    *,
    coalesce(
      @duplicate_row(landed_copy_number),
      @missing_key(billing__orders),
      @missing_value(billing__orders),
      @non_finite(billing__orders),
      @invalid_value(billing__orders),
      @negative_amount(gross_amount, discount_amount),
      @out_of_range(quantity, 1, null),
      @future_date(ordered_at),
      @before_start(ordered_at),
      @out_of_range(discount_amount, null, gross_amount)
    ) as row_rejection_reason
  from standardised
),

deduplicated as (
  select
    *,
    coalesce(
      row_rejection_reason, @duplicate_key(billing__orders, row_rejection_reason)
    ) as rejection_reason
  from validated
),

renamed as (
  select
    -- ids
    order_id,
    customer_id,
    -- descriptive
    product_name,
    -- categories
    order_type,
    order_status,
    -- numerics
    quantity,
    gross_amount,
    discount_amount,
    -- timestamps
    ordered_at,
    -- data quality and lineage
    rejection_reason,
    _source_file,
    _source_row_number
  from deduplicated
)

select * from renamed
