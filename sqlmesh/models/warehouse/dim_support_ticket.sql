MODEL (
  name warehouse.dim_support_ticket,
  kind FULL,
  owner analytics_engineering,
  cron '@daily',
  grain ticket_id,
  description 'DimSupportTicket: support cases in their current state, one row per valid ticket (descriptive attributes; measures are in fact_support_ticket).',
  column_descriptions (
    ticket_id = 'Ticket id',
    customer_id = 'Customer who raised the ticket (dim_customer.customer_id)',
    kb_article_id = 'KB article linked by the agent (dim_kb_article.kb_article_id; null = none)',
    ticket_priority = 'High, Medium or Low',
    ticket_status = 'Open, In Progress, Resolved or Closed',
    contact_channel = 'How the customer contacted support: Phone, Email, Chat, Web or Store',
    ticket_category = 'Billing, Technical, Outage, Service Change or Account',
    is_escalated = 'Escalated to second line or management',
    created_at = 'When the ticket was opened',
    resolved_at = 'When it was resolved (null while open)'
  ),
  audits (
    not_null(columns := (
      ticket_id, customer_id, ticket_priority, ticket_status, contact_channel, ticket_category,
      is_escalated, created_at
    )),
    unique_values(columns := (ticket_id)),
    accepted_values(column := ticket_priority, is_in := ('High', 'Medium', 'Low')),
    accepted_values(
      column := ticket_status, is_in := ('Open', 'In Progress', 'Resolved', 'Closed')
    ),
    accepted_values(column := contact_channel, is_in := ('Phone', 'Email', 'Chat', 'Web', 'Store')),
    accepted_values(
      column := ticket_category,
      is_in := ('Billing', 'Technical', 'Outage', 'Service Change', 'Account')
    ),
    assert_foreign_key(
      column := customer_id, ref_model := warehouse.dim_customer, ref_column := customer_id
    ),
    assert_foreign_key(
      column := kb_article_id, ref_model := warehouse.dim_kb_article, ref_column := kb_article_id
    )
  )
);

with tickets as (
  select *
  from staging.stg_support__tickets
  where @is_loadable(support__tickets)
)

select
  ticket_id,
  customer_id,
  kb_article_id,
  ticket_priority,
  ticket_status,
  contact_channel,
  ticket_category,
  is_escalated,
  created_at,
  resolved_at
from tickets
