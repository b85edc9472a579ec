MODEL (
  name staging.stg_support__kb_article_views,
  kind FULL,
  owner analytics_engineering,
  cron '@daily',
  grain (_source_file, _source_row_number),
  -- the outer `select * from renamed` expands a CTE that lists every column
  ignored_rules noselectstar,
  description 'Self-service portal views of KB articles by logged-in customers, one row per landed row: trimmed and typed; rejection_reason names the first row-level rule the row breaks (null = valid).',
  column_descriptions (
    kb_article_view_id = 'View id',
    kb_article_id = 'Article viewed',
    customer_id = 'Logged-in customer',
    viewed_at = 'When the article was viewed (a portal login)',
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
  select * from landing.support__kb_article_views
),

standardised as (
  select
    @clean_text(kb_article_view_id) as kb_article_view_id,
    @clean_text(kb_article_id) as kb_article_id,
    @clean_text(customer_id) as customer_id,
    cast(viewed_at as timestamp) as viewed_at,
    _source_file,
    _source_row_number,
    @landed_copy_number(support__kb_article_views, source) as landed_copy_number
  from source
),

validated as (
  select
    *,
    coalesce(
      @duplicate_row(landed_copy_number),
      @missing_key(support__kb_article_views),
      @missing_value(support__kb_article_views),
      @future_date(viewed_at),
      @before_start(viewed_at)
    ) as row_rejection_reason
  from standardised
),

deduplicated as (
  select
    *,
    coalesce(
      row_rejection_reason, @duplicate_key(support__kb_article_views, row_rejection_reason)
    ) as rejection_reason
  from validated
),

renamed as (
  select
    -- ids
    kb_article_view_id,
    kb_article_id,
    customer_id,
    -- timestamps
    viewed_at,
    -- data quality and lineage
    rejection_reason,
    _source_file,
    _source_row_number
  from deduplicated
)

select * from renamed
