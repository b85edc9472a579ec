MODEL (
  name staging.stg_support__tickets,
  kind FULL,
  owner analytics_engineering,
  cron '@daily',
  grain (_source_file, _source_row_number),
  -- the outer `select * from renamed` expands a CTE that lists every column
  ignored_rules noselectstar,
  description 'Support tickets (current state), one row per landed row: trimmed, typed, priority, status, channel and category standardised; rejection_reason names the first row-level rule the row breaks (null = valid).',
  column_descriptions (
    ticket_id = 'Ticket id',
    customer_id = 'Customer who raised the ticket',
    kb_article_id = 'KB article linked by the agent (null = none)',
    ticket_priority = 'High, Medium or Low (landing column priority)',
    ticket_status = 'Open, In Progress, Resolved or Closed (landing column status)',
    contact_channel = 'Phone, Email, Chat, Web or Store (landing column channel_of_contact)',
    ticket_category = 'Billing, Technical, Outage, Service Change or Account (landing column category)',
    satisfaction_score = 'CSAT 1..5 from the post-resolution survey (null = no answer)',
    created_at = 'When the ticket was opened',
    resolved_at = 'When it was resolved (null while open)',
    is_escalated = 'Escalated to second line or management',
    is_first_contact_resolution = 'Resolved in the first contact',
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
  select * from landing.support__tickets
),

standardised as (
  select
    @clean_text(ticket_id) as ticket_id,
    @clean_text(customer_id) as customer_id,
    cast(created_at as timestamp) as created_at,
    cast(resolved_at as timestamp) as resolved_at,
    @canonical(priority, support__tickets) as priority,
    @canonical(status, support__tickets) as status,
    @canonical(channel_of_contact, support__tickets) as channel_of_contact,
    @canonical(category, support__tickets) as category,
    cast(is_escalated as boolean) as is_escalated,
    cast(is_first_contact_resolution as boolean) as is_first_contact_resolution,
    cast(satisfaction_score as bigint) as satisfaction_score,
    @clean_text(kb_article_id) as kb_article_id,
    _source_file,
    _source_row_number,
    @landed_copy_number(support__tickets, source) as landed_copy_number
  from source
),

validated as (
  select
    *,
    coalesce(
      @duplicate_row(landed_copy_number),
      @missing_key(support__tickets),
      @missing_value(support__tickets),
      @invalid_value(support__tickets),
      @out_of_range(satisfaction_score, 1, 5),
      @future_date(created_at, resolved_at),
      @before_start(created_at),
      @out_of_range(resolved_at, created_at, null)
    ) as row_rejection_reason
  from standardised
),

deduplicated as (
  select
    *,
    coalesce(
      row_rejection_reason, @duplicate_key(support__tickets, row_rejection_reason)
    ) as rejection_reason
  from validated
),

renamed as (
  select
    -- ids
    ticket_id,
    customer_id,
    kb_article_id,
    -- categories
    priority as ticket_priority,
    status as ticket_status,
    channel_of_contact as contact_channel,
    category as ticket_category,
    -- numerics
    satisfaction_score,
    -- timestamps
    created_at,
    resolved_at,
    -- booleans
    is_escalated,
    is_first_contact_resolution,
    -- data quality and lineage
    rejection_reason,
    _source_file,
    _source_row_number
  from deduplicated
)

select * from renamed
