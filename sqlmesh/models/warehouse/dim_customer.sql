/*
  Customer dimension as SCD type 2, rebuilt on every run from the CRM change log: one row per
  valid change row, valid from its updated_at until the next version's updated_at. Not SQLMesh's
  SCD_TYPE_2 kind: that kind keeps history in the table and loses it when the model version
  changes, while our source carries the whole log (see sqlmesh/README.md).
*/
MODEL (
  name warehouse.dim_customer,
  kind FULL,
  owner analytics_engineering,
  cron '@daily',
  grain customer_version_id,
  description 'DimCustomer: customer master with full history (SCD type 2). One row per customer version; the current version has is_current = true and valid_to null. Point-in-time join: valid_from <= t and (valid_to > t or valid_to is null).',
  column_descriptions (
    customer_version_id = 'Surrogate key of this version (hash of customer_id and valid_from)',
    customer_id = 'CRM customer id; several versions share it',
    account_manager_id = 'Owning account manager in this version; null for Residential customers',
    customer_name = 'Person or organisation name (PII)',
    email = 'Contact email (PII)',
    phone = 'Contact phone number (PII)',
    customer_segment = 'Residential, SMB, Enterprise or Government',
    customer_tier = 'Bronze, Silver, Gold or Platinum',
    customer_status = 'Active, Inactive or Churned in this version',
    city = 'City',
    state = 'State or province code',
    country = 'ISO country code',
    region = 'Sales region: North, South, East, West or Central',
    signup_date = 'Date the customer first signed a contract',
    contract_end_date = 'End of the contract term in this version (null = month-to-month)',
    has_marketing_consent = 'Customer agreed to marketing contact (in this version)',
    valid_from = 'When this version became effective (the change row''s updated_at)',
    valid_to = 'When the next version became effective; null for the current version',
    is_current = 'True for the latest version of the customer',
    version_number = '1 for the first version of the customer, counting up'
  ),
  audits (
    not_null(columns := (
      customer_version_id, customer_id, customer_name, customer_segment, customer_tier,
      customer_status, country, region, signup_date, has_marketing_consent, valid_from,
      is_current, version_number
    )),
    unique_values(columns := (customer_version_id)),
    unique_combination_of_columns(columns := (customer_id, valid_from)),
    unique_values(columns := (customer_id), condition := is_current),
    assert_scd2_history(
      key := customer_id, valid_from := valid_from, valid_to := valid_to, is_current := is_current
    ),
    accepted_values(
      column := customer_segment, is_in := ('Residential', 'SMB', 'Enterprise', 'Government')
    ),
    accepted_values(column := customer_tier, is_in := ('Bronze', 'Silver', 'Gold', 'Platinum')),
    accepted_values(column := customer_status, is_in := ('Active', 'Inactive', 'Churned')),
    accepted_values(column := region, is_in := ('North', 'South', 'East', 'West', 'Central')),
    assert_foreign_key(
      column := account_manager_id,
      ref_model := warehouse.dim_account_manager,
      ref_column := account_manager_id
    )
  )
);

with customer_versions as (
  select *
  from staging.stg_crm__customers
  where @is_loadable(crm__customers)
),

history as (
  select
    *,
    updated_at as valid_from,
    lead(updated_at) over (partition by customer_id order by updated_at) as valid_to,
    row_number() over (partition by customer_id order by updated_at) as version_number
  from customer_versions
)

select
  @generate_surrogate_key(customer_id, valid_from) as customer_version_id,
  customer_id,
  account_manager_id,
  customer_name,
  email,
  phone,
  customer_segment,
  customer_tier,
  customer_status,
  city,
  state,
  country,
  region,
  signup_date,
  contract_end_date,
  has_marketing_consent,
  valid_from,
  valid_to,
  valid_to is null as is_current,
  version_number
from history
