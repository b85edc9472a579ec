MODEL (
  name warehouse.dim_account_manager,
  kind FULL,
  owner analytics_engineering,
  cron '@daily',
  grain account_manager_id,
  description 'Account managers who own business customers and sales opportunities; one row per valid CRM account manager.',
  column_descriptions (
    account_manager_id = 'CRM user id of the account manager',
    account_manager_name = 'Display name',
    email = 'Work email (PII)',
    region = 'Sales region covered: North, South, East, West or Central'
  ),
  audits (
    not_null(columns := (account_manager_id, account_manager_name, region)),
    unique_values(columns := (account_manager_id)),
    accepted_values(column := region, is_in := ('North', 'South', 'East', 'West', 'Central'))
  )
);

with account_managers as (
  select *
  from staging.stg_crm__account_managers
  where @is_loadable(crm__account_managers)
)

select
  account_manager_id,
  account_manager_name,
  email,
  region
from account_managers
