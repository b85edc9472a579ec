MODEL (
  name staging.stg_support__kb_articles,
  kind FULL,
  owner analytics_engineering,
  cron '@daily',
  grain (_source_file, _source_row_number),
  -- the outer `select * from renamed` expands a CTE that lists every column
  ignored_rules noselectstar,
  description 'Knowledge-base articles (current version), one row per landed row: trimmed, typed, category standardised; rejection_reason names the first row-level rule the row breaks (null = valid).',
  column_descriptions (
    kb_article_id = 'Article id',
    article_title = 'Subject (landing column title)',
    article_author = 'Author',
    article_category = 'Billing, Technical, Outage, Service Change or Account (landing column category)',
    version_number = 'Content version',
    published_at = 'First publication',
    updated_at = 'Last update',
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
  select * from landing.support__kb_articles
),

standardised as (
  select
    @clean_text(kb_article_id) as kb_article_id,
    @clean_text(title) as title,
    @canonical(category, support__kb_articles) as category,
    cast(version_number as bigint) as version_number,
    @clean_text(article_author) as article_author,
    cast(published_at as timestamp) as published_at,
    cast(updated_at as timestamp) as updated_at,
    _source_file,
    _source_row_number,
    @landed_copy_number(support__kb_articles, source) as landed_copy_number
  from source
),

validated as (
  select
    *,
    coalesce(
      @duplicate_row(landed_copy_number),
      @missing_key(support__kb_articles),
      @missing_value(support__kb_articles),
      @invalid_value(support__kb_articles),
      @out_of_range(version_number, 1, null),
      @future_date(published_at, updated_at)
    ) as row_rejection_reason
  from standardised
),

deduplicated as (
  select
    *,
    coalesce(
      row_rejection_reason, @duplicate_key(support__kb_articles, row_rejection_reason)
    ) as rejection_reason
  from validated
),

renamed as (
  select
    -- ids
    kb_article_id,
    -- descriptive
    title as article_title,
    article_author,
    -- categories
    category as article_category,
    -- numerics
    version_number,
    -- timestamps
    published_at,
    updated_at,
    -- data quality and lineage
    rejection_reason,
    _source_file,
    _source_row_number
  from deduplicated
)

select * from renamed
