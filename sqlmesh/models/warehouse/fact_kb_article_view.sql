MODEL (
  name warehouse.fact_kb_article_view,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column viewed_at,
    -- partitioned by the day below, not by the timestamp (one Spark folder per day)
    partition_by_time_column false
  ),
  partitioned_by viewed_date,
  owner analytics_engineering,
  cron '@daily',
  grain kb_article_view_id,
  description 'Self-service portal views of KB articles by logged-in customers, one row per valid view, processed by viewed_at (views never change once landed).',
  column_descriptions (
    kb_article_view_id = 'View id',
    kb_article_id = 'Article viewed (dim_kb_article.kb_article_id)',
    customer_id = 'Logged-in customer (dim_customer.customer_id)',
    viewed_at = 'When the article was viewed (a portal login)',
    viewed_date = 'Day of the view (date of viewed_at): the Spark partition'
  ),
  audits (
    not_null(columns := (kb_article_view_id, kb_article_id, customer_id, viewed_at, viewed_date)),
    unique_values(columns := (kb_article_view_id)),
    assert_foreign_key(
      column := kb_article_id, ref_model := warehouse.dim_kb_article, ref_column := kb_article_id
    ),
    assert_foreign_key(
      column := customer_id, ref_model := warehouse.dim_customer, ref_column := customer_id
    )
  )
);

-- Spark: empty the interval's day partitions first (macros/partitions.py)
@drop_interval_partitions(viewed_date);

with views as (
  select *
  from staging.stg_support__kb_article_views
  where
    viewed_at between @start_dtntz and @end_dtntz
    and @is_loadable(support__kb_article_views)
)

select
  kb_article_view_id,
  kb_article_id,
  customer_id,
  viewed_at,
  cast(viewed_at as date) as viewed_date
from views
