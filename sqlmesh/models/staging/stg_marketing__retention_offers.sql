MODEL (
  name staging.stg_marketing__retention_offers,
  kind FULL,
  owner analytics_engineering,
  cron '@daily',
  grain (_source_file, _source_row_number),
  -- the outer `select * from renamed` expands a CTE that lists every column
  ignored_rules noselectstar,
  description 'Retention-offer experiment entries (randomised offer vs held-out control), one row per landed row: trimmed, typed, offer type standardised; rejection_reason names the first row-level rule the row breaks (null = valid).',
  column_descriptions (
    offer_id = 'Experiment entry id',
    customer_id = 'Customer entered into the experiment',
    offer_type = 'The offer made to the treatment arm: Loyalty Discount, Service Credit or Free Upgrade',
    is_treatment = 'True = offer made (treatment); false = held out (control)',
    offer_date = 'Day the customer was entered (and offered, if treated)',
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
  select * from landing.marketing__retention_offers
),

standardised as (
  select
    @clean_text(offer_id) as offer_id,
    @clean_text(customer_id) as customer_id,
    @canonical(offer_type, marketing__retention_offers) as offer_type,
    cast(is_treatment as boolean) as is_treatment,
    cast(offer_date as date) as offer_date,
    _source_file,
    _source_row_number,
    @landed_copy_number(marketing__retention_offers, source) as landed_copy_number
  from source
),

validated as (
  select
    *,
    coalesce(
      @duplicate_row(landed_copy_number),
      @missing_key(marketing__retention_offers),
      @missing_value(marketing__retention_offers),
      @non_finite(marketing__retention_offers),
      @invalid_value(marketing__retention_offers),
      @future_date(offer_date),
      @before_start(offer_date)
    ) as row_rejection_reason
  from standardised
),

deduplicated as (
  select
    *,
    coalesce(
      row_rejection_reason, @duplicate_key(marketing__retention_offers, row_rejection_reason)
    ) as rejection_reason
  from validated
),

renamed as (
  select
    -- ids
    offer_id,
    customer_id,
    -- categories
    offer_type,
    -- booleans
    is_treatment,
    -- dates
    offer_date,
    -- data quality and lineage
    rejection_reason,
    _source_file,
    _source_row_number
  from deduplicated
)

select * from renamed
