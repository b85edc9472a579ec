MODEL (
  name warehouse.dim_opportunity,
  kind FULL,
  owner analytics_engineering,
  cron '@daily',
  grain opportunity_id,
  description 'DimOpportunity: sales pipeline, one row per valid CRM opportunity in its current state.',
  column_descriptions (
    opportunity_id = 'CRM opportunity id',
    customer_id = 'Customer the opportunity is for (dim_customer.customer_id)',
    account_manager_id = 'Owning account manager (dim_account_manager.account_manager_id)',
    opportunity_name = 'Short name',
    opportunity_type = 'New Service, Upsell or Renewal',
    opportunity_stage = 'Prospecting, Qualification, Proposal, Negotiation, Closed Won or Closed Lost',
    opportunity_amount = 'Potential annual revenue value',
    close_probability = 'Likelihood of closing, 0..1',
    weighted_amount = 'opportunity_amount * close_probability (pipeline value)',
    created_date = 'Date the opportunity was opened',
    close_date = 'Expected (open) or actual (closed) close date',
    is_closed = 'Stage is Closed Won or Closed Lost',
    is_won = 'Stage is Closed Won'
  ),
  audits (
    not_null(columns := (
      opportunity_id, customer_id, opportunity_type, opportunity_stage, opportunity_amount,
      close_probability, created_date, is_closed, is_won
    )),
    unique_values(columns := (opportunity_id)),
    accepted_values(column := opportunity_type, is_in := ('New Service', 'Upsell', 'Renewal')),
    accepted_values(
      column := opportunity_stage,
      is_in := (
        'Prospecting', 'Qualification', 'Proposal', 'Negotiation', 'Closed Won', 'Closed Lost'
      )
    ),
    accepted_range(column := close_probability, min_v := 0, max_v := 1),
    assert_non_negative(columns := (opportunity_amount, weighted_amount)),
    assert_foreign_key(
      column := customer_id, ref_model := warehouse.dim_customer, ref_column := customer_id
    ),
    assert_foreign_key(
      column := account_manager_id,
      ref_model := warehouse.dim_account_manager,
      ref_column := account_manager_id
    )
  )
);

with opportunities as (
  select *
  from staging.stg_crm__opportunities
  where @is_loadable(crm__opportunities)
)

select
  opportunity_id,
  customer_id,
  account_manager_id,
  opportunity_name,
  opportunity_type,
  opportunity_stage,
  opportunity_amount,
  close_probability,
  opportunity_amount * close_probability as weighted_amount,
  created_date,
  close_date,
  opportunity_stage in ('Closed Won', 'Closed Lost') as is_closed,
  opportunity_stage = 'Closed Won' as is_won
from opportunities
