MODEL (
  name warehouse.fact_support_ticket,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column created_at,
    lookback 31,
    -- partitioned by the day below, not by the timestamp (one Spark folder per day)
    partition_by_time_column false
  ),
  partitioned_by created_date,
  owner analytics_engineering,
  cron '@daily',
  grain ticket_id,
  description 'Support ticket measures, one row per valid ticket, processed by created_at. The last 31 days are re-processed on each run so resolutions and survey answers are picked up.',
  column_descriptions (
    ticket_id = 'Ticket id (dim_support_ticket.ticket_id)',
    customer_id = 'Customer who raised the ticket (dim_customer.customer_id)',
    kb_article_id = 'KB article linked by the agent (null = none)',
    created_at = 'When the ticket was opened',
    created_date = 'Day the ticket was opened (date of created_at): the Spark partition',
    resolved_at = 'When it was resolved (null while open)',
    is_resolved = 'The ticket has a resolution time',
    resolution_hours = 'Hours from opening to resolution (null while open)',
    is_escalated = 'Escalated to second line or management',
    is_first_contact_resolution = 'Resolved in the first contact',
    satisfaction_score = 'CSAT 1..5 from the post-resolution survey (null = no answer)',
    has_satisfaction_score = 'The customer answered the survey'
  ),
  audits (
    not_null(columns := (
      ticket_id, customer_id, created_at, created_date, is_resolved, is_escalated,
      is_first_contact_resolution, has_satisfaction_score
    )),
    unique_values(columns := (ticket_id)),
    accepted_range(column := satisfaction_score, min_v := 1, max_v := 5),
    assert_non_negative(columns := (resolution_hours)),
    assert_foreign_key(
      column := customer_id, ref_model := warehouse.dim_customer, ref_column := customer_id
    ),
    assert_foreign_key(
      column := kb_article_id, ref_model := warehouse.dim_kb_article, ref_column := kb_article_id
    )
  )
);

-- Spark: empty the interval's day partitions first (macros/partitions.py)
@drop_interval_partitions(created_date);

with tickets as (
  select *
  from staging.stg_support__tickets
  where
    created_at between @start_dtntz and @end_dtntz
    and @is_loadable(support__tickets)
)

select
  ticket_id,
  customer_id,
  kb_article_id,
  created_at,
  cast(created_at as date) as created_date,
  resolved_at,
  resolved_at is not null as is_resolved,
  date_diff('second', created_at, resolved_at) / 3600.0 as resolution_hours,
  is_escalated,
  is_first_contact_resolution,
  satisfaction_score,
  satisfaction_score is not null as has_satisfaction_score
from tickets
