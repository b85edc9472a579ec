MODEL (
  name warehouse.dim_service,
  kind FULL,
  owner analytics_engineering,
  cron '@daily',
  grain service_id,
  description 'DimService: the service catalogue, one row per valid service.',
  column_descriptions (
    service_id = 'Service id',
    service_name = 'Offering name',
    service_type = 'Internet, TV, Mobile or Voice',
    monthly_cost_amount = 'Standard monthly list price',
    is_active = 'Currently offered',
    launched_date = 'Date first offered'
  ),
  audits (
    not_null(columns := (
      service_id, service_name, service_type, monthly_cost_amount, is_active, launched_date
    )),
    unique_values(columns := (service_id)),
    accepted_values(column := service_type, is_in := ('Internet', 'TV', 'Mobile', 'Voice')),
    assert_non_negative(columns := (monthly_cost_amount))
  )
);

with services as (
  select *
  from staging.stg_provisioning__services
  where @is_loadable(provisioning__services)
)

select
  service_id,
  service_name,
  service_type,
  monthly_cost_amount,
  is_active,
  launched_date
from services
