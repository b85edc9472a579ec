/*
  The largest landing table (one row per customer, service and day). Two rules need a window
  over rows: duplicate_row (a later exact copy, @landed_copy_number) and duplicate_key (a later
  valid row of the same key). Both can only fire on rows whose key (customer, service, day)
  was landed more than once, ~0.6% of the rows, so the windows run on those rows alone and every
  other row passes straight through (copy number 1, no duplicate key). The rows are identical
  to running both windows over every row (the earlier form): `except all` both ways 0 rows on
  generated samples of 2,000 customers x 12 months and 5,000 x 24 months.
  Plain DuckDB, `create table as` of the rendered query, 5,000 x 24 (7.01 M rows, 0.58% with a
  repeated key), medians of 3 alternating pairs, earlier -> this form: 13.18 -> 11.73 s (1.12x),
  15.75 -> 11.08 s (1.42x), 35.70 -> 26.71 s (1.34x) in three runs on the shared 2-core machine
  at load 3-8. What is left is mostly the hash aggregate finding the repeated keys (~7 M groups)
  and DuckDB materialising the CTEs read twice (source, landed, validated).
*/
MODEL (
  name staging.stg_network__usage,
  kind FULL,
  owner analytics_engineering,
  cron '@daily',
  grain (_source_file, _source_row_number),
  -- the outer `select * from renamed` expands a CTE that lists every column
  ignored_rules noselectstar,
  description 'Daily network usage of one service by one customer, one row per landed row: trimmed and typed; rejection_reason names the first row-level rule the row breaks (null = valid).',
  column_descriptions (
    customer_id = 'Customer',
    service_id = 'Service used',
    usage_date = 'Day of usage',
    data_volume_mb = 'Data transferred, MB',
    voice_minutes = 'Call minutes',
    session_count = 'Sessions / logins on the network that day',
    outage_minutes = 'Minutes of service outage experienced',
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
  /* every landed row as landed, with a hash of its contract key (customer, service, day)
     standardised as below */
  select
    *,
    hash(@clean_text(customer_id), @clean_text(service_id), cast(usage_date as date)) as key_hash
  from landing.network__usage
),

repeated_keys as (
  /* the keys landed more than once: ~0.6% of the rows. Only their rows can be a later exact
     copy (duplicate_row) or a later row of a key (duplicate_key), so only they go through those
     two rules' window functions; every other row is its key's only row (copy number 1, no
     duplicate key) and passes straight through. Grouped by the hash (one integer, cheaper than
     three columns); a hash shared by two different keys only sends both keys' rows down the
     window path, which decides them exactly */
  select
    key_hash,
    true as has_repeated_key
  from source
  group by key_hash
  having count(*) > 1
),

landed as (
  select
    source.*,
    coalesce(repeated_keys.has_repeated_key, false) as has_repeated_key
  from source
  left join repeated_keys on source.key_hash = repeated_keys.key_hash
),

numbered as (
  select
    landed.*,
    1 as landed_copy_number
  from landed
  where not has_repeated_key
  union all
  select
    landed.*,
    @landed_copy_number(network__usage, landed) as landed_copy_number
  from landed
  where has_repeated_key
),

standardised as (
  select
    @clean_text(customer_id) as customer_id,
    @clean_text(service_id) as service_id,
    cast(usage_date as date) as usage_date,
    cast(data_volume_mb as double) as data_volume_mb,
    cast(voice_minutes as double) as voice_minutes,
    cast(session_count as bigint) as session_count,
    cast(outage_minutes as double) as outage_minutes,
    _source_file,
    _source_row_number,
    has_repeated_key,
    landed_copy_number
  from numbered
),

validated as (
  select
    *,
    coalesce(
      @duplicate_row(landed_copy_number),
      @missing_key(network__usage),
      @missing_value(network__usage),
      @non_finite(network__usage),
      @negative_amount(data_volume_mb, voice_minutes, session_count, outage_minutes),
      @future_date(usage_date),
      @before_start(usage_date)
    ) as row_rejection_reason
  from standardised
),

deduplicated as (
  select
    *,
    row_rejection_reason as rejection_reason
  from validated
  where not has_repeated_key
  union all
  select
    *,
    coalesce(
      row_rejection_reason, @duplicate_key(network__usage, row_rejection_reason)
    ) as rejection_reason
  from validated
  where has_repeated_key
),

renamed as (
  select
    -- ids
    customer_id,
    service_id,
    -- dates
    usage_date,
    -- measures
    data_volume_mb,
    voice_minutes,
    session_count,
    outage_minutes,
    -- data quality and lineage
    rejection_reason,
    _source_file,
    _source_row_number
  from deduplicated
)

select * from renamed
