MODEL (
  name warehouse.dim_kb_article,
  kind FULL,
  owner analytics_engineering,
  cron '@daily',
  grain kb_article_id,
  description 'DimKBArticle: knowledge-base articles in their current version, one row per valid article.',
  column_descriptions (
    kb_article_id = 'Article id',
    article_title = 'Subject',
    article_category = 'Billing, Technical, Outage, Service Change or Account',
    version_number = 'Content version',
    article_author = 'Author',
    published_at = 'First publication',
    updated_at = 'Last update'
  ),
  audits (
    not_null(columns := (
      kb_article_id, article_title, article_category, version_number, article_author,
      published_at, updated_at
    )),
    unique_values(columns := (kb_article_id)),
    accepted_values(
      column := article_category,
      is_in := ('Billing', 'Technical', 'Outage', 'Service Change', 'Account')
    ),
    accepted_range(column := version_number, min_v := 1)
  )
);

with articles as (
  select *
  from staging.stg_support__kb_articles
  where @is_loadable(support__kb_articles)
)

select
  kb_article_id,
  article_title,
  article_category,
  version_number,
  article_author,
  published_at,
  updated_at
from articles
